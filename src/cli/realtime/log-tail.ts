/**
 * @module cli/realtime/log-tail
 * One execution's log for a terminal: the backlog over REST, then live `tool.output` lines,
 * handed on in line-number order with no gap and no duplicate (the Node counterpart of the
 * browser's ExecutionLog, without its rendering state).
 *
 * Subscribe BEFORE {@link LogTail.open}: lines that arrive while the backlog loads wait in
 * `pending`. A line at or before `last` is a duplicate; a live line past `last + 1` reveals a
 * hole, which is filled by fetching `?after=last`. A hole the server cannot fill after a few
 * tries is skipped rather than stalling the view.
 *
 * A fetch that fails in a way that may pass (a proxy's 502 while the server restarts, the server
 * out of reach) is tried again after a back-off (rest-retry), and live lines wait for it rather
 * than each asking again; at most MAX_PENDING of them are kept meanwhile, the rest fetched once
 * the server answers. Any other failure (404: the execution is gone; 401, 403, a 500), or one
 * that lasts past the retry budget, ends the tail: it is reported once and nothing more is asked.
 */
import type { LogLine } from '../../lib/protocol/models';
import type { BackoffOptions } from '../../lib/realtime/backoff';
import type { RestClient } from './rest';
import { RestRetry } from './rest-retry';

const GAP_RETRIES = 3;
export const DEFAULT_GAP_RETRY_DELAY_MS = 300;
/** live lines kept while the backlog loads or the server fails; later ones are fetched after */
export const MAX_PENDING = 10_000;

export interface LogTailOptions {
	rest: Pick<RestClient, 'getLogLines'>;
	/** receives lines in order, each exactly once */
	onLines: (lines: LogLine[]) => void;
	/** a failure that asking again would not mend; the tail has stopped */
	onError?: (err: unknown) => void;
	/** a fetch failed and is tried again after a back-off (once per outage) */
	onRetry?: (err: unknown) => void;
	/** a fetch worked again after {@link LogTailOptions.onRetry} */
	onRecover?: () => void;
	/** the waits between tries at a failing server; the CLI's reconnect back-off by default */
	backoff?: BackoffOptions;
	/** how long a failing fetch keeps asking (rest-retry's default) */
	retryBudgetMs?: number;
	/** start after this line (to show only the end of a long log) */
	after?: number;
	gapRetryDelayMs?: number;
}

export class LogTail {
	readonly executionId: string;
	readonly #options: Required<Omit<LogTailOptions, 'after' | 'backoff' | 'retryBudgetMs'>>;
	readonly #pending = new Map<number, LogLine>();
	readonly #abort = new AbortController();
	readonly #retry: RestRetry;
	#last: number;
	#known = 0;
	#opened = false;
	/** a failure ended the tail (onError) */
	#failed = false;
	#fetching: Promise<void> | null = null;
	#fetchAgain = false;

