import { beforeEach, describe, expect, it } from 'vitest';
import { MAX_LOG_PAGE_LINES, type LogLine } from '../../protocol';
import { DEFAULT_PAGE_SIZE } from '../../logview/line-cache';
import { MAX_OUTLINE_MARKS } from './log-marks';
import { LOG_PAGE_JSON_CHARS } from './log-pages';
import { LogSearcher } from './log-search';
import { STORE_KINDS, useExecutionStore } from '../../../../tests/helpers/store-backends';
import { createStandaloneTask, createTestExecution } from './test-records';
import type { LogPage, LogPageQuery, Store } from './types';

const TS = '2024-01-01T00:00:00.000Z';

/** lines 1..count; every 3rd on stderr */
function mixed(count: number, text = (n: number) => `line ${n}`, from = 1): LogLine[] {
	return Array.from({ length: count }, (_, i) => {
		const n = from + i;
		return { n, stream: n % 3 === 0 ? 'stderr' : 'stdout', ts: TS, text: text(n) };
	});
}

describe.each(STORE_KINDS)('%s store: log pages, outline and search', (kind) => {
	const current = useExecutionStore(kind);
	let store: Store;
	let executionId: string;
	beforeEach(() => ({ store, executionId } = current));

	it('pages by line number, by stream index, from a line number within a stream, and as a tail', async () => {
		await store.appendLogLines(executionId, mixed(30));
		const numbers = (page: { lines: LogLine[] }) => page.lines.map((l) => l.n);

		const from = await store.readLogPage(executionId, { from: 10, limit: 3 });
		expect(from).toMatchObject({ total: 30, last_line: 30, first_index: 9 });
		expect(numbers(from)).toEqual([10, 11, 12]);

		const stderr = await store.readLogPage(executionId, { stream: 'stderr', index: 2, limit: 2 });
		expect(stderr).toMatchObject({ total: 10, last_line: 30, first_index: 2 });
		expect(numbers(stderr)).toEqual([9, 12]);

		// line 10 is stdout: the first stderr line from it is 12, the 4th stderr line
		const stderrFrom = await store.readLogPage(executionId, { stream: 'stderr', from: 10, limit: 2 });
		expect(stderrFrom.first_index).toBe(3);
		expect(numbers(stderrFrom)).toEqual([12, 15]);
		const stdoutFrom = await store.readLogPage(executionId, { stream: 'stdout', from: 9, limit: 2 });
		expect(stdoutFrom).toMatchObject({ total: 20, first_index: 6 });
		expect(numbers(stdoutFrom)).toEqual([10, 11]);

		expect(numbers(await store.readLogPage(executionId, { tail: 4 }))).toEqual([27, 28, 29, 30]);
		expect(numbers(await store.readLogPage(executionId, { stream: 'stdout', tail: 2 }))).toEqual([28, 29]);
		expect(await store.readLogPage(executionId, { from: 31 })).toMatchObject({
			lines: [],
			first_index: null
		});
		expect(await store.readLogPage(executionId, { stream: 'stderr', index: 10 })).toMatchObject({
			lines: []
		});
	});

	it('cuts a page of long lines at a character budget and the next page continues with no gap', async () => {
		// 64 KiB lines of control characters (a `cat` of a binary), most escaped to \u00XX in JSON
		const binary = Array.from({ length: 64 * 1024 }, (_, i) => String.fromCharCode(1 + (i % 31))).join('');
		const lines = Array.from({ length: 600 }, (_, i): LogLine => {
			const n = i + 1;
			return { n, stream: n % 10 === 0 ? 'stdout' : 'stderr', ts: TS, text: binary };
		});
		await store.appendLogLines(executionId, lines);
		const jsonChars = (page: LogPage) =>
			page.lines.reduce((sum, line) => sum + JSON.stringify(line.text).length - 2, 0);

		/** reads page after page as a client continuing after a cut page does */
		const readAll = async (query: LogPageQuery, next: (page: LogPage) => LogPageQuery) => {
			const seen: number[] = [];
			let pages = 0;
			for (
				let page = await store.readLogPage(executionId, query);
				;
				page = await store.readLogPage(executionId, next(page))
			) {
				if (page.lines.length === 0) break;
				pages++;
				expect(jsonChars(page)).toBeLessThanOrEqual(LOG_PAGE_JSON_CHARS);
				expect(page.first_index).toBe(
					query.stream && query.stream !== 'both' ? seen.length : page.lines[0].n - 1
				);
				seen.push(...page.lines.map((l) => l.n));
				if (seen.length >= page.total) break;
			}
			return { seen, pages };
		};
		const limit = MAX_LOG_PAGE_LINES;
		const both = await readAll({ from: 1, limit }, (page) => ({ from: page.lines.at(-1)!.n + 1, limit }));
		expect(both.pages).toBeGreaterThan(1);
		expect(both.seen).toEqual(lines.map((l) => l.n));
		const stderr = await readAll({ stream: 'stderr', index: 0, limit }, (page) => ({
			stream: 'stderr',
			index: page.first_index! + page.lines.length,
			limit
		}));
		expect(stderr.pages).toBeGreaterThan(1);
		expect(stderr.seen).toEqual(lines.filter((l) => l.stream === 'stderr').map((l) => l.n));
		// a tail cut short starts where it should; the rest follows its last line
		const tail = await store.readLogPage(executionId, { tail: 600, limit });
		expect(tail.first_index).toBe(0);
		expect(tail.lines.length).toBeLessThan(600);
		// the browser asks for pages of its own size and fetches a page again until it is whole: never cut
		const browser = await store.readLogPage(executionId, { from: 1, limit: DEFAULT_PAGE_SIZE });
		expect(browser.lines).toHaveLength(DEFAULT_PAGE_SIZE);
	}, 120_000);

	it('keeps stream ranks right across batches and ignores a repeated append', async () => {
		await store.appendLogLines(executionId, mixed(10));
		await store.appendLogLines(executionId, mixed(10));
		await store.appendLogLines(executionId, mixed(5, undefined, 11));
		const page = await store.readLogPage(executionId, { stream: 'stderr', index: 0, limit: 100 });
		expect(page.total).toBe(5);
		expect(page.lines.map((l) => l.n)).toEqual([3, 6, 9, 12, 15]);
	});

	it('stores a batch of more lines than one insert takes, and one that repeats a number within itself', async () => {
		await store.appendLogLines(executionId, mixed(70));
		const repeated = mixed(6, (n) => `again ${n}`, 69);
		await store.appendLogLines(executionId, [
			...mixed(4, undefined, 71),
			repeated[3]!,
			...mixed(6, undefined, 75)
		]);
		const stored = await store.readLogLines(executionId, { limit: 100 });
		expect(stored.map((l) => l.n)).toEqual(Array.from({ length: 80 }, (_, i) => i + 1));
		expect(stored.map((l) => l.text)).toEqual(mixed(80).map((l) => l.text));
		const page = await store.readLogPage(executionId, { stream: 'stderr', index: 0, limit: 100 });
		expect(page.total).toBe(26);
		expect(page.lines.map((l) => l.n)).toEqual(
			mixed(80)
				.filter((l) => l.stream === 'stderr')
				.map((l) => l.n)
		);
		expect((await store.getExecution(executionId))!.line_count).toBe(80);
	});

	it('iterates one stream in chunks', async () => {
		await store.appendLogLines(executionId, mixed(100));
		const seen: number[] = [];
		for await (const chunk of store.iterateLogLines(executionId, { stream: 'stderr', chunk: 7, after: 50 })) {
			seen.push(...chunk.map((l) => l.n));
		}
		expect(seen).toEqual(
			mixed(100)
				.filter((l) => l.stream === 'stderr' && l.n > 50)
				.map((l) => l.n)
		);
	});

	it('keeps partial lines flagged', async () => {
		await store.appendLogLines(executionId, [
			{ n: 1, stream: 'stdout', ts: TS, text: ' 10%\r 20%', partial: true },
			{ n: 2, stream: 'stdout', ts: TS, text: '\r100%' }
		]);
		expect(await store.readLogLines(executionId)).toEqual([
			{ n: 1, stream: 'stdout', ts: TS, text: ' 10%\r 20%', partial: true },
			{ n: 2, stream: 'stdout', ts: TS, text: '\r100%' }
		]);
	});

	it('builds the outline from the lines stored, groups not nesting', async () => {
		const texts = [
			'::group::Install',
			'x',
			'::endgroup::',
			'::error file=a.ts,line=3::Boom',
			'::group::Build',
			'::warning::careful',
			'::group::Test',
			'::notice::ok'
		];
		await store.appendLogLines(
			executionId,
			mixed(texts.length, (n) => texts[n - 1])
		);
		expect(await store.readLogOutline(executionId)).toEqual({
			groups: [
				{ name: 'Install', start: 1, end: 3 },
				{ name: 'Build', start: 5, end: 6 },
				{ name: 'Test', start: 7, end: null }
			],
			annotations: [
				{ line: 4, level: 'error', message: 'Boom', file: 'a.ts', file_line: 3 },
				{ line: 6, level: 'warning', message: 'careful' },
				{ line: 8, level: 'notice', message: 'ok' }
			],
			progress: [],
			commands: [{ start: 3, end: 3 }],
			marks: { count: 7, last: 8 },
			truncated: false
		});
	});

	it('lists the lines of workflow commands that only act, consecutive ones as one range', async () => {
		const texts = [
			'::progress value=10::start',
			'::add-mask::s3cret',
			'output',
			'::group::G',
			'::endgroup::',
			'::progress value=50::',
			'::nonsense::not a command',
			'::progress value=90::'
		];
		await store.appendLogLines(
			executionId,
			mixed(texts.length, (n) => texts[n - 1])
		);
		const outline = await store.readLogOutline(executionId);
		expect(outline.commands).toEqual([
			{ start: 1, end: 2 },
			{ start: 5, end: 6 },
			{ start: 8, end: 8 }
		]);
		expect(outline.groups).toEqual([{ name: 'G', start: 4, end: 5 }]);
	});

	it('reads nothing of one stream past its last line, and nothing of an empty log', async () => {
		await store.appendLogLines(executionId, mixed(10));
		const empty = (await createTestExecution(store, (await createStandaloneTask(store)).id)).id;
		const read = async (id: string, query: { after: number; stream: 'stdout' | 'stderr' }) => {
			const seen: number[] = [];
			for await (const chunk of store.scanLogText(id, query)) seen.push(...chunk.map(([n]) => n));
			for await (const chunk of store.iterateLogLines(id, query)) seen.push(...chunk.map((l) => l.n));
			return seen;
		};
		// line 10 is stdout: no line follows it
		expect(await read(executionId, { after: 10, stream: 'stdout' })).toEqual([]);
		expect(await read(executionId, { after: 9, stream: 'stderr' })).toEqual([]);
		expect(await read(empty, { after: 0, stream: 'stdout' })).toEqual([]);
		expect(await store.readLogPage(executionId, { stream: 'stderr', from: 10 })).toMatchObject({
			total: 3,
			first_index: null,
			lines: []
		});
	});

	it('searches one stream again, and from past its last line, once the log ends on it', async () => {
		await store.appendLogLines(executionId, mixed(10));
		const searcher = new LogSearcher(store);
		const first = await searcher.search(executionId, { q: 'line', stream: 'stdout', limit: 1 });
		expect(first).toMatchObject({ total: 7, truncated: true, matches: [{ line: 1 }] });
		const next = await searcher.search(executionId, { q: 'line', stream: 'stdout', after: 1, limit: 1 });
		expect(next).toMatchObject({ total: 7, matches: [{ line: 2 }] });
	});

	it('reads nothing past the highest line number a store can hold, as past the last line', async () => {
		await store.appendLogLines(executionId, mixed(10));
		const far = 3_000_000_000;
		for (const query of [{ from: far }, { index: far }, { stream: 'stdout', from: far }] as const) {
			expect(await store.readLogPage(executionId, query)).toMatchObject({ first_index: null, lines: [] });
		}
		expect(await store.readLogPage(executionId, { stream: 'stderr', index: far })).toMatchObject({
			lines: []
		});
		expect(await store.readLogLines(executionId, { after: far })).toEqual([]);
		for (const query of [{ after: far }, { after: far, stream: 'stdout' }] as const) {
			const seen: number[] = [];
			for await (const chunk of store.iterateLogLines(executionId, query))
				seen.push(...chunk.map((l) => l.n));
			for await (const chunk of store.scanLogText(executionId, query)) seen.push(...chunk.map(([n]) => n));
			expect(seen).toEqual([]);
		}
	});

	it('stops the outline at a bound on the marks it reads, and says it is truncated', async () => {
		// a tool printing ::progress on every line makes a mark of each
		await store.appendLogLines(executionId, [
			...mixed(MAX_OUTLINE_MARKS + 1, () => '::progress value=1::'),
			{ n: MAX_OUTLINE_MARKS + 2, stream: 'stdout', ts: TS, text: '::group::late' }
		]);
		const outline = await store.readLogOutline(executionId);
		expect(outline.truncated).toBe(true);
		expect(outline.commands).toEqual([{ start: 1, end: MAX_OUTLINE_MARKS }]);
		expect(outline.groups).toEqual([]);
		// line MAX_OUTLINE_MARKS + 1 is a command too, but unread: a viewer must show it
		expect(outline.commands_through).toBe(MAX_OUTLINE_MARKS);
		expect(outline.marks).toEqual({ count: MAX_OUTLINE_MARKS, last: MAX_OUTLINE_MARKS });
	});

	it('says how many marks the outline read and where the last is, and no limit when it read them all', async () => {
		await store.appendLogLines(
			executionId,
			mixed(6, (n) => (n === 6 ? 'done' : n % 2 ? '::progress value=1::' : 'output'))
		);
		const outline = await store.readLogOutline(executionId);
		expect(outline.marks).toEqual({ count: 3, last: 5 });
		expect(outline).not.toHaveProperty('commands_through');
	});

	describe('search', () => {
		const texts = (n: number) =>
			n % 5 === 0
				? `\x1b[31mERROR\x1b[0m\tin ${n}`
				: n % 7 === 0
					? `progress 10%\rerror fixed ${n}`
					: `ok ${n}`;

		it('counts matches over the whole log and pages them with offsets into displayText', async () => {
			await store.appendLogLines(executionId, mixed(1000, texts));
			const searcher = new LogSearcher(store, { chunkLines: 64 });
			const expected = mixed(1000, texts).filter((l) => l.n % 5 === 0 || l.n % 7 === 0);
			const result = await searcher.search(executionId, { q: 'error', limit: 3 });
			expect(result.total).toBe(expected.length);
			expect(result.truncated).toBe(true);
			expect(result.matches).toEqual([
				{ line: 5, ranges: [[0, 5]] },
				{ line: 7, ranges: [[0, 5]] },
				{ line: 10, ranges: [[0, 5]] }
			]);
			const after = await searcher.search(executionId, { q: 'error', after: 990, limit: 10 });
			expect(after.matches.map((m) => m.line)).toEqual([994, 995, 1000]);
			expect(after.truncated).toBe(false);
			expect((await searcher.search(executionId, { q: 'error', caseSensitive: true })).total).toBe(
				expected.filter((l) => l.n % 5 !== 0).length
			);
			// \t is expanded before matching, the overwritten "progress" is gone
			expect((await searcher.search(executionId, { q: 'ERROR {3}in', regex: true })).total).toBe(200);
			expect((await searcher.search(executionId, { q: 'progress' })).total).toBe(0);
			expect((await searcher.search(executionId, { q: 'in 1', stream: 'stderr' })).total).toBe(
				mixed(1000, texts).filter((l) => l.stream === 'stderr' && l.n % 5 === 0 && /in 1/.test(`in ${l.n}`))
					.length
			);
		});

		it('extends a cached search with lines stored since', async () => {
			const searcher = new LogSearcher(store);
			await store.appendLogLines(executionId, mixed(100, texts));
			expect((await searcher.search(executionId, { q: 'ERROR', caseSensitive: true })).total).toBe(20);
			await store.appendLogLines(executionId, mixed(100, texts, 101));
			expect((await searcher.search(executionId, { q: 'ERROR', caseSensitive: true })).total).toBe(40);
		});

		it('treats plain text literally and ignores empty regex matches', async () => {
			await store.appendLogLines(
				executionId,
				mixed(3, (n) => (n === 2 ? 'a.b (c)' : 'axb c'))
			);
			const searcher = new LogSearcher(store);
			expect((await searcher.search(executionId, { q: 'a.b (c)' })).matches).toEqual([
				{ line: 2, ranges: [[0, 7]] }
			]);
			expect((await searcher.search(executionId, { q: 'z*', regex: true })).total).toBe(0);
		});

		it('rejects an invalid regex naming the problem, and an empty query', async () => {
			const searcher = new LogSearcher(store);
			await expect(searcher.search(executionId, { q: '(unclosed', regex: true })).rejects.toMatchObject({
				code: 'invalid_regex',
				message: expect.stringContaining('Unterminated group')
			});
			await expect(searcher.search(executionId, { q: '' })).rejects.toMatchObject({ code: 'invalid_query' });
		});

		it('stops a catastrophically backtracking regex with a timeout instead of hanging', async () => {
			await store.appendLogLines(
				executionId,
				mixed(5, () => 'a'.repeat(40) + '!')
			);
			const searcher = new LogSearcher(store, { chunkTimeoutMs: 100 });
			const started = performance.now();
			await expect(searcher.search(executionId, { q: '(a+)+$', regex: true })).rejects.toMatchObject({
				code: 'search_timeout'
			});
			expect(performance.now() - started).toBeLessThan(5_000);
		});

		it('also bounds a pattern that backtracks only after a line has matched', async () => {
			// `ok` makes the line match at once; finding the ranges past it is what backtracks
			await store.appendLogLines(executionId, [
				{ n: 1, stream: 'stdout', ts: TS, text: 'ok ' + 'a'.repeat(40) + '!' }
			]);
			const searcher = new LogSearcher(store, { chunkTimeoutMs: 100 });
			// unbounded, 40 a's backtrack for days: the bound is generous for a loaded machine and a
			// worker's start, and still tells a stopped match from one left to run
			const started = performance.now();
			try {
				await expect(searcher.search(executionId, { q: 'ok|(a+)+$', regex: true })).rejects.toMatchObject({
					code: 'search_timeout'
				});
			} finally {
				await searcher.close();
			}
			expect(performance.now() - started).toBeLessThan(15_000);
		});

		it('yields to the event loop while it scans', async () => {
			await store.appendLogLines(executionId, mixed(5000, texts));
			const searcher = new LogSearcher(store, { chunkLines: 100 });
			let ticks = 0;
			const timer = setInterval(() => ticks++, 0);
			await searcher.search(executionId, { q: 'ok' });
			clearInterval(timer);
			expect(ticks).toBeGreaterThan(5);
		});
	});
});
