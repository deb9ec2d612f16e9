/**
 * @module cli/realtime/log-tail
 * One execution's log for a terminal: the backlog over REST, then the lines of live `tool.lines`
 * events, handed on in line-number order with no gap and no duplicate (the Node counterpart of
 * the browser's ExecutionLog, without its rendering state).
 *
 * Subscribe BEFORE {@link LogTail.open}: lines that arrive while the backlog loads wait in
 * `pending`. A line at or before `last` is a duplicate; a live line past `last + 1` reveals a
 * hole (an event dropped before its own), which is filled by fetching `?after=last`, once per
 * event however many of its lines wait behind the hole.
 *
 * The server streams each line at once but stores lines in batches, later, and through a
 * database outage only once the store is back (log-pipeline): a hole below a line the stream
 * showed (or a record counted) is lines the store does not have YET. After a few quick tries the
 * tail asks again with back-off, says what it waits for (onRetry, once), and waits up to its retry
 * budget, later lines waiting meanwhile. Only then does it go on without them, and says so
 * (onSkip); the lines are asked for again when a record counts them (noteLineCount, e.g. the
 * tool's completion, which comes once every line is stored) or after a resync, and handed on
 * then (onLate). No line is skipped silently.
 *
 * A fetch that fails in a way that may pass (a proxy's 502 while the server restarts, the server
 * out of reach) is tried again after a back-off (rest-retry), and live lines wait for it rather
 * than each asking again; at most MAX_PENDING of them are kept meanwhile, the rest fetched once
 * the server answers. Any other failure (404: the execution is gone; 401, 403, a 500), or one
 * that lasts past the retry budget, ends the tail: it is reported once and nothing more is asked.
 */
import type { LogLine } from '../../lib/protocol/models';
import { Backoff, type BackoffOptions } from '../../lib/realtime/backoff';
import { DEFAULT_CLI_BACKOFF } from './client';
import type { RestClient } from './rest';
import { DEFAULT_RETRY_BUDGET_MS, RestRetry } from './rest-retry';

/** quick tries at a hole before it counts as the store lagging (a batch is on its way) */
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
	/** a fetch worked again after {@link LogTailOptions.onRetry} (or the lines waited for came) */
	onRecover?: () => void;
	/**
	 * lines the store still lacked when the retry budget ran out: the tail went on without them;
	 * they come through {@link LogTailOptions.onLate} once stored
	 */
	onSkip?: (skipped: SkippedLines) => void;
	/** lines skipped before (onSkip), now stored: one call per skipped run, in order, after later lines; onLines by default */
	onLate?: (lines: LogLine[]) => void;
	/** the waits between tries at a failing server; the CLI's reconnect back-off by default */
	backoff?: BackoffOptions;
	/** how long a failing fetch keeps asking, and missing lines are waited for (rest-retry's default) */
	retryBudgetMs?: number;
	/** start after this line (to show only the end of a long log) */
	after?: number;
	gapRetryDelayMs?: number;
}

/** Line numbers `from` to `to`, both included. */
export interface SkippedLines {
	from: number;
	to: number;
}

/** `line 6`, `lines 6–9` */
export function lineRange({ from, to }: SkippedLines): string {
	return from === to ? `line ${from}` : `lines ${from}–${to}`;
}

/** What a tail waits for while the store lags behind the stream (given to onRetry). */
export class LinesNotStoredError extends Error {
	constructor(
		readonly executionId: string,
		readonly lines: SkippedLines
	) {
		const { from, to } = lines;
		super(
			from === to
				? `Line ${from} of ${executionId} is not stored yet.`
				: `Lines ${from}–${to} of ${executionId} are not stored yet.`
		);
		this.name = 'LinesNotStoredError';
	}
}

