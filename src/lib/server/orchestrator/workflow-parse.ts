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
 * The threads belong to a {@link ParseThreads}, the node's: its `close()` (on shutdown) stops one
 * still parsing, and the parse fails with a `shutting_down` error rather than go on past the
 * store and logger it would report to.
 *
 * @example
 * const threads = new ParseThreads();
 * const result = await parseWorkflowOffLoop(text, file, { threads }); // ParseResult, as parseWorkflowFile's
 * // on shutdown:
 * await threads.close();
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

export interface OffLoopOptions {
	/** who stops the thread on shutdown (default: a ParseThreads of this parse's own) */
	threads?: ParseThreads;
	/** why a thread could not do it (the text is then parsed on the loop); not after `close()` */
	onThreadFailed?: (err: unknown) => void;
}

/** {@link parseWorkflowText}, off the event loop for a large text. */
export async function parseWorkflowOffLoop(
	text: string,
	file: string,
	options: OffLoopOptions = {}
): Promise<ParseResult> {
	if (Buffer.byteLength(text) <= INLINE_PARSE_BYTES) return parseWorkflowText(text, file);
	const { threads = new ParseThreads(), onThreadFailed } = options;
	let reply: FromParseWorker;
	try {
		reply = await threads.run({ text, file });
	} catch (err) {
		// stopped by a shutdown: parsing on the loop instead would hold up the very shutdown
		if (err instanceof ParseThreadsClosedError) throw err;
		onThreadFailed?.(err);
		return parseWorkflowText(text, file);
	}
	return 'json' in reply ? (JSON.parse(reply.json) as ParseResult) : parseWorkflowText(text, file);
}

/** A parse that `ParseThreads.close()` stopped, or that came after it; the REST API's 503. */
export class ParseThreadsClosedError extends Error {
	override readonly name = 'ParseThreadsClosedError';
	readonly code = 'shutting_down';
	constructor() {
		super('The server is shutting down; workflow files are not read any more. Try again once it is back.');
	}
}

interface Thread {
	worker: Worker;
	reject: (err: unknown) => void;
	exited: Promise<void>;
}

/**
 * The workflow parse threads of one owner (the orchestrator): one per large file being parsed,
 * stopped once it answers, and every one still parsing by {@link ParseThreads.close}.
 */
export class ParseThreads {
	#threads = new Set<Thread>();
	#closing: Promise<void> | null = null;

	/** threads started and not yet exited */
	get size(): number {
		return this.#threads.size;
	}

	/** The thread's answer for `job`; rejects with {@link ParseThreadsClosedError} once closed. */
	run(job: ToParseWorker): Promise<FromParseWorker> {
		if (this.#closing) return Promise.reject(new ParseThreadsClosedError());
		return new Promise<FromParseWorker>((resolve, reject) => {
			const worker = new Worker(workerUrl(), { name: 'aco-workflow-parse' });
			let exit!: () => void;
			const thread: Thread = { worker, reject, exited: new Promise((done) => (exit = done)) };
			this.#threads.add(thread);
			worker.once('message', (reply: FromParseWorker) => {
				resolve(reply);
				void worker.terminate();
			});
			worker.once('error', reject);
			worker.once('exit', (code) => {
				this.#threads.delete(thread);
				reject(new Error(`the parse thread exited with ${code}`));
				exit();
			});
			worker.postMessage(job);
		});
	}

	/** Stops every thread still parsing (their parses fail as closed) and what would start; idempotent. */
	close(): Promise<void> {
		this.#closing ??= (async () => {
			const threads = [...this.#threads];
			for (const { worker, reject } of threads) {
				reject(new ParseThreadsClosedError());
				void worker.terminate();
			}
			await Promise.all(threads.map(({ exited }) => exited));
		})();
		return this.#closing;
	}
}

/** The worker's module: beside this chunk in the bundle (scripts/bundle.mjs), else through tsx. */
function workerUrl(): URL {
	return BUNDLED
		? new URL('./parse-worker.js', import.meta.url)
		: new URL('./parse-worker-dev.mjs', import.meta.url);
}
