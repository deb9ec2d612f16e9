/**
 * @module store/log-search
 * Search over a whole log, not only what a page has loaded. Lines are matched as a terminal shows
 * them (`displayText`: ANSI stripped, `\r` applied, tabs expanded) so match offsets line up with
 * what the browser draws.
 *
 * Keeping the server responsive on millions of lines: the scan reads a chunk of lines at a time and
 * has it matched by a worker thread of the regex pool (store/regex-pool.ts), so other requests and
 * the hub go on while it matches. Surviving a hostile regex: a chunk over the pool's time limit has
 * its worker terminated (V8 stops even a catastrophically backtracking RegExp), which ends the
 * search with `search_timeout`; and a caller runs only a few regex searches at once, the node a
 * few more (store/search-slots.ts: `too_many_searches`, `search_busy`, with a time to retry after).
 * A whole search has a time budget too (also `search_timeout`), and a signal
 * (the request's) that ends it when the client goes away: both are checked between chunks, so no
 * read follows them. The matching line numbers of recent searches are cached per log and pattern,
 * and extended by the lines stored since, so next/previous through the matches costs no rescan; a
 * scan that stops (over budget, aborted, or a chunk over the pattern's time limit) keeps what it
 * found, and the next search of the pattern continues it.
 *
 * A line may be 64 KiB: the lines whose match ranges an answer reports are loaded a batch at a
 * time up to a budget of characters, and an answer that reaches it ends early (`truncated`), so
 * the next page (`after` its last line) continues with no gap.
 */
import type { LogSearchMatch, LogSearchResponse, LogStreamFilter } from '../../protocol/api';
import type { LogLine } from '../../protocol/models';
import { createRegexPool, DEFAULT_REGEX_TIME_LIMIT_MS, type RegexPool } from './regex-pool';
import { SearchSlots, type SearchSlot } from './search-slots';
import type { Store } from './types';

export { matchRanges } from './search-match';

export interface LogSearchQuery {
	q: string;
	regex?: boolean;
	caseSensitive?: boolean;
	/** matches returned (the count is always exact) */
	limit?: number;
	/** only matches on lines numbered greater than this */
	after?: number;
	stream?: LogStreamFilter;
	/** ends the search between chunks, rejecting with the signal's reason (the client went away) */
	signal?: AbortSignal;
	/** who searches (a token, a session, an address): whose share of regex searches this takes */
	caller?: string;
}

export interface LogSearchOptions {
	/** lines read and matched per step between yields */
	chunkLines?: number;
	/** where chunks are matched; without one the searcher starts its own (stopped by `close()`) */
	pool?: RegexPool;
	/** the time limit of a pool of its own: longest time one chunk may take to match */
	chunkTimeoutMs?: number;
	/** regex searches one caller runs at once */
	regexSearchesPerCaller?: number;
	/** regex searches the node runs at once */
	regexSearches?: number;
	/** longest time a whole search may scan; beyond it the search ends with `search_timeout` */
	timeoutMs?: number;
	/** characters of line text one answer loads to find match ranges (at least one line is loaded) */
	loadChars?: number;
	/** recent searches whose matching line numbers are kept */
	cacheEntries?: number;
}

export const DEFAULT_SEARCH_CHUNK_LINES = 2_000;
export const DEFAULT_SEARCH_CHUNK_TIMEOUT_MS = DEFAULT_REGEX_TIME_LIMIT_MS;
/** what a refused search is told to wait before it searches again */
export const SEARCH_RETRY_AFTER_S = 1;
export const DEFAULT_SEARCH_TIMEOUT_MS = 30_000;
/** 2 Mi characters: a page of 10,000 ordinary lines, or 32 lines of 64 KiB */
export const DEFAULT_SEARCH_LOAD_CHARS = 2 * 1024 * 1024;
export const DEFAULT_SEARCH_CACHE_ENTRIES = 16;
/** lines read at a time while loading an answer's lines: the most read past the character budget */
const LOAD_BATCH_LINES = 64;
export const MAX_PATTERN_LENGTH = 1_000;
/** matching line numbers kept over all cached searches; older searches are dropped beyond it */
export const MAX_CACHED_MATCHES = 4_000_000;

