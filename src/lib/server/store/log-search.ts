/**
 * @module store/log-search
 * Search over a whole log, not only what a page has loaded. Lines are matched as a terminal shows
 * them (`displayText`: ANSI stripped, `\r` applied, tabs expanded) so match offsets line up with
 * what the browser draws.
 *
 * Keeping the server responsive on millions of lines: the scan reads and matches a chunk of lines
 * at a time and yields to the event loop between chunks (`setImmediate`), so other requests and
 * the hub go on. Surviving a hostile regex: each chunk is matched inside `vm` with a timeout, which
 * V8 enforces even inside a catastrophically backtracking RegExp; a timeout ends the search with
 * `search_timeout`. The matching line numbers of recent searches are cached per log and pattern,
 * and extended by the lines stored since, so next/previous through the matches costs no rescan.
 */
import vm from 'node:vm';
import type { LogSearchMatch, LogSearchResponse, LogStreamFilter } from '../../protocol/api';
import { displayText } from '../../log/terminal';
import type { Store } from './types';

export interface LogSearchQuery {
	q: string;
	regex?: boolean;
	caseSensitive?: boolean;
	/** matches returned (the count is always exact) */
	limit?: number;
	/** only matches on lines numbered greater than this */
	after?: number;
	stream?: LogStreamFilter;
}

export interface LogSearchOptions {
	/** lines read and matched per step between yields */
	chunkLines?: number;
	/** longest time one chunk may take to match; beyond it the pattern is judged hostile */
	chunkTimeoutMs?: number;
	/** recent searches whose matching line numbers are kept */
	cacheEntries?: number;
}

export const DEFAULT_SEARCH_CHUNK_LINES = 2_000;
export const DEFAULT_SEARCH_CHUNK_TIMEOUT_MS = 1_000;
export const DEFAULT_SEARCH_CACHE_ENTRIES = 16;
export const MAX_PATTERN_LENGTH = 1_000;
/** matching line numbers kept over all cached searches; older searches are dropped beyond it */
export const MAX_CACHED_MATCHES = 4_000_000;

export class LogSearchError extends Error {
	override readonly name = 'LogSearchError';
	constructor(
		readonly code: 'invalid_regex' | 'search_timeout' | 'invalid_query',
		message: string
	) {
		super(message);
	}
}

/**
 * The searcher is built by server.ts and routes load their own copy of this module, so
 * `instanceof` fails across them; the name and code do not.
 */
export function isLogSearchError(err: unknown): err is LogSearchError {
	return (
		err instanceof Error && err.name === 'LogSearchError' && typeof (err as LogSearchError).code === 'string'
	);
}

/** The RegExp a query searches with (global, so every range is found). */
export function compilePattern(q: string, regex = false, caseSensitive = false): RegExp {
	if (q.length === 0)
		throw new LogSearchError('invalid_query', 'The search text "q" is empty; give something to search for.');
	if (q.length > MAX_PATTERN_LENGTH) {
		throw new LogSearchError(
			'invalid_query',
			`The search text is ${q.length} characters long; at most ${MAX_PATTERN_LENGTH} are allowed.`
		);
	}
	const source = regex ? q : q.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
	try {
		return new RegExp(source, caseSensitive ? 'g' : 'gi');
	} catch (err) {
		const reason = (err as Error).message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, '');
		throw new LogSearchError(
			'invalid_regex',
			`Invalid regular expression ${JSON.stringify(q)}: ${reason}. Fix the pattern, or search with regex=0 for plain text.`
		);
	}
}

/** `[start, end)` of every non-empty match of `re` (global) in `text` */
export function matchRanges(re: RegExp, text: string): [number, number][] {
	const ranges: [number, number][] = [];
	re.lastIndex = 0;
	for (let m = re.exec(text); m !== null; m = re.exec(text)) {
		if (m[0].length === 0) re.lastIndex++;
		else ranges.push([m.index, m.index + m[0].length]);
	}
	return ranges;
}

/** whether `text` has a non-empty match of `re` (global) */
function hasMatch(re: RegExp, text: string): boolean {
	re.lastIndex = 0;
	for (let m = re.exec(text); m !== null; m = re.exec(text)) {
		if (m[0].length > 0) return true;
		re.lastIndex++;
	}
	return false;
}

