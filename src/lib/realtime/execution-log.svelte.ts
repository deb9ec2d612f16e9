/**
 * @module realtime/execution-log
 * One execution's log as the page holds it: the backlog loaded over REST merged with live
 * `tool.output` lines by line number, so a viewer that opens mid-run sees every line once.
 *
 * The owner subscribes BEFORE calling {@link ExecutionLog.open}; live lines that arrive while the
 * backlog loads wait in `pending`. A line never appears twice (n ≤ last is ignored) and a hole
 * (a live line with n > last + 1) is filled by fetching `?after=last`. At most `maxLines` stay in
 * memory; older ones are dropped and the view says so.
 */
import { ApiClient, isAbortError } from '$lib/api';
import type { LogLine } from '$lib/protocol';

export const DEFAULT_MAX_LINES = 5_000;
/** Fetches that bring nothing new before a hole is accepted as lost (the store may lag the event). */
const GAP_RETRIES = 3;
const GAP_RETRY_DELAY_MS = 300;

export type LogPhase = 'idle' | 'loading' | 'live' | 'error';

export interface ExecutionLogOptions {
	api?: ApiClient;
	maxLines?: number;
	/** lines known to exist already (the execution's `line_count`) */
	lineCount?: number;
	gapRetryDelayMs?: number;
}

export class ExecutionLog {
	readonly executionId: string;
	readonly maxLines: number;

	#lines = $state.raw<LogLine[]>([]);
	#last = $state(0);
	#known = $state(0);
	#phase = $state<LogPhase>('idle');
	#error = $state<string | null>(null);

	readonly #api: ApiClient;
	readonly #gapRetryDelayMs: number;
	// eslint-disable-next-line svelte/prefer-svelte-reactivity -- lines waiting for a hole to fill, never rendered
	readonly #pending = new Map<number, LogLine>();
	readonly #abort = new AbortController();
	/** lines accepted but not yet published to `lines`, flushed once per microtask */
	#staged: LogLine[] = [];
	#flushQueued = false;
	#fetching = false;
	#fetchAgain = false;

	constructor(executionId: string, options: ExecutionLogOptions = {}) {
		this.executionId = executionId;
		this.#api = options.api ?? new ApiClient();
		this.maxLines = options.maxLines ?? DEFAULT_MAX_LINES;
		this.#known = options.lineCount ?? 0;
		this.#gapRetryDelayMs = options.gapRetryDelayMs ?? GAP_RETRY_DELAY_MS;
	}

