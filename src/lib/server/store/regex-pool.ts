/**
 * @module store/regex-pool
 * Log search's matching, off the event loop: a few worker threads (store/regex-worker.ts), started
 * when the first search comes, each matching one chunk of lines at a time. A chunk that takes
 * longer than the time limit (a catastrophically backtracking pattern) has its worker terminated
 * — V8 stops even a RegExp in the middle of backtracking — and fails with `regex_timeout`; the
 * next chunk starts another worker. Chunks wait in a bounded queue for a free worker; a full queue
 * fails at once with `regex_busy`, never unbounded memory. So a hostile pattern costs a worker's
 * CPU for at most the time limit, and the event loop (the hub, ingest, health checks) goes on.
 *
 * @example
 * const pool = createRegexPool({ logger });
 * const lines = await pool.matchingLines(/error/gi, [[1, 'an error'], [2, 'ok']]); // [1]
 * // on shutdown:
 * await pool.close();
 */
import { Worker } from 'node:worker_threads';
import type { LogSearchMatch } from '../../protocol/api';
import { BUNDLED } from '../app-root';
import type { Logger } from '../logger';

/** two threads: a hostile pattern in each still leaves a 2-core machine's event loop its core */
export const DEFAULT_REGEX_WORKERS = 2;
/** longest time one chunk may take to match; beyond it the pattern is judged hostile */
export const DEFAULT_REGEX_TIME_LIMIT_MS = 1_000;
/** chunks waiting for a worker at most */
export const DEFAULT_REGEX_QUEUE = 32;

export interface RegexPoolOptions {
	/** where a thread that stopped on its own is reported */
	logger?: Logger;
	/** worker threads at most (default {@link DEFAULT_REGEX_WORKERS}) */
	workers?: number;
	/** default {@link DEFAULT_REGEX_TIME_LIMIT_MS} */
	timeLimitMs?: number;
	/** default {@link DEFAULT_REGEX_QUEUE} */
	maxQueue?: number;
}

/** One chunk to match: the pattern as source and flags (a RegExp is not cloned to a thread). */
export interface RegexJob {
	/** `lines`: the numbers of the matching lines; `ranges`: every match range of each line */
	op: 'lines' | 'ranges';
	source: string;
	flags: string;
	/** `[n, raw text]` */
	lines: [number, string][];
}

export interface ToRegexWorker {
	id: number;
	job: RegexJob;
}

export type FromRegexWorker =
	| { ready: true }
	| { id: number; lines: number[] }
	| { id: number; matches: LogSearchMatch[] }
	| { id: number; error: string };

export class RegexPoolError extends Error {
	override readonly name = 'RegexPoolError';
	constructor(
		/** over the time limit; the queue full; the pool closed; the worker failed */
		readonly code: 'regex_timeout' | 'regex_busy' | 'regex_closed' | 'regex_failed',
		message: string
	) {
		super(message);
	}
}

export interface RegexPool {
	readonly timeLimitMs: number;
	/** the numbers of the lines with a non-empty match of `re` (global) */
	matchingLines(re: RegExp, lines: [number, string][]): Promise<number[]>;
	/** every match range of each line, offsets into its `displayText` */
	lineMatches(re: RegExp, lines: [number, string][]): Promise<LogSearchMatch[]>;
	/** fails what waits or runs with `regex_closed` and stops the threads; idempotent */
	close(): Promise<void>;
}

/** The worker's module: beside this chunk in the bundle (scripts/bundle.mjs), else through tsx. */
function workerUrl(): URL {
	return BUNDLED
		? new URL('./regex-worker.js', import.meta.url)
		: new URL('./regex-worker-dev.mjs', import.meta.url);
}

interface Pending {
	id: number;
	job: RegexJob;
	resolve(answer: FromRegexWorker): void;
	reject(err: unknown): void;
}

interface Thread {
	worker: Worker;
	/** loaded and listening: until then the time limit would count its start-up */
	ready: boolean;
	/** terminated, or about to be: takes no more work */
	stopping: boolean;
	running: Pending | null;
	timer: NodeJS.Timeout | null;
	exited: Promise<void>;
}

