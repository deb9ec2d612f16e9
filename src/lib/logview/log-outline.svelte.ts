/**
 * @module logview/log-outline
 * A log's `::group::` sections, `::error::`/`::warning::`/`::notice::` annotations and progress-bar
 * runs (read from the server's `/outline`, kept at ingest, so cheap on any log size; runs also
 * followed from live lines, so a bar stays one row between loads), and which groups the reader
 * folded — remembered per execution in localStorage.
 */
import { ApiClient, isAbortError } from '$lib/api';
import { MAX_OUTLINE_ENTRIES, MAX_OUTLINE_MARKS } from '$lib/protocol';
import { progressInfo, progressStep } from '$lib/log/progress-runs';
import {
	NO_LINES,
	annotationsByLine,
	groupEnds,
	groupsByStart,
	mergeProgress,
	parseCollapsed,
	revealing,
	toggled
} from './outline-index';
import { isHiddenCommand, isLogMark } from './commands';
import type { LogAnnotation, LogCommandRange, LogGroup, LogLine, LogProgressRun } from './types';

const STORAGE_PREFIX = 'aco.log.folds.';
/** live output with many commands asks for the outline at most this often */
const REFRESH_DELAY_MS = 500;
/** live run starts and ends remembered between loads (a load brings them all anyway) */
const MAX_LIVE_RUN_EVENTS = 10_000;

export interface LogOutlineOptions {
	api?: ApiClient;
	storage?: Pick<Storage, 'getItem' | 'setItem'> | null;
	refreshDelayMs?: number;
}

function browserStorage(): Pick<Storage, 'getItem' | 'setItem'> | null {
	try {
		return typeof localStorage === 'undefined' ? null : localStorage;
	} catch {
		return null; // storage disabled (privacy settings): folds are not remembered
	}
}

export class LogOutline {
	readonly executionId: string;

	#groups = $state.raw<LogGroup[]>([]);
	#annotations = $state.raw<LogAnnotation[]>([]);
	#collapsed = $state.raw<ReadonlySet<number>>(NO_LINES);
	#serverProgress = $state.raw<LogProgressRun[]>([]);
	#liveStarts = $state.raw<number[]>([]);
	#liveCloses = $state.raw<number[]>([]);
	#serverCommands = $state.raw<LogCommandRange[]>([]);
	/**
	 * command lines seen live past what the last load covered, so they never show before the next
	 * one comes: ranges in line order, changed in place (a line at a time, often), so a counter
	 * tells the view
	 */
	readonly #liveCommands: LogCommandRange[] = [];
	#liveCommandsChanged = $state(0);
	/**
	 * The server reads an outline from its first MAX_OUTLINE_MARKS marks only, so command lines
	 * past the last of them show after a reload: the marks the last load read (null: a server that
	 * does not say, and has no such limit to follow), the mark lines seen live after them (in
	 * order; as many as can still count), and from those the line past which no command line is
	 * hidden.
	 */
	#serverMarks: { count: number; last: number } | null = { count: 0, last: 0 };
	readonly #liveMarks: number[] = [];
	#commandsThrough = Infinity;

	readonly #api: ApiClient;
	readonly #storage: Pick<Storage, 'getItem' | 'setItem'> | null;
	readonly #refreshDelayMs: number;
	readonly #abort = new AbortController();
	#timer: ReturnType<typeof setTimeout> | null = null;
	#loading = false;
	#again = false;

	constructor(executionId: string, options: LogOutlineOptions = {}) {
		this.executionId = executionId;
		this.#api = options.api ?? new ApiClient();
		this.#storage = options.storage === undefined ? browserStorage() : options.storage;
		this.#refreshDelayMs = options.refreshDelayMs ?? REFRESH_DELAY_MS;
		this.#collapsed = this.#restore();
	}

	get groups(): LogGroup[] {
		return this.#groups;
	}
	get annotations(): LogAnnotation[] {
		return this.#annotations;
	}
	/** start lines of the folded groups */
	get collapsed(): ReadonlySet<number> {
		return this.#collapsed;
	}

	/** workflow command lines a viewer hides (server ranges plus live lines since) */
	get commands(): LogCommandRange[] {
		return this.#commands;
	}

	/** progress-bar runs, each shown as its last line */
	get progress(): LogProgressRun[] {
		return this.#progress;
	}

	/** The group whose `::group::` line is `line`. */
	groupAt(line: number): LogGroup | undefined {
		return this.#groupsByStart.get(line);
	}
	/** The annotation on `line`. */
	annotationAt(line: number): LogAnnotation | undefined {
		return this.#annotationsByLine.get(line);
	}
	/** Whether `line` ends a group (its `::endgroup::`). */
	isGroupEnd(line: number): boolean {
		return this.#groupEnds.has(line);
	}

