/**
 * @module logview/log-viewer
 * What one open log panel shows, on top of the execution's {@link ExecutionLog}: its outline and
 * folds, a search, follow mode with the count of lines that arrived while the reader looked
 * elsewhere, the highlighted line (from a `#L123` link or a jump), timestamps on or off, and
 * the mapping between view rows and log positions (folded groups take no rows, a progress-bar
 * run takes one).
 */
import { ApiClient } from '$lib/api';
import type { ExecutionLog } from '$lib/realtime/execution-log.svelte';
import { FoldMap, hiddenRanges } from './folding';
import { LogOutline, type LogOutlineOptions } from './log-outline.svelte';
import { LogSearch } from './log-search.svelte';
import type { LogFilter } from './types';

const TIMESTAMPS_KEY = 'aco.log.timestamps';
const COMMANDS_KEY = 'aco.log.commands';

export interface LogViewerOptions {
	api?: ApiClient;
	storage?: LogOutlineOptions['storage'];
	/** a line to open at (from the URL), instead of following the end */
	line?: number | null;
}

/** A request to the viewport to bring a row into view; `seq` makes repeated jumps to one row distinct. */
export interface ScrollRequest {
	row: number;
	seq: number;
	/** put the row at the top (not a third of the way down) */
	top?: boolean;
}

export class LogViewer {
	readonly log: ExecutionLog;
	readonly outline: LogOutline;
	readonly search: LogSearch;

	#following = $state(true);
	/** `log.total` when the reader stopped following */
	#seen = $state(0);
	#highlight = $state<number | null>(null);
	#timestamps = $state(false);
	/** show workflow command lines as printed (off: they take no row) */
	#showCommands = $state(false);
	#scrollRequest = $state<ScrollRequest | null>(null);

	readonly #storage: LogOutlineOptions['storage'];
	readonly #teardown: (() => void)[] = [];
	#seq = 0;
	#topRow = 0;

	readonly #folds = $derived.by(() =>
		this.log.filter === 'both'
			? new FoldMap(
					hiddenRanges(
						this.outline.groups,
						this.outline.collapsed,
						this.log.total,
						this.outline.progress,
						this.#showCommands ? [] : this.outline.commands
					)
				)
			: new FoldMap()
	);

	constructor(log: ExecutionLog, options: LogViewerOptions = {}) {
		this.log = log;
		const api = options.api ?? new ApiClient();
		this.outline = new LogOutline(log.executionId, { api, storage: options.storage });
		this.search = new LogSearch(log.executionId, { api });
		this.#storage = options.storage === undefined ? globalThis.localStorage : options.storage;
		this.#timestamps = this.#storage?.getItem(TIMESTAMPS_KEY) === '1';
		this.#showCommands = this.#storage?.getItem(COMMANDS_KEY) === '1';
		if (options.line) {
			this.#following = false;
			this.#highlight = options.line;
		}
	}

	get following(): boolean {
		return this.#following;
	}
	/** lines that arrived since the reader stopped following */
	get unseen(): number {
		return this.#following ? 0 : Math.max(0, this.log.total - this.#seen);
	}
	get highlight(): number | null {
		return this.#highlight;
	}
	get timestamps(): boolean {
		return this.#timestamps;
	}
	get showCommands(): boolean {
		return this.#showCommands;
	}
	get scrollRequest(): ScrollRequest | null {
		return this.#scrollRequest;
	}
	/** rows the view has (folded lines take none) */
	get rows(): number {
		return this.#folds.rowCount(this.log.total);
	}

	/** Opens the log (and its outline); a `line` from the URL is scrolled to once the size is known. */
	start(): void {
		this.log.open();
		this.#teardown.push(this.log.onOutlineChange(() => this.outline.scheduleRefresh()));
		this.#teardown.push(this.log.onLiveLine((line, previous) => this.outline.noteLive(line, previous)));
		const target = this.#highlight;
		if (target !== null) this.jumpTo(target);
		// remembered folds change which row shows the target: aim again once they are known
		void this.outline.load().then(() => {
			if (target !== null && this.#highlight === target) this.jumpTo(target);
		});
	}

	destroy(): void {
		for (const off of this.#teardown.splice(0)) off();
		this.outline.destroy();
		this.search.destroy();
	}

	rowToPos(row: number): number {
		return this.#folds.rowToLine(row);
	}

	posToRow(pos: number): number {
		return this.#folds.lineToRow(pos);
	}

	/** The viewport reports where it is: at the bottom follows, anywhere else pauses. */
	noteScroll(atBottom: boolean): void {
		if (atBottom === this.#following) return;
		this.#following = atBottom;
		this.#seen = this.log.total;
	}

	/** Back to the end, following new lines. */
	follow(): void {
		this.#following = true;
		this.#highlight = null;
		this.#seen = this.log.total;
	}

	pause(): void {
		if (!this.#following) return;
		this.#following = false;
		this.#seen = this.log.total;
	}

	/** Scrolls to a line number and highlights it, unfolding its group; shows all streams. */
	jumpTo(line: number): void {
		if (this.log.filter !== 'both') this.log.setFilter('both');
		this.outline.reveal(line);
		this.pause();
		const row = this.posToRow(line);
		// a progress bar's older state is drawn over: its run's row (the newest state) stands in
		this.#highlight = this.#folds.isHidden(line) ? this.rowToPos(row) : line;
		this.#scrollRequest = { row, seq: ++this.#seq };
	}

	/** Marks a line (its number was clicked) without moving the view. */
	highlightLine(line: number): void {
		this.#highlight = line;
	}

	setFilter(filter: LogFilter): void {
		this.log.setFilter(filter);
		this.#highlight = null;
		if (filter !== 'both') this.search.clear();
		this.#scrollRequest = this.#following ? null : { row: 0, seq: ++this.#seq };
	}

	toggleTimestamps(): void {
		this.#timestamps = !this.#timestamps;
		try {
			this.#storage?.setItem(TIMESTAMPS_KEY, this.#timestamps ? '1' : '0');
		} catch {
			// not remembered; still applies now
		}
	}

	/** Shows or hides workflow command lines; the view stays on the line it showed. */
	toggleCommands(): void {
		const anchor = this.#following ? null : this.rowToPos(this.#topRow);
		this.#showCommands = !this.#showCommands;
		try {
			this.#storage?.setItem(COMMANDS_KEY, this.#showCommands ? '1' : '0');
		} catch {
			// not remembered; still applies now
		}
		if (anchor !== null) this.#scrollRequest = { row: this.posToRow(anchor), seq: ++this.#seq, top: true };
	}

	/** The viewport reports its top row, so a change of what is hidden can keep the view in place. */
	noteTopRow(row: number): void {
		this.#topRow = row;
	}

	toggleGroup(start: number): void {
		this.outline.toggle(start);
	}

	/** Runs the search and jumps to the first match. */
	async find(query: string, regex: boolean, caseSensitive: boolean): Promise<void> {
		const line = await this.search.run({ query, regex, caseSensitive });
		if (line !== null) this.jumpTo(line);
	}

	async findNext(): Promise<void> {
		const line = await this.search.next();
		if (line !== null) this.jumpTo(line);
	}

	async findPrevious(): Promise<void> {
		const line = await this.search.previous();
		if (line !== null) this.jumpTo(line);
	}
}
