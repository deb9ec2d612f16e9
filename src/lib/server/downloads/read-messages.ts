/**
 * @module downloads/read-messages
 * The messages between the read pool (event loop) and its worker threads. A download is a
 * cursor in one worker; the pool asks for its next chunk only when the HTTP response pulls
 * (so a client that stops reading stops the reads) and closes it when the client goes away.
 */
import type { FormatOptions, LogRange, LogSegment } from '../http/log-stream';

/** what one download reads */
export type ReadRequest =
	| ({ kind: 'log'; executionId: string } & FormatOptions & LogRange)
	| ({ kind: 'segments'; segments: LogSegment[] } & FormatOptions);

/** what a worker thread is started with (`workerData`) */
export interface ReadWorkerData {
	/** the SQLite database file, opened read-only */
	file: string;
	busyTimeoutMs: number;
}

export type ToWorker =
	/** starts download `id` and answers with its first chunk */
	| { op: 'open'; id: number; request: ReadRequest }
	/** the next chunk of download `id` */
	| { op: 'next'; id: number }
	/** the client went away: forget download `id` (no answer) */
	| { op: 'close'; id: number };

export type FromWorker =
	{ id: number; chunk: Uint8Array } | { id: number; done: true } | { id: number; error: string };
