/**
 * @module realtime/execution-log
 * One execution's log as the page holds it, at any size: a bounded window of lines
 * ({@link LineCache}) filled by range requests for what the reader looks at, and by the lines of
 * live `tool.lines` events. Line numbers decide everything: a line is stored under its number, so a
 * backlog page and a live line can never duplicate each other, and a live line numbered past the
 * newest known one tells how many lines exist (the lines in between are fetched).
 *
 * The owner subscribes BEFORE calling {@link ExecutionLog.open}. Lines arriving while the first
 * page loads are kept; the page then only adds what they do not cover.
 *
 * Positions: with the `both` filter a position is a line number; with `stdout` or `stderr` it is
 * the 1-based index of a line within that stream (the server's `index=k` is position k + 1).
 *
 * Rendering cost is decoupled from the line rate: lines go into the cache as they come, and the
 * reactive counters (`total`, `version`) change at most once per animation frame.
 */
import { stripAnsi } from '$lib/log/ansi';
import { ApiClient, isAbortError } from '$lib/api';
import { DEFAULT_PAGE_SIZE, LineCache } from '$lib/logview/line-cache';
import type { LogFilter, LogLine, LogLinesResponse } from '$lib/logview/types';

/** lines kept in memory per execution (the window around the viewport) */
export const DEFAULT_MAX_LINES = 20_000;
/** a page the server could not fill completely (it lags the live event) is asked again after this */
const REFETCH_DELAY_MS = 400;
/** how often a stream-filtered view re-reads its tail while lines arrive */
const STREAM_REFRESH_MS = 250;
/** a workflow command that changes the outline (groups, annotations) */
const OUTLINE_COMMAND = /^::(?:group|endgroup|error|warning|notice)\b/;
/**
 * a fetched line the outline may not know yet: a command it lists, one the view hides (the live
 * ones are noted as they come), or a piece of a progress run
 */
const OUTLINE_LINE = /^\s*::(?:group|endgroup|error|warning|notice|progress|add-mask)\b/i;

/** `previous`: the line numbered `line.n - 1`, when held */
export type LiveLineListener = (line: LogLine, previous: LogLine | undefined) => void;

export type LogPhase = 'idle' | 'loading' | 'live' | 'error';

export interface ExecutionLogOptions {
	api?: ApiClient;
	/** lines kept in memory */
	maxLines?: number;
	pageSize?: number;
	/** lines known to exist already (the execution's `line_count`) */
	lineCount?: number;
	refetchDelayMs?: number;
	/** runs a publish at the next frame (requestAnimationFrame in a browser) */
	frame?: (callback: () => void) => void;
}

function defaultFrame(callback: () => void): void {
	if (typeof requestAnimationFrame === 'function') requestAnimationFrame(callback);
	else queueMicrotask(callback);
}

export class ExecutionLog {
	readonly executionId: string;

	#filter = $state<LogFilter>('both');
	#total = $state(0);
	#lastLine = $state(0);
	#version = $state(0);
	#phase = $state<LogPhase>('idle');
	#error = $state<string | null>(null);

	readonly #api: ApiClient;
	readonly #cache: LineCache;
	readonly #refetchDelayMs: number;
	readonly #frame: (callback: () => void) => void;
	readonly #abort = new AbortController();
	// eslint-disable-next-line svelte/prefer-svelte-reactivity -- bookkeeping, never rendered
	readonly #inflight = new Set<number>();
	// eslint-disable-next-line svelte/prefer-svelte-reactivity -- bookkeeping, never rendered
	readonly #timers = new Set<ReturnType<typeof setTimeout>>();
	readonly #outlineListeners: (() => void)[] = [];
	readonly #lineListeners: LiveLineListener[] = [];
	/** the newest line number known (published as `lastLine` once per frame) */
	#last = 0;
	/** lines in the filtered stream (stdout/stderr filters) */
	#streamTotal = 0;
	/** bumped when the filter changes: answers to older requests are dropped */
	#epoch = 0;
	#publishQueued = false;
	#outlineChanged = false;
	#streamRefreshTimer: ReturnType<typeof setTimeout> | null = null;
	#retryTimer: ReturnType<typeof setTimeout> | null = null;
	/** the positions the view shows, to fetch again what a lagging server could not give */
	#wanted: number[] = [];

