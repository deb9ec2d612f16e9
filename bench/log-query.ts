/**
 * @module bench/log-query
 * Reading a big log the way the log view does. Range: deep pages of one stream by position
 * (`readLogPage` with `stream` + `index`, an index seek on the stream rank) against the naive
 * `LIMIT … OFFSET …`, which walks every line before the page. Search: `LogSearcher` (chunked,
 * yielding, matched in the regex pool's worker threads under a time limit) against the naive scan (every line read at once and matched
 * in one synchronous loop); the headline is the longest event-loop stall while searching,
 * which is what other requests feel.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import type { LogLine } from '../src/lib/protocol/models';
import { displayText } from '../src/lib/log/terminal';
import { LogSearcher } from '../src/lib/server/store/log-search';
import { createRegexPool } from '../src/lib/server/store/regex-pool';
import { LOG_KEY_PARAM, LOG_STREAM } from '../src/lib/server/store/rows';
import { lineStream, lineText, openBenchStore } from './lib/fixtures';
import { check, printTable, type BenchSummary } from './lib/report';
import { median } from './lib/stats';

export const QUERY_LINES = 300_000;
export const PAGE_LINES = 1_000;
export const PAGES = 20;
export const REPETITIONS = 3;
const SEARCH = 'error|warning|module-99[0-9]';

/** runs `work` while timing the gaps between event-loop turns; returns its duration and the longest gap */
async function withStallProbe(
	work: () => Promise<unknown> | unknown
): Promise<{ ms: number; stallMs: number }> {
	let last = performance.now();
	let stallMs = 0;
	let probing = true;
	const tick = () => {
		const now = performance.now();
		stallMs = Math.max(stallMs, now - last);
		last = now;
		if (probing) setImmediate(tick);
	};
	setImmediate(tick);
	const started = performance.now();
	await work();
	const ms = performance.now() - started;
	probing = false;
	stallMs = Math.max(stallMs, performance.now() - last);
	return { ms, stallMs };
}

export async function runLogQuery(): Promise<BenchSummary> {
	const bench = await openBenchStore('query');
	const db = new Database(path.join(bench.dir, 'aco.db'), { readonly: true });
	try {
		const { store, executionId } = bench;
		const ts = new Date().toISOString();
		for (let n = 1; n <= QUERY_LINES; n += 5_000) {
			const batch: LogLine[] = [];
			for (let i = n; i < n + 5_000 && i <= QUERY_LINES; i++) {
				batch.push({ n: i, stream: lineStream(i - 1), ts, text: lineText(i - 1) });
			}
			await store.appendLogLines(executionId, batch);
		}
		const stdoutTotal = (await store.readLogPage(executionId, { stream: 'stdout', limit: 1 })).total;
		const offsets = Array.from({ length: PAGES }, (_, i) => stdoutTotal - PAGE_LINES - i * 7_919);
		const naivePage = db.prepare<[string, number, number], LogLine>(
			`SELECT n, ${LOG_STREAM} AS stream, ts, text FROM log_lines WHERE log_key = ${LOG_KEY_PARAM} AND stream = 0 ORDER BY n LIMIT ? OFFSET ?`
		);

		const acoPages: number[] = [];
		const naivePages: number[] = [];
		for (let r = 0; r < REPETITIONS; r++) {
			let started = performance.now();
			for (const index of offsets) {
				const page = await store.readLogPage(executionId, { stream: 'stdout', index, limit: PAGE_LINES });
				check(page.first_index === index && page.lines.length === PAGE_LINES, `page at ${index} is wrong`);
			}
			acoPages.push((performance.now() - started) / PAGES);
			started = performance.now();
			for (const index of offsets) {
				const lines = naivePage.all(executionId, PAGE_LINES, index);
				check(lines.length === PAGE_LINES, `naive page at ${index} is short`);
			}
			naivePages.push((performance.now() - started) / PAGES);
		}

		const re = new RegExp(SEARCH, 'gi');
		const acoSearch: { ms: number; stallMs: number }[] = [];
		const naiveSearch: { ms: number; stallMs: number }[] = [];
		let acoTotal = 0;
		let naiveTotal = 0;
		// one pool for the whole run, as a server has (built in createContext), its threads started
		const pool = createRegexPool({});
		await pool.matchingLines(/./g, [[1, 'warm']]);
		for (let r = 0; r < REPETITIONS; r++) {
			acoSearch.push(
				await withStallProbe(async () => {
					// a fresh searcher each time: its cache would otherwise answer without a scan
					const result = await new LogSearcher(store, { pool }).search(executionId, {
						q: SEARCH,
						regex: true
					});
					acoTotal = result.total;
				})
			);
			naiveSearch.push(
				await withStallProbe(() => {
					const all = db
						.prepare<[string], { text: string }>(
							`SELECT text FROM log_lines WHERE log_key = ${LOG_KEY_PARAM} ORDER BY n`
						)
						.all(executionId);
					naiveTotal = 0;
					for (const line of all) {
						re.lastIndex = 0;
						if (re.test(displayText(line.text))) naiveTotal++;
					}
				})
			);
		}
		await pool.close();
		check(
			acoTotal === naiveTotal && acoTotal > 0,
			`search counted ${acoTotal}, the naive scan ${naiveTotal}`
		);

		const stall = {
			label: 'longest event-loop stall while searching',
			unit: 'ms',
			aco: median(acoSearch.map((s) => s.stallMs)),
			baseline: median(naiveSearch.map((s) => s.stallMs)),
			better: 'lower' as const,
			digits: 1
		};
		const deepPage = {
			label: `deep page of ${PAGE_LINES} stdout lines`,
			unit: 'ms',
			aco: median(acoPages),
			baseline: median(naivePages),
			better: 'lower' as const,
			digits: 2
		};
		printTable(
			`Log queries on ${QUERY_LINES.toLocaleString('en-US')} lines: stream page by index vs LIMIT/OFFSET; ` +
				`LogSearcher vs one synchronous scan; median of ${REPETITIONS}`,
			[
				deepPage,
				stall,
				{
					label: 'whole-log search time',
					unit: 'ms',
					aco: median(acoSearch.map((s) => s.ms)),
					baseline: median(naiveSearch.map((s) => s.ms)),
					better: 'lower',
					digits: 0
				}
			],
			[
				`search /${SEARCH}/i over displayText: ${acoTotal} matching lines, counted the same by both`,
				'aco matches each chunk in a worker thread of one shared pool under a time limit, so its total time may be longer; its stall is what other requests wait'
			]
		);
		return { headline: stall, also: [deepPage] };
	} finally {
		db.close();
		await bench.dispose();
	}
}
