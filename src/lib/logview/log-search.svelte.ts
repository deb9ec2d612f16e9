/**
 * @module logview/log-search
 * Search over a whole log, done by the server (`/search`): the exact count of matching lines,
 * the current match with next/previous (more matches are fetched as the reader steps past the
 * ones held), and the match ranges of each line for highlighting in place.
 */
import { ApiClient, isAbortError } from '$lib/api';
import { rangesByLine } from './outline-index';
import type { LogSearchMatch } from './types';

/** matches fetched per request */
export const SEARCH_PAGE = 1_000;

export type SearchPhase = 'idle' | 'searching' | 'done' | 'error';

export interface LogSearchOptions {
	api?: ApiClient;
	pageSize?: number;
}

export interface SearchInput {
	query: string;
	regex: boolean;
	caseSensitive: boolean;
}

export class LogSearch {
	readonly executionId: string;

	#input = $state<SearchInput>({ query: '', regex: false, caseSensitive: false });
	#total = $state(0);
	#matches = $state.raw<LogSearchMatch[]>([]);
	#truncated = $state(false);
	/** index of the current match among all `total` matching lines; -1 when none */
	#current = $state(-1);
	#phase = $state<SearchPhase>('idle');
	#error = $state<string | null>(null);

	readonly #api: ApiClient;
	readonly #pageSize: number;
	#abort = new AbortController();
	#destroyed = false;
	readonly #byLine = $derived(rangesByLine(this.#matches));

	constructor(executionId: string, options: LogSearchOptions = {}) {
		this.executionId = executionId;
		this.#api = options.api ?? new ApiClient();
		this.#pageSize = options.pageSize ?? SEARCH_PAGE;
	}

	get input(): SearchInput {
		return this.#input;
	}
	get total(): number {
		return this.#total;
	}
	get phase(): SearchPhase {
		return this.#phase;
	}
	get error(): string | null {
		return this.#error;
	}
	/** 0-based index of the current match, -1 when there is none */
	get current(): number {
		return this.#current;
	}
	/** the line of the current match */
	get currentLine(): number | null {
		return this.#matches[this.#current]?.line ?? null;
	}
	get active(): boolean {
		return this.#phase !== 'idle';
	}

	/** Match ranges on `line` (offsets into its display text), if it matches. */
	rangesOn(line: number): [number, number][] | undefined {
		return this.#byLine.get(line);
	}

	/** Runs a search; resolves with the line of the first match (null when none). */
	async run(input: SearchInput): Promise<number | null> {
		this.#abort.abort();
		this.#abort = new AbortController();
		this.#input = { ...input };
		if (input.query === '') {
			this.clear();
			return null;
		}
		this.#phase = 'searching';
		this.#error = null;
		try {
			const res = await this.#api.searchLog(
				this.executionId,
				{ q: input.query, regex: input.regex, caseSensitive: input.caseSensitive, limit: this.#pageSize },
				this.#abort.signal
			);
			this.#total = res.total;
			this.#matches = res.matches;
			this.#truncated = res.truncated;
			this.#current = res.matches.length ? 0 : -1;
			this.#phase = 'done';
			return this.currentLine;
		} catch (err) {
			if (isAbortError(err) || this.#destroyed) return null;
			this.#phase = 'error';
			this.#error = err instanceof Error ? err.message : String(err);
			this.#total = 0;
			this.#matches = [];
			this.#current = -1;
			return null;
		}
	}

	/** Steps to the next matching line (wrapping once all are held); resolves with its line. */
	async next(): Promise<number | null> {
		if (this.#total === 0) return null;
		if (this.#current + 1 < this.#matches.length) this.#current++;
		else if (this.#truncated && (await this.#fetchMore())) this.#current++;
		else this.#current = 0;
		return this.currentLine;
	}

	/** Steps to the previous matching line. */
	async previous(): Promise<number | null> {
		if (this.#total === 0) return null;
		if (this.#current > 0) this.#current--;
		else if (!this.#truncated) this.#current = this.#matches.length - 1;
		return this.currentLine;
	}

	clear(): void {
		this.#abort.abort();
		this.#phase = 'idle';
		this.#error = null;
		this.#total = 0;
		this.#matches = [];
		this.#truncated = false;
		this.#current = -1;
	}

	destroy(): void {
		this.#destroyed = true;
		this.#abort.abort();
	}

	async #fetchMore(): Promise<boolean> {
		const last = this.#matches.at(-1);
		if (!last) return false;
		try {
			const res = await this.#api.searchLog(
				this.executionId,
				{
					q: this.#input.query,
					regex: this.#input.regex,
					caseSensitive: this.#input.caseSensitive,
					limit: this.#pageSize,
					after: last.line
				},
				this.#abort.signal
			);
			this.#matches = this.#matches.concat(res.matches);
			this.#truncated = res.truncated;
			return res.matches.length > 0;
		} catch (err) {
			if (!isAbortError(err)) this.#error = err instanceof Error ? err.message : String(err);
			return false;
		}
	}
}
