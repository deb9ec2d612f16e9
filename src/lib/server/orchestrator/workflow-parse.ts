/**
 * @module orchestrator/workflow-parse
 * Parses a workflow file's text without holding the event loop: YAML takes about 1 s per MiB
 * here, and a server that parsed a large file (a generated matrix of thousands of tasks) on its
 * loop stopped answering pages, health checks and the hub for that long each time the file
 * changed. A text of up to {@link INLINE_PARSE_BYTES} is parsed at once (a few ms); a larger one
 * in a worker thread of its own, started for it and stopped once it answers. Should the thread
 * fail to start or die, the text is parsed on the loop after all: a workflow always loads.
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
	if (text.length <= INLINE_PARSE_BYTES) return parseWorkflowText(text, file);
	try {
		return await inWorker({ text, file });
	} catch (err) {
		onThreadFailed?.(err);
		return parseWorkflowText(text, file);
	}
}

function inWorker(job: ToParseWorker): Promise<ParseResult> {
	return new Promise<ParseResult>((resolve, reject) => {
		const worker = new Worker(workerUrl(), { name: 'aco-workflow-parse' });
		worker.once('message', (json: string) => {
			resolve(JSON.parse(json) as ParseResult);
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