export function createRegexPool(options: RegexPoolOptions): RegexPool {
	const size = Math.max(1, options.workers ?? DEFAULT_REGEX_WORKERS);
	const timeLimitMs = options.timeLimitMs ?? DEFAULT_REGEX_TIME_LIMIT_MS;
	const maxQueue = Math.max(1, options.maxQueue ?? DEFAULT_REGEX_QUEUE);
	const threads: Thread[] = [];
	const queue: Pending[] = [];
	let url: URL | null = null;
	let closed = false;
	let nextId = 0;

	const stop = (thread: Thread) => {
		thread.stopping = true;
		if (thread.timer) clearTimeout(thread.timer);
		thread.timer = null;
		void thread.worker.terminate();
	};

	const spawn = () => {
		url ??= workerUrl();
		const worker = new Worker(url, { name: 'aco-regex' });
		// a thread waiting for work does not keep the process alive; one matching does
		worker.unref();
		let exit!: () => void;
		const thread: Thread = {
			worker,
			ready: false,
			stopping: false,
			running: null,
			timer: null,
			exited: new Promise((resolve) => (exit = resolve))
		};
		threads.push(thread);
		let failure: Error | null = null;
		worker.on('message', (answer: FromRegexWorker) => {
			if ('ready' in answer) {
				thread.ready = true;
			} else if (thread.running?.id === answer.id) {
				if (thread.timer) clearTimeout(thread.timer);
				thread.timer = null;
				const pending = thread.running;
				thread.running = null;
				worker.unref();
				pending.resolve(answer);
			}
			pump();
		});
		worker.on('error', (err) => (failure = err));
		worker.on('exit', (code) => {
			threads.splice(threads.indexOf(thread), 1);
			if (thread.timer) clearTimeout(thread.timer);
			const lost = thread.running;
			thread.running = null;
			const reason = failure ? failure.message : `exit code ${code}`;
			lost?.reject(new RegexPoolError('regex_failed', `the search thread stopped (${reason}): search again`));
			if (!thread.stopping && !closed)
				options.logger?.error(
					{ err: failure },
					'a log search thread stopped; the next search starts another'
				);
			exit();
			// one that never started would not start again: what waits fails instead of spawning forever
			if (!thread.ready && !thread.stopping) {
				const err = new RegexPoolError('regex_failed', `the search thread did not start (${reason})`);
				for (const pending of queue.splice(0)) pending.reject(err);
			}
			pump();
		});
	};

	/** hands waiting chunks to idle threads, starting threads while there are fewer than `size` */
	const pump = () => {
		if (closed) return;
		while (queue.length > 0) {
			const idle = threads.find((t) => t.ready && !t.stopping && !t.running);
			if (!idle) {
				if (threads.filter((t) => !t.stopping).length < size) spawn();
				return;
			}
			const pending = queue.shift()!;
			idle.running = pending;
			idle.worker.ref();
			idle.timer = setTimeout(() => {
				idle.running = null;
				stop(idle);
				pending.reject(
					new RegexPoolError('regex_timeout', `the pattern took longer than ${timeLimitMs} ms on one chunk`)
				);
				pump();
			}, timeLimitMs);
			idle.worker.postMessage({ id: pending.id, job: pending.job } satisfies ToRegexWorker);
		}
	};

	const submit = (job: RegexJob): Promise<FromRegexWorker> =>
		new Promise((resolve, reject) => {
			if (closed) return reject(new RegexPoolError('regex_closed', 'the server is shutting down'));
			if (queue.length >= maxQueue) {
				return reject(
					new RegexPoolError(
						'regex_busy',
						`${queue.length} search chunks are waiting already; search again shortly`
					)
				);
			}
			queue.push({ id: ++nextId, job, resolve, reject });
			pump();
		});

	const run = async (op: RegexJob['op'], re: RegExp, lines: [number, string][]) => {
		const answer = await submit({ op, source: re.source, flags: re.flags, lines });
		if ('error' in answer) throw new RegexPoolError('regex_failed', answer.error);
		return answer;
	};

	return {
		timeLimitMs,
		async matchingLines(re, lines) {
			const answer = await run('lines', re, lines);
			return 'lines' in answer ? answer.lines : [];
		},
		async lineMatches(re, lines) {
			const answer = await run('ranges', re, lines);
			return 'matches' in answer ? answer.matches : [];
		},
		async close() {
			if (closed) return;
			closed = true;
			const err = new RegexPoolError('regex_closed', 'the server is shutting down');
			for (const pending of queue.splice(0)) pending.reject(err);
			const exited = threads.map((t) => t.exited);
			for (const thread of threads) {
				thread.running?.reject(err);
				thread.running = null;
				stop(thread);
			}
			await Promise.all(exited);
		}
	};
}
