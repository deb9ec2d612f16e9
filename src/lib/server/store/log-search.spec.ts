import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { LogLine } from '../../protocol';
import { DEFAULT_SEARCH_LOAD_CHARS, LogSearcher, type LogSearchOptions } from './log-search';
import { RegexPoolError, type RegexPool } from './regex-pool';
import { lineMatches, matchingLines } from './search-match';
import { STORE_KINDS, useExecutionStore } from '../../../../tests/helpers/store-backends';
import type { Store } from './types';

const TS = '2024-01-01T00:00:00.000Z';

async function appendLines(store: Store, executionId: string, count: number, text: (n: number) => string) {
	for (let from = 1; from <= count; from += 10_000) {
		const lines: LogLine[] = [];
		for (let n = from; n < Math.min(from + 10_000, count + 1); n++)
			lines.push({ n, stream: 'stdout', ts: TS, text: text(n) });
		await store.appendLogLines(executionId, lines);
	}
}

interface Reads {
	/** chunks the scan has read */
	chunks: number;
	/** characters of line text each `readLogLinesAt` call returned */
	loaded: number[];
}

/** the store, counting the search's reads and running `onChunk` after each chunk it hands on */
function watched(store: Store, onChunk: (reads: Reads) => Promise<void> | void = () => {}): [Store, Reads] {
	const reads: Reads = { chunks: 0, loaded: [] };
	const proxy = new Proxy(store, {
		get(target, prop, receiver) {
			if (prop === 'scanLogText') {
				return async function* (...args: Parameters<Store['scanLogText']>) {
					for await (const chunk of target.scanLogText(...args)) {
						reads.chunks++;
						await onChunk(reads);
						yield chunk;
					}
				};
			}
			if (prop === 'readLogLinesAt') {
				return async (...args: Parameters<Store['readLogLinesAt']>) => {
					const lines = await target.readLogLinesAt(...args);
					reads.loaded.push(lines.reduce((sum, line) => sum + line.text.length, 0));
					return lines;
				};
			}
			const value: unknown = Reflect.get(target, prop, receiver);
			return typeof value === 'function' ? value.bind(target) : value;
		}
	});
	return [proxy, reads];
}

/**
 * a pool on this thread whose matching runs over its time limit when `overLimit` says so (asked
 * once per call, counting `lines` and `ranges` calls apart from 1)
 */
function flakyPool(overLimit: (op: 'lines' | 'ranges', call: number) => boolean): RegexPool {
	const calls = { lines: 0, ranges: 0 };
	const timedOut = () => new RegexPoolError('regex_timeout', 'over the time limit');
	return {
		timeLimitMs: 1_000,
		async matchingLines(re, lines) {
			if (overLimit('lines', ++calls.lines)) throw timedOut();
			return matchingLines(re, lines);
		},
		async lineMatches(re, lines) {
			if (overLimit('ranges', ++calls.ranges)) throw timedOut();
			return lineMatches(re, lines);
		},
		close: async () => {}
	};
}