interface CacheEntry {
	/** matching line numbers, ascending */
	lines: number[];
	/** the last line number scanned */
	scannedTo: number;
	/** scans of one entry run one after the other */
	busy: Promise<void>;
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export class LogSearcher {
	#store: Store;
	#options: Required<LogSearchOptions>;
	#cache = new Map<string, CacheEntry>();
	#context = vm.createContext({ job: () => undefined });
	#script = new vm.Script('job()');

	constructor(store: Store, options: LogSearchOptions = {}) {
		this.#store = store;
		this.#options = {
			chunkLines: DEFAULT_SEARCH_CHUNK_LINES,
			chunkTimeoutMs: DEFAULT_SEARCH_CHUNK_TIMEOUT_MS,
			cacheEntries: DEFAULT_SEARCH_CACHE_ENTRIES,
			...options
		};
	}

	/**
	 * @throws LogSearchError for an empty or invalid pattern, or one too slow to run
	 * @example await searcher.search('exec_1', { q: 'error', limit: 100 })
	 */
	async search(executionId: string, query: LogSearchQuery): Promise<LogSearchResponse> {
		const re = compilePattern(query.q, query.regex, query.caseSensitive);
		const stream = query.stream ?? 'both';
		const key = [executionId, stream, re.flags, re.source].join('\0');
		const entry = this.#entry(key);
		const scan = entry.busy.then(() => this.#scan(executionId, stream, re, entry));
		entry.busy = scan.catch(() => undefined);
		try {
			await scan;
			return await this.#page(executionId, re, entry, query);
		} catch (err) {
			this.#cache.delete(key);
			throw err;
		}
	}

	#entry(key: string): CacheEntry {
		let entry = this.#cache.get(key);
		if (entry) {
			this.#cache.delete(key); // re-inserted below as the most recent
		} else {
			entry = { lines: [], scannedTo: 0, busy: Promise.resolve() };
		}
		this.#cache.set(key, entry);
		let cached = 0;
		for (const other of this.#cache.values()) cached += other.lines.length;
		while (
			this.#cache.size > 1 &&
			(this.#cache.size > this.#options.cacheEntries || cached > MAX_CACHED_MATCHES)
		) {
			const oldest = this.#cache.keys().next().value!;
			cached -= this.#cache.get(oldest)!.lines.length;
			this.#cache.delete(oldest);
		}
		return entry;
	}

	async #scan(executionId: string, stream: LogStreamFilter, re: RegExp, entry: CacheEntry): Promise<void> {
		const chunks = this.#store.scanLogText(executionId, {
			after: entry.scannedTo,
			chunk: this.#options.chunkLines,
			stream: stream === 'both' ? undefined : stream
		});
		for await (const lines of chunks) {
			this.#matchChunk(re, lines, entry.lines);
			entry.scannedTo = lines[lines.length - 1][0];
			await yieldToEventLoop();
		}
	}

	#matchChunk(re: RegExp, lines: [number, string][], into: number[]): void {
		const found: number[] = [];
		this.#bounded(lines.length, () => {
			for (const [n, text] of lines) if (hasMatch(re, displayText(text))) found.push(n);
		});
		for (const n of found) into.push(n);
	}

	/** runs `job` under the chunk timeout (V8 interrupts even a backtracking RegExp) */
	#bounded(lineCount: number, job: () => void): void {
		this.#context.job = job;
		try {
			this.#script.runInContext(this.#context, { timeout: this.#options.chunkTimeoutMs });
		} catch (err) {
			if ((err as { code?: string }).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') {
				throw new LogSearchError(
					'search_timeout',
					`The pattern took longer than ${this.#options.chunkTimeoutMs} ms on ${lineCount} lines (catastrophic backtracking?). Simplify the regular expression, e.g. avoid nested quantifiers like (a+)+.`
				);
			}
			throw err;
		} finally {
			this.#context.job = () => undefined;
		}
	}

	async #page(
		executionId: string,
		re: RegExp,
		entry: CacheEntry,
		query: LogSearchQuery
	): Promise<LogSearchResponse> {
		const after = query.after ?? 0;
		const limit = Math.max(1, query.limit ?? 1000);
		const all = entry.lines;
		let lo = 0;
		let hi = all.length;
		while (lo < hi) {
			const mid = (lo + hi) >>> 1;
			if (all[mid] <= after) lo = mid + 1;
			else hi = mid;
		}
		const wanted = all.slice(lo, lo + limit);
		const lines = await this.#store.readLogLinesAt(executionId, wanted);
		// every range of a line can backtrack where finding its first match did not
		let matches: LogSearchMatch[] = [];
		this.#bounded(lines.length, () => {
			matches = lines.map((line) => ({ line: line.n, ranges: matchRanges(re, displayText(line.text)) }));
		});
		return { total: all.length, matches, truncated: lo + limit < all.length };
	}
}