export class LogSearchError extends Error {
	override readonly name = 'LogSearchError';
	constructor(
		readonly code: 'invalid_regex' | 'search_timeout' | 'invalid_query' | 'too_many_searches' | 'search_busy',
		message: string,
		/** seconds to wait before searching again (the refusals, which may pass) */
		readonly retryAfterS?: number
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

interface CacheEntry {
	/** matching line numbers, ascending */
	lines: number[];
	/** the last line number scanned */
	scannedTo: number;
	/** scans of one entry run one after the other */
	busy: Promise<void>;
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** how a scan ended: at the end of the log, or stopped between chunks */
type ScanEnd = 'done' | 'aborted' | 'over_budget';

export class LogSearcher {
	#store: Store;
	#options: Required<Omit<LogSearchOptions, 'pool' | 'regexSearchesPerCaller' | 'regexSearches'>>;
	#cache = new Map<string, CacheEntry>();
	#pool: RegexPool | null;
	/** a pool of its own, started with the first search */
	#ownPool: RegexPool | null = null;
	#slots: SearchSlots;

	constructor(store: Store, options: LogSearchOptions = {}) {
		this.#store = store;
		this.#options = {
			chunkLines: DEFAULT_SEARCH_CHUNK_LINES,
			chunkTimeoutMs: DEFAULT_SEARCH_CHUNK_TIMEOUT_MS,
			timeoutMs: DEFAULT_SEARCH_TIMEOUT_MS,
			loadChars: DEFAULT_SEARCH_LOAD_CHARS,
			cacheEntries: DEFAULT_SEARCH_CACHE_ENTRIES,
			...options
		};
		this.#pool = options.pool ?? null;
		this.#slots = new SearchSlots({
			perCaller: options.regexSearchesPerCaller,
			total: options.regexSearches
		});
	}

	/** stops the pool it started itself (one handed in is its owner's to close); idempotent */
	async close(): Promise<void> {
		await this.#ownPool?.close();
	}

	/**
	 * @throws LogSearchError for an empty or invalid pattern, one too slow to run, or a search over
	 * its time budget; the signal's reason when it is aborted
	 * @example await searcher.search('exec_1', { q: 'error', limit: 100, signal: request.signal })
	 */
	async search(executionId: string, query: LogSearchQuery): Promise<LogSearchResponse> {
		const re = compilePattern(query.q, query.regex, query.caseSensitive);
		// plain text matches in linear time; a regex may cost a worker its time limit on every chunk
		const slot = query.regex ? this.#take(query.caller ?? '') : null;
		try {
			return await this.#search(executionId, re, query);
		} finally {
			slot?.release();
		}
	}