export class LogTail {
	readonly executionId: string;
	readonly #options: Required<Omit<LogTailOptions, 'after' | 'backoff' | 'retryBudgetMs'>>;
	readonly #backoff: BackoffOptions;
	readonly #budgetMs: number;
	readonly #pending = new Map<number, LogLine>();
	/** lines skipped (onSkip) and not handed on since, oldest first */
	readonly #skipped: SkippedLines[] = [];
	/**
	 * the last lines skipped with none after them: they are fetched in order once stored (nothing
	 * waits behind them), but until then the log handed on lacks them
	 */
	#trailing: SkippedLines | null = null;
	/** ask for the skipped lines on the next fetch */
	#fetchSkipped = false;
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
			onSkip: () => {},
			onLate: (lines) => this.#options.onLines(lines),
			...options
		};
		this.#backoff = { ...DEFAULT_CLI_BACKOFF, ...options.backoff };
		this.#budgetMs = options.retryBudgetMs ?? DEFAULT_RETRY_BUDGET_MS;
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

	/**
	 * The lines of one `tool.lines` event, in order: those that follow on are handed on together
	 * (one onLines call, so one print or redraw per event), and a hole before or among them is
	 * fetched once for the event, not once per line.
	 */
	pushLines(lines: readonly LogLine[]): void {
		if (this.#failed) return;
		// while the backlog loads or a fetch runs, the lines wait: the fetch drains them when it returns
		// and goes on only for a hole left; asking it to fetch again would poll REST back to back for
		// as long as the tool prints
		const direct = this.#opened && !this.#fetching;
		const out: LogLine[] = [];
		for (const line of lines) {
			if (line.n > this.#known) this.#known = line.n;
			if (line.n <= this.#last) continue;
			if (direct && line.n === this.#last + 1) {
				out.push(line);
				this.#last = line.n;
			} else if (this.#pending.size < MAX_PENDING) {
				// past the bound it is left to the fetch after (#known says it exists)
				this.#pending.set(line.n, line);
			}
		}
		if (!direct) return;
		this.#drainPending(out);
		if (out.length) this.#options.onLines(out);
		// a line past `last + 1` (an event dropped before this one): one fetch for the event
		if (this.#hasHole()) void this.#catchUp();
	}

	/**
	 * At least `count` lines exist, stored (a record's line_count, tool.completed's): fetch the
	 * ones not seen, and skipped ones it counts.
	 */
	noteLineCount(count: number): void {
		if (count > this.#known) this.#known = count;
		const skippedStored = this.#skipped.some((skipped) => skipped.from <= count);
		if (skippedStored) this.#fetchSkipped = true;
		if (this.#opened && (count > this.#last || skippedStored)) void this.#catchUp();
	}

	/** After a reconnect or a drop: fetch whatever came after the last line, and skipped lines. */
	resync(): void {
		if (this.#skipped.length) this.#fetchSkipped = true;
		if (this.#opened) void this.#catchUp();
	}

	/** The runs of lines skipped (onSkip) and not handed on since, oldest first. */
	get skipped(): readonly SkippedLines[] {
		const trailing = this.#trailing;
		if (!trailing || trailing.to <= this.#last) return this.#skipped;
		return [...this.#skipped, { from: Math.max(trailing.from, this.#last + 1), to: trailing.to }];
	}

	/** Resolves when no fetch is running (every line known so far has been handed on or skipped). */
	async idle(): Promise<void> {
		while (this.#fetching) await this.#fetching;
	}

	destroy(): void {
		this.#abort.abort();
		this.#pending.clear();
		this.#skipped.length = 0;
		this.#trailing = null;
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
		/** the store lags: since when (ms, monotonic), the back-off, and whether onRetry heard of it */
		let lag: { since: number; backoff: Backoff; told: boolean } | null = null;
		const endLag = () => {
			if (lag?.told) this.#options.onRecover();
			lag = null;
		};
		try {
			do {
				this.#fetchAgain = false;
				if (this.#fetchSkipped) await this.#fetchLate();
				const before = this.#last;
				// lines held that follow on now (one came while a fetch or a wait was under way) go first
				this.#accept([]);
				// a hole before a line held: up to that line, what is past it came live already
				// (with none held, the lines a record counted or a resync asks for: all of them)
				const hole = this.#pending.size > 0 ? this.#hole().to - this.#last : 0;
				const limit = hole > 0 ? hole : undefined;
				const lines = await this.#retry.run((signal) =>
					this.#options.rest.getLogLines(this.executionId, { after: this.#last, limit, signal })
				);
				this.#accept(lines);
				if (!this.#hasHole() || this.#last > before) {
					fruitless = 0;
					endLag();
					continue;
				}
				// lines the stream showed later ones of (or a record counted) are not stored yet: the
				// store writes in batches, and after an outage of its own only once it is back
				lag ??= { since: performance.now(), backoff: new Backoff(this.#backoff), told: false };
				if (++fruitless < GAP_RETRIES) await this.#sleep(this.#options.gapRetryDelayMs);
				else if (performance.now() - lag.since < this.#budgetMs) {
					if (!lag.told) {
						lag.told = true;
						this.#options.onRetry(new LinesNotStoredError(this.executionId, this.#hole()));
					}
					await this.#sleep(lag.backoff.next() ?? this.#options.gapRetryDelayMs);
				} else {
					endLag();
					this.#skipHole();
					fruitless = 0;
				}
			} while (!this.#abort.signal.aborted && (this.#fetchAgain || this.#fetchSkipped || this.#hasHole()));
		} catch (err) {
			if (!this.#abort.signal.aborted) this.#fail(err);
		}
	}

	/** The lines skipped before, as far as the store has them now: handed on late, in order. */
	async #fetchLate(): Promise<void> {
		this.#fetchSkipped = false;
		const after = this.#skipped[0].from - 1;
		// the skipped runs only: the lines after the last were handed on already
		const limit = this.#skipped.at(-1)!.to - after;
		const lines = await this.#retry.run((signal) =>
			this.#options.rest.getLogLines(this.executionId, { after, limit, signal })
		);
		const byNumber = new Map(lines.map((line) => [line.n, line]));
		// each skipped run apart: the lines between two runs were handed on already
		const runs: LogLine[][] = [];
		for (let i = 0; i < this.#skipped.length; i++) {
			const skipped = this.#skipped[i];
			const late: LogLine[] = [];
			// the store keeps a gap-free prefix: what it has of a skipped run starts at its first line
			while (skipped.from <= skipped.to && byNumber.has(skipped.from))
				late.push(byNumber.get(skipped.from++)!);
			if (late.length) runs.push(late);
			if (skipped.from > skipped.to) this.#skipped.splice(i--, 1);
		}
		for (const late of runs) this.#options.onLate(late);
	}

	/** The first run of missing lines: after `last`, up to the first line waiting (or known). */
	#hole(): SkippedLines {
		const next = this.#pending.size ? Math.min(...this.#pending.keys()) : this.#known + 1;
		return { from: this.#last + 1, to: next - 1 };
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

	/** Goes on without the first run of missing lines, and says so: never silently. */
	#skipHole(): void {
		const hole = this.#hole();
		this.#options.onSkip(hole);
		if (this.#pending.size === 0) {
			// nothing later was handed on: a fetch after `last` (the next line, record or resync)
			// still gets them in order once stored
			this.#known = this.#last;
			this.#trailing = { ...hole };
			return;
		}
		this.#skipped.push({ ...hole });
		this.#last = hole.to;
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
