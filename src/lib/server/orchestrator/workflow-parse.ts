/**
 * @module orchestrator/workflow-parse
 * Parses a workflow file's text without holding the event loop: YAML takes about 1 s per MiB
 * here, and a server that parsed a large file (a generated matrix of thousands of tasks) on its
 * loop stopped answering pages, health checks and the hub for that long each time the file
 * changed. A text of up to {@link INLINE_PARSE_BYTES} is parsed at once (a few ms); a larger one
 * in a worker thread of its own, started for it and stopped once it answers. Should the thread
 * fail to start or die, the text is parsed on the loop after all: a workflow always loads.
 *
 * The thread answers with the result as JSON, which the loop reads back faster than a cloned
 * object graph. JSON writes out in full each string that YAML aliases share (`*steps`), so a
 * result that would be far larger than its text (a long string reused by thousands of tasks) is
 * not sent: the thread says so, and the loop parses the text itself, sharing them.
 *
 * @example
 * const result = await parseWorkflowOffLoop(text, file); // ParseResult, as parseWorkflowFile's
 */
import { Worker } from 'node:worker_threads';
import { BUNDLED } from '../app-root';
import { parseWorkflowFile, type ParseResult } from './workflow-file';

/** texts up to this size are parsed on the loop: under about 50 ms */
export const INLINE_PARSE_BYTES = 32 * 1024;

export interface ToParseWorker {
	text: string;
	file: string;
}

/** the thread's answer: the result as JSON, or that it would be too large to send as such */
export type FromParseWorker = { json: string } | { tooLarge: true };

/** a result at most this many characters, or this many times its text, goes back as JSON */
const MIN_REPLY_CHARS = 8 * 1024 * 1024;
const REPLY_PER_TEXT_CHAR = 8;

/** What the parse thread sends back for `text`'s result (see {@link FromParseWorker}). */
export function replyFor(result: ParseResult, text: string): FromParseWorker {
	const limit = Math.max(MIN_REPLY_CHARS, REPLY_PER_TEXT_CHAR * text.length);
	return charsAtMost(result, limit) ? { json: JSON.stringify(result) } : { tooLarge: true };
}

/** Whether `value` written as JSON takes at most `limit` characters (roughly: strings, and 8 per value). */
function charsAtMost(value: unknown, limit: number): boolean {
	let left = limit;
	const stack: unknown[] = [value];
	while (stack.length > 0) {
		const next = stack.pop();
		left -= typeof next === 'string' ? next.length + 8 : 8;
		if (left < 0) return false;
		if (next !== null && typeof next === 'object') {
			for (const [key, child] of Object.entries(next)) {
				left -= key.length;
				stack.push(child);
			}
		}
	}
	return true;
}

/** What parseWorkflowFile makes of `text`, or why it could not (a parser that threw). */
export function parseWorkflowText(text: string, file: string): ParseResult {
	try {
		return parseWorkflowFile(text, file);
	} catch (err) {
		return { ok: false, error: { file, reason: `cannot be parsed: ${(err as Error).message}` } };
	}
}

/**
 * {@link parseWorkflowText}, off the event loop for a large text; `onThreadFailed` hears why a
 * thread could not do it (the text is then parsed on the loop).
 */
export async function parseWorkflowOffLoop(
	text: string,
	file: string,
	onThreadFailed?: (err: unknown) => void
): Promise<ParseResult> {
	if (Buffer.byteLength(text) <= INLINE_PARSE_BYTES) return parseWorkflowText(text, file);
	let reply: FromParseWorker;
	try {
		reply = await inWorker({ text, file });
	} catch (err) {
		onThreadFailed?.(err);
		return parseWorkflowText(text, file);
	}
	return 'json' in reply ? (JSON.parse(reply.json) as ParseResult) : parseWorkflowText(text, file);
}

function inWorker(job: ToParseWorker): Promise<FromParseWorker> {
	return new Promise<FromParseWorker>((resolve, reject) => {
		const worker = new Worker(workerUrl(), { name: 'aco-workflow-parse' });
		worker.once('message', (reply: FromParseWorker) => {
			resolve(reply);
			void worker.terminate();
		});
		worker.once('error', reject);
		worker.once('exit', (code) => reject(new Error(`the parse thread exited with ${code}`)));
		worker.postMessage(job);
	});
}

/** The worker's module: beside this chunk in the bundle (scripts/bundle.mjs), else through tsx. */
function workerUrl(): URL {
	return BUNDLED
		? new URL('./parse-worker.js', import.meta.url)
		: new URL('./parse-worker-dev.mjs', import.meta.url);
}