	/** the lines held, oldest first (at most maxLines) */
	get lines(): LogLine[] {
		return this.#lines;
	}
	/** the number of the newest line held in order */
	get last(): number {
		return this.#last;
	}
	/** how many lines the execution has, as far as this page knows */
	get total(): number {
		return Math.max(this.#known, this.#last);
	}
	/** lines before the first one held (dropped to stay within maxLines, or never loaded) */
	get dropped(): number {
		const first = this.#lines[0];
		return first ? first.n - 1 : this.#last;
	}
	get truncated(): boolean {
		return this.dropped > 0;
	}
	get phase(): LogPhase {
		return this.#phase;
	}
	get error(): string | null {
		return this.#error;
	}

	/** The held lines as text, one per line (what Copy copies). */
	text(): string {
		return this.#lines.map((line) => line.text).join('\n');
	}

	/**
	 * Records that at least `count` lines exist (from an execution record). Lines this view has
	 * not got (dropped under backpressure, say, with no later line to reveal the hole) are fetched.
	 */
	noteLineCount(count: number): void {
		if (count > this.#known) this.#known = count;
		// while a fetch runs, #catchUp only asks for one more round: that fetch may predate these lines
		if ((this.#phase === 'live' || this.#phase === 'loading') && count > this.#last) void this.#catchUp();
	}

	/** Loads the backlog (only its last maxLines) and goes live. Idempotent. */
	open(): void {
		if (this.#phase !== 'idle') return;
		this.#phase = 'loading';
		// a huge log: skip straight to the part that would be kept anyway
		this.#last = Math.max(0, this.#known - this.maxLines);
		void this.#catchUp();
	}

	/** One live line from a `tool.output` event. */
	push(line: LogLine): void {
		if (line.n > this.#known) this.#known = line.n;
		if (this.#phase === 'idle' || line.n <= this.#last) return;
		if (this.#fetching || line.n > this.#last + 1) {
			this.#pending.set(line.n, line);
			void this.#catchUp();
			return;
		}
		this.#accept([line]);
	}

	/** After a reconnect: fetch whatever came after the last line held. */
	resync(): void {
		if (this.#phase === 'idle') return;
		void this.#catchUp();
	}

	/** Retry after an error. */
	retry(): void {
		if (this.#phase !== 'error') return;
		this.#phase = 'loading';
		this.#error = null;
		void this.#catchUp();
	}

	destroy(): void {
		this.#abort.abort();
		this.#pending.clear();
	}

	async #catchUp(): Promise<void> {
		if (this.#fetching) {
			this.#fetchAgain = true;
			return;
		}
		this.#fetching = true;
		let fruitless = 0;
		try {
			do {
				this.#fetchAgain = false;
				const before = this.#last;
				const lines = await this.#api.getLogLines(this.executionId, {
					after: this.#last,
					signal: this.#abort.signal
				});
				this.#accept(lines);
				this.#drainPending();
				if (!this.#hasHole()) fruitless = 0;
				else if (this.#last > before) fruitless = 0;
				else if (++fruitless >= GAP_RETRIES) {
					// the server does not have the missing lines: go on rather than stall the view
					this.#skipHole();
					fruitless = 0;
				} else await this.#sleep(this.#gapRetryDelayMs);
			} while (this.#fetchAgain || this.#hasHole());
			this.#phase = 'live';
		} catch (err) {
			if (isAbortError(err) || this.#abort.signal.aborted) return;
			this.#phase = 'error';
			this.#error = err instanceof Error ? err.message : String(err);
		} finally {
			this.#fetching = false;
		}
	}

	#hasHole(): boolean {
		return this.#pending.size > 0;
	}

	/** Appends the lines that continue the sequence; anything at or before `last` is a duplicate. */
	#accept(lines: readonly LogLine[]): void {
		for (const line of lines) {
			if (line.n <= this.#last) continue;
			if (line.n > this.#last + 1) {
				this.#pending.set(line.n, line);
				continue;
			}
			this.#staged.push(line);
			this.#last = line.n;
		}
		if (this.#last > this.#known) this.#known = this.#last;
		this.#drainPending();
		this.#queueFlush();
	}

	#drainPending(): void {
		if (!this.#pending.size) return;
		for (const n of [...this.#pending.keys()].sort((a, b) => a - b)) {
			const line = this.#pending.get(n)!;
			if (n <= this.#last) this.#pending.delete(n);
			else if (n === this.#last + 1) {
				this.#pending.delete(n);
				this.#staged.push(line);
				this.#last = n;
			} else break;
		}
		this.#queueFlush();
	}

	#skipHole(): void {
		const first = Math.min(...this.#pending.keys());
		this.#last = first - 1;
		this.#drainPending();
	}

	#queueFlush(): void {
		if (this.#flushQueued || !this.#staged.length) return;
		this.#flushQueued = true;
		// one new array per burst of lines, not per line: a WebSocket frame carries several
		queueMicrotask(() => {
			this.#flushQueued = false;
			if (!this.#staged.length) return;
			const next = this.#lines.concat(this.#staged);
			this.#staged = [];
			this.#lines = next.length > this.maxLines ? next.slice(next.length - this.maxLines) : next;
		});
	}

	#sleep(ms: number): Promise<void> {
		return new Promise((resolve) => {
			const timer = setTimeout(resolve, ms);
			this.#abort.signal.addEventListener(
				'abort',
				() => {
					clearTimeout(timer);
					resolve();
				},
				{ once: true }
			);
		});
	}
}