	readonly #groupsByStart = $derived(groupsByStart(this.#groups));
	readonly #groupEnds = $derived(groupEnds(this.#groups));
	readonly #annotationsByLine = $derived(annotationsByLine(this.#annotations));
	readonly #progress = $derived(mergeProgress(this.#serverProgress, this.#liveStarts, this.#liveCloses));
	readonly #commands = $derived.by(() => {
		void this.#liveCommandsChanged;
		return mergeCommands(this.#serverCommands, this.#liveCommands);
	});

	async load(): Promise<void> {
		if (this.#loading) {
			this.#again = true;
			return;
		}
		this.#loading = true;
		try {
			do {
				this.#again = false;
				const outline = await this.#api.getLogOutline(this.executionId, this.#abort.signal);
				this.#groups = outline.groups;
				this.#annotations = outline.annotations;
				this.#serverProgress = outline.progress ?? [];
				this.#serverCommands = outline.commands ?? [];
				this.#serverMarks = outline.marks ?? null;
				this.#forgetCovered(this.#serverCommands.at(-1)?.end ?? 0, outline.commands_through);
			} while (this.#again);
		} catch (err) {
			// the outline is an aid: the log still shows without it
			if (!isAbortError(err) && !this.#abort.signal.aborted) console.warn('log outline', err);
		} finally {
			this.#loading = false;
		}
	}

	/** Loads again soon (live output carried a group or annotation). */
	scheduleRefresh(): void {
		if (this.#timer) return;
		this.#timer = setTimeout(() => {
			this.#timer = null;
			void this.load();
		}, this.#refreshDelayMs);
	}

	/**
	 * A live line (and the one numbered before it, when held): opens or ends a progress run at
	 * once, so the bar stays one row; the next load confirms it.
	 */
	noteLive(line: LogLine, previous: LogLine | undefined): void {
		if (isLogMark(line.text)) this.#noteMark(line.n);
		if (line.n <= this.#commandsThrough && isHiddenCommand(line.text) && !this.#serverHolds(line.n)) {
			const room = this.#commandRoom(this.#liveCommands[0]?.start ?? line.n);
			if (addCommandLine(this.#liveCommands, line.n, room)) this.#liveCommandsChanged++;
		}
		// the line before not held (a gap, a filtered view): the rule cannot be applied, the server can
		if (previous === undefined) {
			if (line.partial || this.#progress.at(-1)?.end === null) this.scheduleRefresh();
			return;
		}
		// most lines: neither a snapshot nor after one
		if (!line.partial && !previous.partial) return;
		const step = progressStep(progressInfo(previous), progressInfo(line));
		if (step.closeAt !== null) {
			this.#liveCloses = [...this.#liveCloses.slice(1 - MAX_LIVE_RUN_EVENTS), step.closeAt];
		}
		if (step.start) this.#liveStarts = [...this.#liveStarts.slice(1 - MAX_LIVE_RUN_EVENTS), line.n];
		this.scheduleRefresh();
	}

	toggle(start: number): void {
		this.#setCollapsed(toggled(this.#collapsed, start));
	}

	/** Unfolds every group that hides `line`, so a jump can land on it. */
	reveal(line: number): void {
		const next = revealing(this.#collapsed, this.#groups, line);
		if (next.size !== this.#collapsed.size) this.#setCollapsed(next);
	}

	destroy(): void {
		this.#abort.abort();
		if (this.#timer) clearTimeout(this.#timer);
		this.#timer = null;
	}

	/**
	 * Ranges the live lines may hold: the server lists the FIRST command ranges, so past them a
	 * command line shows (a reload shows it too); dropping the oldest instead would turn a hidden
	 * line near the top back into a row with every new one, moving what a reader looks at.
	 */
	#commandRoom(first = this.#liveCommands[0]?.start): number {
		const last = this.#serverCommands.at(-1);
		// a live range right after the server's last one joins it: it takes no room of its own
		const joined = last !== undefined && first === last.end + 1 ? 1 : 0;
		return Math.max(0, MAX_OUTLINE_ENTRIES - this.#serverCommands.length + joined);
	}

	/** A live line that makes a mark: the one that reaches MAX_OUTLINE_MARKS is the last a reload reads. */
	#noteMark(n: number): void {
		const marks = this.#serverMarks;
		const live = this.#liveMarks;
		// read by the last load already, or out of order (a gap filled later: the next load counts it)
		if (!marks || n <= marks.last || n <= (live.at(-1) ?? 0)) return;
		if (marks.count + live.length >= MAX_OUTLINE_MARKS) return;
		live.push(n);
		if (marks.count + live.length === MAX_OUTLINE_MARKS) this.#setCommandsThrough(n);
	}

	/** whether the last load's command ranges hold line `n` */
	#serverHolds(n: number): boolean {
		const ranges = this.#serverCommands;
		if (n > (ranges.at(-1)?.end ?? 0)) return false;
		let lo = 0;
		let hi = ranges.length - 1;
		while (lo <= hi) {
			const mid = (lo + hi) >> 1;
			if (ranges[mid].end < n) lo = mid + 1;
			else if (ranges[mid].start > n) hi = mid - 1;
			else return true;
		}
		return false;
	}

	/**
	 * Live command lines up to `covered` are the server's outline's to list now; those past
	 * `commandsThrough` (where it stopped reading) it will not list.
	 */
	#forgetCovered(covered: number, commandsThrough: number | undefined): void {
		const live = this.#liveCommands;
		const after = live.findIndex((r) => r.end > covered);
		live.splice(0, after < 0 ? live.length : after);
		if (live.length > 0 && live[0].start <= covered) live[0] = { start: covered + 1, end: live[0].end };
		// the ranges the load brought leave less room
		live.splice(this.#commandRoom());
		// the mark lines seen live that this load read are in its count
		const marks = this.#serverMarks;
		const liveMarks = this.#liveMarks;
		if (!marks) liveMarks.length = 0;
		else {
			const unread = liveMarks.findIndex((n) => n > marks.last);
			liveMarks.splice(0, unread < 0 ? liveMarks.length : unread);
			liveMarks.splice(Math.max(0, MAX_OUTLINE_MARKS - marks.count));
		}
		const lastRead = marks ? liveMarks[MAX_OUTLINE_MARKS - marks.count - 1] : undefined;
		this.#setCommandsThrough(commandsThrough ?? lastRead ?? Infinity);
		this.#liveCommandsChanged++;
	}

	/** No live command line past `n` is hidden: a reload's outline would not list it. */
	#setCommandsThrough(n: number): void {
		this.#commandsThrough = n;
		const live = this.#liveCommands;
		while (live.length > 0 && live[live.length - 1].start > n) live.pop();
		const last = live.at(-1);
		if (last && last.end > n) live[live.length - 1] = { start: last.start, end: n };
		this.#liveCommandsChanged++;
	}

	#setCollapsed(next: ReadonlySet<number>): void {
		this.#collapsed = next;
		try {
			this.#storage?.setItem(STORAGE_PREFIX + this.executionId, JSON.stringify([...next]));
		} catch {
			// quota or privacy mode: the fold still applies for this visit
		}
	}

	#restore(): ReadonlySet<number> {
		try {
			return parseCollapsed(this.#storage?.getItem(STORAGE_PREFIX + this.executionId));
		} catch {
			return NO_LINES; // storage refused to read
		}
	}
}

/**
 * Adds line `n` to `ranges` (in line order, apart, each consecutive lines), in place, as the
 * server builds them: a line next to a range extends it; a new range only while there are fewer
 * than `max` (never at the cost of one held already). Returns whether `ranges` changed.
 */
export function addCommandLine(ranges: LogCommandRange[], n: number, max: number): boolean {
	const last = ranges.at(-1);
	if (!last || n > last.end + 1) {
		if (ranges.length >= max) return false;
		ranges.push({ start: n, end: n });
		return true;
	}
	// rare past here: a line seen again, or one before the newest (a gap filled later)
	const at = ranges.findIndex((r) => r.end >= n - 1);
	const range = ranges[at];
	if (range.start <= n && n <= range.end) return false;
	if (n === range.end + 1) {
		range.end = n;
		const next = ranges[at + 1];
		if (next?.start === n + 1) ranges.splice(at, 2, { start: range.start, end: next.end });
	} else if (n === range.start - 1) {
		range.start = n;
	} else {
		// full: pushing the last range out would show its hidden lines again, moving what a reader
		// looks at; this line shows instead until the next load lists it
		if (ranges.length >= max) return false;
		ranges.splice(at, 0, { start: n, end: n });
	}
	return true;
}

/**
 * The server's command ranges and the live ones, as one list in line order (ranges that touch
 * joined), at most MAX_OUTLINE_ENTRIES of them: the first, as the server keeps.
 */
export function mergeCommands(
	server: readonly LogCommandRange[],
	live: readonly LogCommandRange[]
): LogCommandRange[] {
	if (live.length === 0) return server as LogCommandRange[];
	const out: LogCommandRange[] = [];
	let i = 0;
	let j = 0;
	while (i < server.length || j < live.length) {
		const next =
			j >= live.length || (i < server.length && server[i].start <= live[j].start) ? server[i++] : live[j++];
		const last = out.at(-1);
		if (last && next.start <= last.end + 1) last.end = Math.max(last.end, next.end);
		else if (out.length < MAX_OUTLINE_ENTRIES) out.push({ ...next });
		else break;
	}
	return out;
}
