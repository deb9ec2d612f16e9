/**
 * @module downloads/read-worker
 * A worker thread of the read pool: its own read-only connection to the SQLite file (WAL lets
 * readers run beside the writer), reading and formatting downloads one chunk per request, so
 * the event loop only passes bytes on. Every page is its own short read, as in the store, so
 * no read transaction is held while a client is slow; a page ends at its line count or once its
 * text reaches {@link DOWNLOAD_CHUNK_CHARS} (a line may be 64 KiB). The thread runs at a lower
 * priority than the event loop's (thread-priority.ts), so downloads take the CPU the live stream leaves.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { DOWNLOAD_CHUNK_CHARS, logChunks, segmentChunks, type LogLineSource } from '../http/log-stream';
import type { LogLine } from '../../protocol/models';
import { LOG_COLUMNS, LOG_KEY_PARAM, toLogLine, type LogRow } from '../store/rows';
import type { FromWorker, ReadRequest, ReadWorkerData, ToWorker } from './read-messages';
import { lowerThreadPriority } from './thread-priority';

lowerThreadPriority();

const { file, busyTimeoutMs } = workerData as ReadWorkerData;
const db = new Database(file, { readonly: true, fileMustExist: true, timeout: busyTimeoutMs });
const readLines = db.prepare<[string, number, number], LogRow>(
	`SELECT ${LOG_COLUMNS} FROM log_lines WHERE log_key = ${LOG_KEY_PARAM} AND n > ? ORDER BY n LIMIT ?`
);

const source: LogLineSource = {
	async *iterateLogLines(executionId, query = {}) {
		const chunk = query.chunk ?? 1000;
		let last = query.after ?? 0;
		for (;;) {
			// stepped row by row and left at the budget (at least one line); all within this call,
			// so the read ends before the page is handed on
			const lines: LogLine[] = [];
			let chars = 0;
			let more = false;
			for (const row of readLines.iterate(executionId, last, chunk)) {
				if (chars >= DOWNLOAD_CHUNK_CHARS) {
					more = true;
					break;
				}
				chars += row.text.length;
				lines.push(toLogLine(row));
			}
			if (lines.length === 0) return;
			last = lines[lines.length - 1].n;
			yield lines;
			if (!more && lines.length < chunk) return;
		}
	}
};

const encoder = new TextEncoder();

/**
 * A download open in this thread: its chunks, and the next one, read while the event loop
 * passes the last one on (one chunk ahead, no more: a client that stops reading stops the reads).
 */
interface Download {
	chunks: AsyncGenerator<string, void, undefined>;
	ahead: Promise<FromWorker>;
}

const downloads = new Map<number, Download>();

function chunksOf(request: ReadRequest): AsyncGenerator<string, void, undefined> {
	return request.kind === 'log'
		? logChunks(source, request.executionId, request)
		: segmentChunks(source, request.segments, request);
}

function read(id: number, chunks: AsyncGenerator<string, void, undefined>): Promise<FromWorker> {
	return chunks.next().then(
		({ value, done }): FromWorker => (done ? { id, done: true } : { id, chunk: encoder.encode(value) }),
		(err: unknown): FromWorker => ({ id, error: err instanceof Error ? err.message : String(err) })
	);
}

/**
 * A chunk is copied to the event loop's thread, not transferred: a copy counts as that
 * thread's memory, so its garbage collector frees sent chunks in time; a transferred buffer
 * does not count there, and an event loop with little else to do let them pile up.
 */
async function answer(id: number): Promise<void> {
	const download = downloads.get(id);
	if (!download) {
		parentPort!.postMessage({ id, error: 'download not open' } satisfies FromWorker);
		return;
	}
	const message = await download.ahead;
	if (downloads.get(id) !== download) return;
	parentPort!.postMessage(message);
	if ('chunk' in message) download.ahead = read(id, download.chunks);
	else downloads.delete(id);
}

parentPort!.on('message', (message: ToWorker) => {
	switch (message.op) {
		case 'open': {
			const chunks = chunksOf(message.request);
			downloads.set(message.id, { chunks, ahead: read(message.id, chunks) });
			void answer(message.id);
			break;
		}
		case 'next':
			void answer(message.id);
			break;
		case 'close': {
			const download = downloads.get(message.id);
			downloads.delete(message.id);
			void download?.chunks.return(undefined);
			break;
		}
	}
});