	#take(caller: string): SearchSlot {
		const slot = this.#slots.take(caller);
		if (slot === 'caller') {
			throw new LogSearchError(
				'too_many_searches',
				`You are running ${this.#slots.perCaller} regular-expression searches already; wait for them to end (or cancel them) and search again.`,
				SEARCH_RETRY_AFTER_S
			);
		}
		if (slot === 'total') {
			throw new LogSearchError(
				'search_busy',
				`The server is running ${this.#slots.total} regular-expression searches already; search again in a moment.`,
				SEARCH_RETRY_AFTER_S
			);
		}
		return slot;
	}

	async #search(executionId: string, re: RegExp, query: LogSearchQuery): Promise<LogSearchResponse> {
		const stream = query.stream ?? 'both';
		const key = [executionId, stream, re.flags, re.source].join('\0');
		const entry = this.#entry(key);
		const deadline = performance.now() + this.#options.timeoutMs;
		const scan = entry.busy.then(() => this.#scan(executionId, stream, re, entry, deadline, query.signal));
		entry.busy = scan.then(
			() => undefined,
			() => undefined
		);
		let end: ScanEnd;
		try {
			end = await scan;
		} catch (err) {
			// the entry keeps every chunk matched before this one failed: a search again continues it
			if (isLogSearchError(err) && err.code === 'search_timeout') {
				throw new LogSearchError(
					'search_timeout',
					`${err.message} The scan stopped after line ${entry.scannedTo}; searching again continues from there.`
				);
			}
			throw err;
		}
		query.signal?.throwIfAborted();
		if (end === 'over_budget') {
			throw new LogSearchError(
				'search_timeout',
				`The search took longer than ${this.#options.timeoutMs} ms and stopped after line ${entry.scannedTo}. Search again to continue from there, or narrow the pattern.`
			);
		}
		// a page reads the entry and never changes it, so one that fails leaves the scan to the next
		return this.#page(executionId, re, entry, query);
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

	/** checks the signal and the deadline before each read, so a stopped scan reads no further */
	async #scan(
		executionId: string,
		stream: LogStreamFilter,
		re: RegExp,
		entry: CacheEntry,
		deadline: number,
		signal: AbortSignal | undefined
	): Promise<ScanEnd> {
		const stop = (): ScanEnd | null =>
			signal?.aborted ? 'aborted' : performance.now() >= deadline ? 'over_budget' : null;
		let end = stop();
		if (end) return end;
		const chunks = this.#store.scanLogText(executionId, {
			after: entry.scannedTo,
			chunk: this.#options.chunkLines,
			stream: stream === 'both' ? undefined : stream
		});
		for await (const lines of chunks) {
			const found = await this.#matched(lines.length, (pool) => pool.matchingLines(re, lines));
			for (const n of found) entry.lines.push(n);
			entry.scannedTo = lines[lines.length - 1][0];
			await yieldToEventLoop();
			// leaving the loop ends the generator (its return()), so no further read runs
			if ((end = stop())) return end;
		}
		return 'done';
	}

	get #matcher(): RegexPool {
		if (this.#pool) return this.#pool;
		this.#ownPool ??= createRegexPool({ timeLimitMs: this.#options.chunkTimeoutMs });
		return this.#ownPool;
	}

	/** runs a chunk's matching in the pool, telling a pattern over the time limit as `search_timeout` */
	async #matched<T>(lineCount: number, job: (pool: RegexPool) => Promise<T>): Promise<T> {
		const pool = this.#matcher;
		try {
			return await job(pool);
		} catch (err) {
			const code =
				(err as { name?: string; code?: string }).name === 'RegexPoolError' && (err as { code: string }).code;
			if (code === 'regex_timeout') {
				throw new LogSearchError(
					'search_timeout',
					`The pattern took longer than ${pool.timeLimitMs} ms on ${lineCount} lines (catastrophic backtracking?). Simplify the regular expression, e.g. avoid nested quantifiers like (a+)+.`
				);
			}
			if (code === 'regex_busy') {
				throw new LogSearchError(
					'search_busy',
					`The server has too many searches waiting to be matched; search again in a moment.`,
					SEARCH_RETRY_AFTER_S
				);
			}
			throw err;
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
		const matches: LogSearchMatch[] = [];
		let loaded = 0;
		/** of `wanted`: how many are answered (or were missing) */
		let taken = 0;
		let full = false;
		while (taken < wanted.length && !full) {
			const asked = wanted.slice(taken, taken + LOAD_BATCH_LINES);
			const lines: LogLine[] = [];
			for (const line of await this.#store.readLogLinesAt(executionId, asked)) {
				// at least one line, however long
				full = matches.length + lines.length > 0 && loaded + line.text.length > this.#options.loadChars;
				if (full) break;
				loaded += line.text.length;
				lines.push(line);
			}
			if (!full) taken += asked.length;
			else if (lines.length) taken = wanted.indexOf(lines[lines.length - 1].n, taken) + 1;
			// every range of a line can backtrack where finding its first match did not
			const pairs = lines.map((line): [number, string] => [line.n, line.text]);
			for (const match of await this.#matched(lines.length, (pool) => pool.lineMatches(re, pairs)))
				matches.push(match);
		}
		return { total: all.length, matches, truncated: lo + taken < all.length };
	}
}
