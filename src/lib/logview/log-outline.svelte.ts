/**
 * @module logview/log-outline
 * A log's `::group::` sections and `::error::`/`::warning::`/`::notice::` annotations (read from
 * the server's `/outline`, kept at ingest, so cheap on any log size), and which groups the reader
 * folded — remembered per execution in localStorage.
 */
import { ApiClient, isAbortError } from '$lib/api';
import {
	NO_LINES,
	annotationsByLine,
	groupEnds,
	groupsByStart,
	parseCollapsed,
	revealing,
	toggled
} from './outline-index';
import type { LogAnnotation, LogGroup } from './types';

const STORAGE_PREFIX = 'aco.log.folds.';
/** live output with many commands asks for the outline at most this often */
const REFRESH_DELAY_MS = 500;

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
