/**
 * @module logview/log-outline
 * A log's `::group::` sections, `::error::`/`::warning::`/`::notice::` annotations and progress-bar
 * runs (read from the server's `/outline`, kept at ingest, so cheap on any log size; runs also
 * followed from live lines, so a bar stays one row between loads), and which groups the reader
 * folded — remembered per execution in localStorage.
 */
import { ApiClient, isAbortError } from '$lib/api';
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
import { isHiddenCommand } from './commands';
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
	/** command lines seen live since the last load, so they never show before it comes */
	#liveCommands = $state.raw<number[]>([]);

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
	readonly #commands = $derived(mergeCommands(this.#serverCommands, this.#liveCommands));

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
				const covered = this.#serverCommands.at(-1)?.end ?? 0;
				this.#liveCommands = this.#liveCommands.filter((n) => n > covered);
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
		if (isHiddenCommand(line.text)) this.#liveCommands = [...this.#liveCommands.slice(1 - MAX_LIVE_RUN_EVENTS), line.n];
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

/** The server's command ranges plus live command lines after them (or between, unseen), in order. */
export function mergeCommands(server: readonly LogCommandRange[], live: readonly number[]): LogCommandRange[] {
	if (live.length === 0) return server as LogCommandRange[];
	const ranges = server.map((r) => ({ ...r }));
	for (const n of [...live].sort((a, b) => a - b)) {
		const last = ranges.at(-1);
		if (last && n >= last.start && n <= last.end) continue;
		if (last && n === last.end + 1) last.end = n;
		else if (!last || n > last.end) ranges.push({ start: n, end: n });
		else {
			// earlier than the last range: insert in order (rare: a gap filled later)
			const at = ranges.findIndex((r) => r.start > n);
			ranges.splice(at, 0, { start: n, end: n });
		}
	}
	return ranges;
}