describe.each(STORE_KINDS)('%s store: a search of a large log', (kind) => {
	const current = useExecutionStore(kind);
	let store: Store;
	let executionId: string;
	beforeEach(() => ({ store, executionId } = current));
	const searchers: LogSearcher[] = [];
	/** a searcher with its own regex pool, closed after the test */
	const searcherOf = (searchStore: Store, options?: LogSearchOptions) => {
		const searcher = new LogSearcher(searchStore, options);
		searchers.push(searcher);
		return searcher;
	};
	afterEach(async () => {
		await Promise.all(searchers.splice(0).map((s) => s.close()));
	});

	it('stops reading the log once its signal is aborted, and a search again continues the scan', async () => {
		await appendLines(store, executionId, 100_000, (n) => (n % 10 === 0 ? `error ${n}` : `ok ${n}`));
		const controller = new AbortController();
		const [watchedStore, reads] = watched(store, ({ chunks }) => {
			if (chunks === 3) controller.abort();
		});
		const searcher = searcherOf(watchedStore, { chunkLines: 1_000 });
		await expect(
			searcher.search(executionId, { q: 'error', signal: controller.signal })
		).rejects.toMatchObject({
			name: 'AbortError'
		});
		await new Promise((resolve) => setTimeout(resolve, 50));
		expect(reads.chunks).toBe(3);

		const result = await searcher.search(executionId, { q: 'error', limit: 1 });
		expect(result.total).toBe(10_000);
		expect(reads.chunks).toBe(100);
	});

	it('answers search_timeout once the whole search is over its time budget, and a search again continues', async () => {
		await appendLines(store, executionId, 20_000, (n) => `line ${n}`);
		// each chunk of the first search takes 2 s, on a clock of the test's that nothing else moves
		// (real time passing on a loaded machine would end the search a chunk early)
		let slow = true;
		let skew = 0;
		const start = performance.now();
		const clock = vi.spyOn(performance, 'now').mockImplementation(() => start + skew);
		try {
			const [watchedStore, reads] = watched(store, () => {
				if (slow) skew += 2_000;
			});
			const searcher = searcherOf(watchedStore, { chunkLines: 1_000, timeoutMs: 5_000 });
			await expect(searcher.search(executionId, { q: 'line 1' })).rejects.toMatchObject({
				code: 'search_timeout',
				message: expect.stringContaining('stopped after line 3000')
			});
			expect(reads.chunks).toBe(3);

			slow = false;
			expect((await searcher.search(executionId, { q: 'line 1' })).total).toBe(11_111);
			expect(reads.chunks).toBe(20);
		} finally {
			clock.mockRestore();
		}
	});

	it('continues after a chunk over the pattern’s time limit when searched again, so retries get through a large log', async () => {
		await appendLines(store, executionId, 20_000, (n) => `line ${n}`);
		const [watchedStore, reads] = watched(store);
		// every 4th chunk handed to matching runs over the time limit (a loaded node, a slow pattern)
		const pool = flakyPool((op, call) => op === 'lines' && call % 4 === 0);
		const searcher = searcherOf(watchedStore, { chunkLines: 1_000, pool });
		const first: unknown = await searcher.search(executionId, { q: 'line 1' }).catch((err: unknown) => err);
		expect(first).toMatchObject({ code: 'search_timeout' });
		expect(reads.chunks).toBe(4);

		let timeouts = 1;
		let total: number | null = null;
		while (total === null && timeouts < 20) {
			try {
				total = (await searcher.search(executionId, { q: 'line 1' })).total;
			} catch (err) {
				expect(err).toMatchObject({ code: 'search_timeout' });
				timeouts++;
			}
		}
		expect(total).toBe(11_111);
		// each of the 20 chunks is read once, and once more for each time it ran over
		expect(reads.chunks).toBe(20 + timeouts);
		// and the first answer said how far it had got
		expect((first as Error).message).toContain('stopped after line 3000');
	});

	it('keeps the scan when finding an answer’s match ranges runs over the time limit, so a search again reads no chunk', async () => {
		await appendLines(store, executionId, 20_000, (n) => `line ${n}`);
		const [watchedStore, reads] = watched(store);
		const searcher = searcherOf(watchedStore, {
			chunkLines: 1_000,
			pool: flakyPool((op, call) => op === 'ranges' && call === 1)
		});
		await expect(searcher.search(executionId, { q: 'line 1', limit: 10 })).rejects.toMatchObject({
			code: 'search_timeout'
		});
		expect(reads.chunks).toBe(20);

		const result = await searcher.search(executionId, { q: 'line 1', limit: 10 });
		expect(result.total).toBe(11_111);
		expect(result.matches.map((match) => match.line)).toEqual([1, 10, 11, 12, 13, 14, 15, 16, 17, 18]);
		expect(reads.chunks).toBe(20);
	});

	it('loads the lines of an answer up to a character budget, and the next page continues with no gap', async () => {
		// 200 lines of 64 KiB, every one a match
		await appendLines(store, executionId, 200, (n) => `${n}:`.padEnd(64 * 1024, 'ab'));
		const [watchedStore, reads] = watched(store);
		const searcher = searcherOf(watchedStore);
		const seen: number[] = [];
		let after = 0;
		for (let page = 0; page < 50; page++) {
			reads.loaded = [];
			const result = await searcher.search(executionId, { q: ':', limit: 10_000, after });
			expect(result.total).toBe(200);
			expect(result.matches.length).toBeGreaterThan(0);
			// what it answers fits the budget; what it reads passes it by one batch of lines at most
			expect(result.matches.length * 64 * 1024).toBeLessThanOrEqual(DEFAULT_SEARCH_LOAD_CHARS);
			expect(reads.loaded.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(
				DEFAULT_SEARCH_LOAD_CHARS + 64 * 64 * 1024
			);
			for (const match of result.matches) {
				expect(match.ranges).toEqual([[String(match.line).length, String(match.line).length + 1]]);
				seen.push(match.line);
			}
			after = result.matches[result.matches.length - 1].line;
			if (!result.truncated) break;
		}
		expect(seen).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
	});

	it('matches a hostile regex off the event loop: a timer fires while it backtracks, then search_timeout ends it', async () => {
		// (a+)+$ backtracks 2^40 ways on each line: only the time limit ends a chunk
		await appendLines(store, executionId, 50, () => 'a'.repeat(40) + '!');
		// a timer set as the chunk is handed to matching: on this thread (under vm) it could fire only
		// after the search had ended
		let ended = false;
		let firedFirst: Promise<boolean> | null = null;
		const [watchedStore] = watched(store, () => {
			firedFirst ??= new Promise((resolve) => setTimeout(() => resolve(!ended), 1));
		});
		const searcher = searcherOf(watchedStore, { chunkTimeoutMs: 1_000 });
		const search = searcher.search(executionId, { q: '(a+)+$', regex: true }).finally(() => (ended = true));
		await expect(search).rejects.toMatchObject({ code: 'search_timeout' });
		expect(await firedFirst).toBe(true);
	});

	it('runs a caller’s regex searches a few at a time and refuses more with too_many_searches', async () => {
		await appendLines(store, executionId, 50, () => 'a'.repeat(40) + '!');
		const searcher = searcherOf(store, { chunkTimeoutMs: 500, regexSearchesPerCaller: 1 });
		const hostile = expect(
			searcher.search(executionId, { q: '(a+)+$', regex: true, caller: 'a' })
		).rejects.toMatchObject({ code: 'search_timeout' });
		await expect(searcher.search(executionId, { q: 'a!', regex: true, caller: 'a' })).rejects.toMatchObject({
			code: 'too_many_searches',
			retryAfterS: 1
		});
		// another caller, and plain text, search meanwhile
		expect((await searcher.search(executionId, { q: 'a!', regex: true, caller: 'b' })).total).toBe(50);
		expect((await searcher.search(executionId, { q: 'a!', caller: 'a' })).total).toBe(50);
		await hostile;
		expect((await searcher.search(executionId, { q: 'a!', regex: true, caller: 'a' })).total).toBe(50);
	});
});