	constructor(executionId: string, options: LogTailOptions) {
		this.executionId = executionId;
		this.#last = options.after ?? 0;
		this.#options = {
			gapRetryDelayMs: DEFAULT_GAP_RETRY_DELAY_MS,
			onError: () => {},
			onRetry: () => {},
			onRecover: () => {},
			...options
		};
		this.#retry = new RestRetry({
			signal: this.#abort.signal,
			onOutage: (err) => this.#options.onRetry(err),
			onRecover: () => this.#options.onRecover(),
			backoff: options.backoff,
			budgetMs: options.retryBudgetMs
		});
	}

	/** the number of the newest line handed on */
	get last(): number {
		return this.#last;
	}

	/**
	 * Loads the backlog and goes live. Idempotent; resolves once the backlog is handed on (after
	 * waiting out a failing server) or the tail has stopped at a failure.
	 */
	open(): Promise<void> {
		if (!this.#opened) {
			this.#opened = true;
			void this.#catchUp();
		}
		return this.idle();
	}

	/** One live line from a `tool.output` event. */
	push(line: LogLine): void {
		if (this.#failed) return;
		if (line.n > this.#known) this.#known = line.n;
		if (line.n <= this.#last) return;
		if (!this.#opened || this.#fetching || line.n > this.#last + 1) {
			// past the bound it is left to the fetch after (#known says it exists)
			if (this.#pending.size < MAX_PENDING) this.#pending.set(line.n, line);
			// a running fetch drains this line when it returns and goes on only for a hole left; asking
			// it to fetch again would poll REST back to back for as long as the tool prints
			if (this.#opened && !this.#fetching) void this.#catchUp();
			return;
		}
		this.#accept([line]);
	}

	/** At least `count` lines exist (tool.completed's line_count): fetch the ones not seen. */
	noteLineCount(count: number): void {
		if (count > this.#known) this.#known = count;
		if (this.#opened && count > this.#last) void this.#catchUp();
	}

	/** After a reconnect or a drop: fetch whatever came after the last line. */
	resync(): void {
		if (this.#opened) void this.#catchUp();
	}

	/** Resolves when no fetch is running (every line known so far has been handed on or skipped). */
	async idle(): Promise<void> {
		while (this.#fetching) await this.#fetching;
	}

	destroy(): void {
		this.#abort.abort();
		this.#pending.clear();
	}

	#catchUp(): Promise<void> {
		if (this.#failed) return Promise.resolve();
		if (this.#fetching) {
			this.#fetchAgain = true;
			return this.#fetching;
		}
		this.#fetching = this.#fetchLoop().finally(() => (this.#fetching = null));
		return this.#fetching;
	}

	async #fetchLoop(): Promise<void> {
		let fruitless = 0;
		try {
			do {
				this.#fetchAgain = false;
				const before = this.#last;
				const lines = await this.#retry.run((signal) =>
					this.#options.rest.getLogLines(this.executionId, this.#last, signal)
				);
				this.#accept(lines);
				if (!this.#hasHole() || this.#last > before) fruitless = 0;
				else if (++fruitless >= GAP_RETRIES) {
					// the server does not have the missing lines: go on rather than stall
					this.#skipHole();
					fruitless = 0;
				} else await this.#sleep(this.#options.gapRetryDelayMs);
			} while (!this.#abort.signal.aborted && (this.#fetchAgain || this.#hasHole()));
		} catch (err) {
			if (!this.#abort.signal.aborted) this.#fail(err);
		}
	}

	/** Asking again would not mend `err` (404, 401, 403, 500, a malformed answer, the budget spent): the tail stops here. */
	#fail(err: unknown): void {
		this.#failed = true;
		this.#pending.clear();
		this.#options.onError(err);
	}

	#hasHole(): boolean {
		return this.#pending.size > 0 || this.#known > this.#last;
	}

	#accept(lines: readonly LogLine[]): void {
		const out: LogLine[] = [];
		for (const line of lines) {
			if (line.n <= this.#last) continue;
			if (line.n > this.#last + 1) this.#pending.set(line.n, line);
			else {
				out.push(line);
				this.#last = line.n;
			}
		}
		this.#drainPending(out);
		if (out.length) this.#options.onLines(out);
	}

	#drainPending(out: LogLine[]): void {
		for (const n of [...this.#pending.keys()].sort((a, b) => a - b)) {
			if (n <= this.#last) this.#pending.delete(n);
			else if (n === this.#last + 1) {
				out.push(this.#pending.get(n)!);
				this.#pending.delete(n);
				this.#last = n;
			} else break;
		}
	}

	#skipHole(): void {
		if (this.#pending.size === 0) {
			// lines the record counts but the store will not give: stop asking for them
			this.#known = this.#last;
			return;
		}
		this.#last = Math.min(...this.#pending.keys()) - 1;
		const out: LogLine[] = [];
		this.#drainPending(out);
		if (out.length) this.#options.onLines(out);
	}

	#sleep(ms: number): Promise<void> {
		const signal = this.#abort.signal;
		return new Promise((resolve) => {
			const onAbort = () => (clearTimeout(timer), resolve());
			// each wait removes its listener when it ends: a long tail waits at many holes
			const timer = setTimeout(() => (signal.removeEventListener('abort', onAbort), resolve()), ms);
			signal.addEventListener('abort', onAbort, { once: true });
		});
	}
}