	constructor(executionId: string, options: ExecutionLogOptions = {}) {
		const opts = { maxLines: DEFAULT_MAX_LINES, pageSize: DEFAULT_PAGE_SIZE, ...options };
		this.executionId = executionId;
		this.#api = opts.api ?? new ApiClient();
		this.#cache = new LineCache({
			pageSize: opts.pageSize,
			maxPages: Math.ceil(opts.maxLines / opts.pageSize)
		});
		this.#last = opts.lineCount ?? 0;
		this.#lastLine = this.#last;
		this.#total = this.#last;
		this.#refetchDelayMs = opts.refetchDelayMs ?? REFETCH_DELAY_MS;
		this.#frame = opts.frame ?? defaultFrame;
	}

	/** positions in the current filter (the number of lines the view can show) */
	get total(): number {
		return this.#total;
	}
	/** the newest line number (all streams) */
	get lastLine(): number {
		return this.#lastLine;
	}
	/** changes whenever lines held change; read it to re-render */
	get version(): number {
		return this.#version;
	}
	get filter(): LogFilter {
		return this.#filter;
	}
	get phase(): LogPhase {
		return this.#phase;
	}
	get error(): string | null {
		return this.#error;
	}
	/** lines held in memory (bounded) */
	get held(): number {
		void this.#version;
		return this.#cache.size;
	}
	get pageSize(): number {
		return this.#cache.pageSize;
	}

	/** The line at a position, if held. */
	line(pos: number): LogLine | undefined {
		void this.#version;
		return this.#cache.get(pos);
	}

	/**
	 * Calls `listener` with each live line and the line numbered just before it when held (only
	 * with all streams shown: a filtered window holds positions, not line numbers).
	 */
	onLiveLine(listener: LiveLineListener): () => void {
		this.#lineListeners.push(listener);
		return () => {
			const i = this.#lineListeners.indexOf(listener);
			if (i >= 0) this.#lineListeners.splice(i, 1);
		};
	}

	/**
	 * Calls `listener` (at most once per frame) when live output carried a group or annotation
	 * command, or lines fetched to fill a gap carried a command or a progress snapshot.
	 */
	onOutlineChange(listener: () => void): () => void {
		this.#outlineListeners.push(listener);
		return () => {
			const i = this.#outlineListeners.indexOf(listener);
			if (i >= 0) this.#outlineListeners.splice(i, 1);
		};
	}

	/** Loads the last page and goes live. Idempotent. */
	open(): void {
		if (this.#phase !== 'idle') return;
		this.#phase = 'loading';
		void this.#loadTail();
	}

	/** Retry after an error. */
	retry(): void {
		if (this.#phase !== 'error') return;
		this.#phase = 'loading';
		this.#error = null;
		void this.#loadTail();
	}

	/** Shows all lines, or one stream's; the window starts over (positions change meaning). */
	setFilter(filter: LogFilter): void {
		if (filter === this.#filter) return;
		this.#filter = filter;
		this.#epoch++;
		this.#cache.clear();
		this.#inflight.clear();
		this.#streamTotal = 0;
		this.#wanted = [];
		this.#total = filter === 'both' ? this.#last : 0;
		this.#version++;
		if (this.#phase === 'idle') return;
		this.#phase = 'loading';
		void this.#loadTail();
	}

	/**
	 * The lines of one `tool.lines` event, in the order they came. Each is stored and shown to the
	 * line listeners as a lone line was; the work an event needs once (a publish, a stream
	 * re-read, fetching what it skipped) is done once for all of them.
	 */
	pushLines(lines: readonly LogLine[]): void {
		if (lines.length === 0) return;
		// holes: numbers past the newest known line that these lines skip (an event before them was
		// dropped under backpressure, say); an event's own lines follow one another, but a hole
		// between two of them would be found the same way
		const holes: [from: number, to: number][] = [];
		for (const line of lines) {
			if (line.n > this.#last + 1) holes.push([this.#last + 1, line.n - 1]);
			if (line.n > this.#last) this.#last = line.n;
		}
		if (this.#phase === 'idle') {
			this.#schedulePublish();
			return;
		}
		const all = this.#filter === 'both';
		let inStream = false;
		for (const line of lines) {
			if (OUTLINE_COMMAND.test(line.text)) this.#outlineChanged = true;
			// `previous` may be the line before it in this same event: stored just before
			if (this.#lineListeners.length > 0) {
				const before = all ? this.#cache.get(line.n - 1) : undefined;
				for (const listener of this.#lineListeners) listener(line, before);
			}
			if (all) this.#cache.set(line.n, line);
			else if (line.stream === this.#filter) inStream = true;
		}
		if (!all) {
			if (inStream) this.#scheduleStreamRefresh();
		} else if (this.#phase === 'live') {
			for (const [from, to] of holes) this.#fetchGap(from, to);
		}
		this.#schedulePublish();
	}

	/** One live line, as an event of that line alone would bring it. */
	push(line: LogLine): void {
		this.pushLines([line]);
	}

	/** Records that at least `count` lines exist (an execution record); the visible ones get fetched. */
	noteLineCount(count: number): void {
		if (count <= this.#last) return;
		const previous = this.#last;
		this.#last = count;
		// records are rare: publish at once, so a step's line count is right before it is opened
		this.#lastLine = count;
		if (this.#filter === 'both') this.#total = count;
		if (this.#phase === 'idle') return;
		if (this.#filter !== 'both') this.#scheduleStreamRefresh();
		// lines that exist but never came live (they predate the subscription, or were dropped)
		else if (this.#phase === 'live') this.#fetchGap(previous + 1, count);
		this.#schedulePublish();
	}

	/** After a reconnect: learn what came since the newest line held (or load it, if that failed). */
	resync(): void {
		if (this.#phase === 'error') {
			this.retry();
			return;
		}
		this.refetchFrom(this.#last + 1);
	}

	/**
	 * Forgets the lines held from `line` on and reads them again (after `dropped` notices or a
	 * reconnect, when live lines may be missing with no later line to reveal the hole).
	 */
	refetchFrom(line: number): void {
		if (this.#phase === 'idle') return;
		if (this.#filter !== 'both') {
			this.#scheduleStreamRefresh();
			return;
		}
		const from = Math.max(1, line);
		this.#cache.dropFrom(from);
		void this.#fetch({ from, limit: this.pageSize }, from);
	}

	/**
	 * Fetches what the view needs: call with the positions on screen (and a margin). Pages already
	 * held or on their way are not asked again; the cache keeps the pages around these.
	 */
	ensure(positions: readonly number[]): void {
		this.#wanted = positions.slice();
		if (!positions.length) return;
		this.#cache.focus(positions[Math.floor(positions.length / 2)]);
		if (this.#phase !== 'live') return;
		const total = this.#filter === 'both' ? this.#last : this.#streamTotal;
		// eslint-disable-next-line svelte/prefer-svelte-reactivity -- a local, never rendered
		const pages = new Set<number>();
		for (const pos of positions) {
			if (pos < 1 || pos > total || this.#cache.has(pos)) continue;
			pages.add(this.#cache.pageOf(pos));
		}
		for (const page of pages) {
			if (this.#inflight.has(page)) continue;
			const first = page * this.pageSize + 1;
			const query = this.#filter === 'both' ? { from: first } : { index: first - 1 };
			void this.#fetch({ ...query, limit: this.pageSize }, first, page);
		}
	}

	/** The whole log as plain text for Copy: from memory when every line is held, else from the server. */
	async wholeText(): Promise<{ text: string; lines: number }> {
		const held = this.#filter === 'both' ? this.#cache.prefix(this.#last) : null;
		if (held) {
			// a partial line (a piece of an overlong line, a progress snapshot) runs on into the
			// next: no newline at the split, as in the download
			let text = '';
			let lines = 0;
			held.forEach((line, i) => {
				text += stripAnsi(line.text);
				if (!line.partial) lines++;
				if (i < held.length - 1 && !line.partial) text += '\n';
			});
			if (held.at(-1)?.partial) lines++;
			return { text, lines };
		}
		const text = await this.#api.getLogText(this.executionId, 'strip', this.#abort.signal);
		const body = text.endsWith('\n') ? text.slice(0, -1) : text;
		return { text: body, lines: body === '' ? 0 : body.split('\n').length };
	}

	destroy(): void {
		this.#abort.abort();
		for (const timer of this.#timers) clearTimeout(timer);
		this.#timers.clear();
		this.#cache.clear();
	}

	async #loadTail(): Promise<void> {
		const epoch = this.#epoch;
		try {
			const stream = this.#filter;
			const res = await this.#api.getLogRange(
				this.executionId,
				{ tail: this.pageSize, limit: this.pageSize, stream },
				this.#abort.signal
			);
			if (epoch !== this.#epoch) return;
			this.#apply(res, 0);
			this.#phase = 'live';
			this.#error = null;
			this.#schedulePublish();
			// lines may have arrived while the page was on its way, and the view may want others
			this.ensure(this.#wanted);
		} catch (err) {
			if (isAbortError(err) || this.#abort.signal.aborted || epoch !== this.#epoch) return;
			this.#phase = 'error';
			this.#error = err instanceof Error ? err.message : String(err);
		}
	}

	/** Stores a page. `firstPos` is the position of its first line when known (> 0), for stream filters. */
	#apply(res: LogLinesResponse, firstPos: number): void {
		if (res.last_line > this.#last) this.#last = res.last_line;
		if (this.#filter === 'both') {
			for (const line of res.lines) {
				if (line.n > this.#last) this.#last = line.n;
				this.#cache.set(line.n, line);
			}
			return;
		}
		this.#streamTotal = res.total;
		const first =
			typeof res.first_index === 'number'
				? res.first_index + 1
				: firstPos > 0
					? firstPos
					: res.total - res.lines.length + 1;
		res.lines.forEach((line, i) => this.#cache.set(first + i, line));
	}

	async #fetch(
		query: { from?: number; index?: number; tail?: number; limit: number },
		firstPos: number,
		page?: number
	): Promise<void> {
		const epoch = this.#epoch;
		if (page !== undefined) this.#inflight.add(page);
		try {
			const res = await this.#api.getLogRange(
				this.executionId,
				{ ...query, stream: this.#filter },
				this.#abort.signal
			);
			if (epoch !== this.#epoch) return;
			this.#apply(res, firstPos);
			// lines that never came live (a gap, a refetch; not a filtered view's tail, re-read as
			// lines come): what the outline knows may predate them
			const filling = page === undefined && query.tail === undefined;
			if (filling && res.lines.some((line) => line.partial || OUTLINE_LINE.test(line.text))) {
				this.#outlineChanged = true;
			}
			this.#schedulePublish();
			// the server may not have stored every line it has announced yet: ask again shortly
			if (page !== undefined && !this.#cache.isComplete(page, this.#currentTotal())) this.#scheduleRetry();
		} catch (err) {
			if (isAbortError(err) || this.#abort.signal.aborted) return;
			this.#scheduleRetry();
		} finally {
			if (page !== undefined && epoch === this.#epoch) this.#inflight.delete(page);
		}
	}

	#fetchGap(from: number, to: number): void {
		// only the newest page of a long hole: the rest is fetched if the reader scrolls there
		const start = Math.max(from, to - this.pageSize + 1);
		void this.#fetch({ from: start, limit: to - start + 1 }, start);
	}

	#currentTotal(): number {
		return this.#filter === 'both' ? this.#last : this.#streamTotal;
	}

	#scheduleRetry(): void {
		if (this.#retryTimer) return;
		this.#retryTimer = this.#timer(() => {
			this.#retryTimer = null;
			this.ensure(this.#wanted);
		}, this.#refetchDelayMs);
	}

	#scheduleStreamRefresh(): void {
		if (this.#streamRefreshTimer || this.#phase !== 'live') return;
		this.#streamRefreshTimer = this.#timer(() => {
			this.#streamRefreshTimer = null;
			void this.#fetch({ tail: this.pageSize, limit: this.pageSize }, 0);
		}, STREAM_REFRESH_MS);
	}

	#timer(callback: () => void, ms: number): ReturnType<typeof setTimeout> {
		const timer = setTimeout(() => {
			this.#timers.delete(timer);
			callback();
		}, ms);
		this.#timers.add(timer);
		return timer;
	}

	#schedulePublish(): void {
		if (this.#publishQueued) return;
		this.#publishQueued = true;
		this.#frame(() => {
			this.#publishQueued = false;
			if (this.#abort.signal.aborted) return;
			this.#lastLine = this.#last;
			this.#total = this.#currentTotal();
			this.#version++;
			if (this.#outlineChanged) {
				this.#outlineChanged = false;
				for (const listener of this.#outlineListeners) listener();
			}
		});
	}
}
