/**
 * @module downloads/read-pool
 * A {@link LogReader} for the SQLite store that reads off the event loop: a few worker threads
 * (downloads/read-worker.ts), each with its own read-only connection to the database file,
 * started when the first download comes. Each download is a cursor in one worker (the one
 * with the fewest); its next chunk is read only when the response pulls, so memory stays at a
 * chunk or two per download, a client that stops reading pauses its reads and one that goes
 * away ends them. A worker that dies fails the downloads it was reading and is replaced.
 *
 * @example
 * const reader = createReadPool({ file: '/data/aco.db', logger });
 * return new Response(reader.log(executionId, { format: 'text', upTo: execution.line_count }));
 * // on shutdown:
 * await reader.close();
 */
import { Worker } from 'node:worker_threads';
import { BUNDLED } from '../app-root';
import type { Logger } from '../logger';
import type { LogReader } from './log-reader';
import type { FromWorker, ReadRequest, ReadWorkerData, ToWorker } from './read-messages';

/** two threads: enough to keep downloads off a 2-core machine's event loop without taking both cores */
export const DEFAULT_READ_WORKERS = 2;
export const DEFAULT_READ_BUSY_TIMEOUT_MS = 5_000;
const READ_WORKER_YOUNG_MB = 16;

export interface ReadPoolOptions {
	/** the SQLite database file */
	file: string;
	logger: Logger;
	/** worker threads at most (default {@link DEFAULT_READ_WORKERS}) */
	workers?: number;
	busyTimeoutMs?: number;
}

/** Raised into a download's stream when its worker is gone or the pool closed. */
export class ReadPoolError extends Error {
	readonly code = 'read_pool';
	constructor(message: string) {
		super(message);
		this.name = 'ReadPoolError';
	}
}

/**
 * The worker's module: beside this chunk in the bundle (scripts/bundle.mjs builds
 * dist/read-worker.js); from the TypeScript sources (dev, tests, benches) a small ES module
 * that loads it through tsx.
 */
function workerUrl(): URL {
	return BUNDLED
		? new URL('./read-worker.js', import.meta.url)
		: new URL('./read-worker-dev.mjs', import.meta.url);
}

class ReadThread {
	readonly worker: Worker;
	dead = false;
	#active = 0;
	#waiting = new Map<number, { resolve(answer: FromWorker): void; reject(err: Error): void }>();

	constructor(url: URL, data: ReadWorkerData, onExit: (thread: ReadThread, err: Error | null) => void) {
		this.worker = new Worker(url, {
			workerData: data,
			name: 'aco-log-reader',
			// its garbage dies young (a page of rows, then its text): a bounded nursery bounds its memory
			resourceLimits: { maxYoungGenerationSizeMb: READ_WORKER_YOUNG_MB }
		});
		// a thread waiting for work does not keep the process alive; one reading a download does
		this.worker.unref();
		let failure: Error | null = null;
		this.worker.on('message', (answer: FromWorker) => {
			const waiting = this.#waiting.get(answer.id);
			this.#waiting.delete(answer.id);
			waiting?.resolve(answer);
		});
		this.worker.on('error', (err) => (failure = err));
		this.worker.on('exit', (code) => {
			this.dead = true;
			const err = new ReadPoolError(
				`the log reader thread stopped (${failure ? failure.message : `exit code ${code}`}): download it again`
			);
			for (const waiting of this.#waiting.values()) waiting.reject(err);
			this.#waiting.clear();
			onExit(this, failure);
		});
	}

	/** downloads open in this thread */
	get active(): number {
		return this.#active;
	}

	opened(): void {
		if (this.#active++ === 0) this.worker.ref();
	}

	ended(): void {
		if (--this.#active === 0) this.worker.unref();
	}

	ask(message: Extract<ToWorker, { op: 'open' | 'next' }>): Promise<FromWorker> {
		if (this.dead)
			return Promise.reject(new ReadPoolError('the log reader thread stopped: download it again'));
		return new Promise((resolve, reject) => {
			this.#waiting.set(message.id, { resolve, reject });
			this.worker.postMessage(message);
		});
	}

	forget(id: number): void {
		this.#waiting.get(id)?.reject(new ReadPoolError('the download was cancelled'));
		this.#waiting.delete(id);
		if (!this.dead) this.worker.postMessage({ op: 'close', id } satisfies ToWorker);
	}
}

export function createReadPool(options: ReadPoolOptions): LogReader {
	const size = Math.max(1, options.workers ?? DEFAULT_READ_WORKERS);
	const data: ReadWorkerData = {
		file: options.file,
		busyTimeoutMs: options.busyTimeoutMs ?? DEFAULT_READ_BUSY_TIMEOUT_MS
	};
	let url: URL | null = null;
	const threads: ReadThread[] = [];
	let closed = false;
	let nextId = 0;

	const onExit = (thread: ReadThread, err: Error | null) => {
		threads.splice(threads.indexOf(thread), 1);
		if (!closed)
			options.logger.error({ err }, 'a log reader thread stopped; the next download starts another');
	};

	/** the thread with the fewest downloads, starting one while there are fewer than `size` */
	const pick = (): ReadThread => {
		const idle = threads.find((t) => t.active === 0);
		if (idle) return idle;
		if (threads.length < size) {
			url ??= workerUrl();
			const thread = new ReadThread(url, data, onExit);
			threads.push(thread);
			return thread;
		}
		return threads.reduce((a, b) => (b.active < a.active ? b : a));
	};

	const stream = (request: ReadRequest): ReadableStream<Uint8Array> => {
		const id = ++nextId;
		let thread: ReadThread | null = null;
		let finished = false;
		const finish = () => {
			if (finished) return;
			finished = true;
			thread?.ended();
		};
		return new ReadableStream<Uint8Array>({
			async pull(controller) {
				try {
					if (closed) throw new ReadPoolError('the server is shutting down');
					let answer: FromWorker;
					if (!thread) {
						thread = pick();
						thread.opened();
						answer = await thread.ask({ op: 'open', id, request });
					} else {
						answer = await thread.ask({ op: 'next', id });
					}
					if ('chunk' in answer) {
						controller.enqueue(answer.chunk);
					} else if ('done' in answer) {
						finish();
						controller.close();
					} else {
						throw new Error(`reading the log failed: ${answer.error}`);
					}
				} catch (err) {
					finish();
					controller.error(err);
				}
			},
			cancel() {
				if (finished) return;
				finish();
				thread?.forget(id);
			}
		});
	};

	return {
		log: (executionId, format) => stream({ kind: 'log', executionId, ...format }),
		segments: (segments, format) => stream({ kind: 'segments', segments, ...format }),
		async close() {
			if (closed) return;
			closed = true;
			await Promise.all(threads.map((t) => t.worker.terminate()));
		}
	};
}
