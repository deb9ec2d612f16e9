/**
 * A log of a million lines on the real server: written through the store as the pipeline writes
 * it, then pages, tails and searches answer correctly and the download streams byte-identical
 * with flat server memory. (A real tool flooding the server: logs-flood.test.ts.)
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LogLine, LogLinesResponse, LogSearchResponse } from '../../src/lib/protocol';
import { openSqliteStore } from '../../src/lib/server/store/sqlite-store';
import { createStandaloneTask, createTestExecution } from '../../src/lib/server/store/test-records';
import { startAco, tempDir, type AcoProcess } from '../helpers/server';

const TOTAL = 1_000_000;
const BATCH = 5_000;

/** the seeded log: every 1000th line on stderr, every 10th an ANSI-coloured error, a few progress snapshots */
function seededLine(n: number, ts: string): LogLine {
	if (n % 1000 === 0) return { n, stream: 'stderr', ts, text: `warning at ${n}` };
	if (n % 100_000 === 1) return { n, stream: 'stdout', ts, text: `\r ${n % 97}%|###   |`, partial: true };
	if (n % 10 === 0)
		return { n, stream: 'stdout', ts, text: `\x1b[31mERROR\x1b[0m item ${n} failed\twith code ${n % 97}` };
	return { n, stream: 'stdout', ts, text: `item ${n} ok ${'.'.repeat(n % 40)}` };
}

/** writes the log through the store, as the pipeline would, before the server opens the folder */
async function seed(dataDir: string): Promise<string> {
	const store = openSqliteStore(dataDir);
	try {
		const task = await createStandaloneTask(store);
		const execution = await createTestExecution(store, task.id);
		const ts = new Date().toISOString();
		for (let n = 1; n <= TOTAL; n += BATCH) {
			const batch: LogLine[] = [];
			for (let i = n; i < n + BATCH && i <= TOTAL; i++) batch.push(seededLine(i, ts));
			await store.appendLogLines(execution.id, batch);
		}
		await store.updateExecution(execution.id, { status: 'succeeded', exit_code: 0, finished_at: ts });
		return execution.id;
	} finally {
		await store.close();
	}
}

async function get<T>(aco: AcoProcess, url: string): Promise<{ status: number; body: T }> {
	const res = await fetch(aco.url + url);
	return { status: res.status, body: (await res.json()) as T };
}

function rssBytes(pid: number): number {
	const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
	return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

describe('a log of 1,000,000 lines', () => {
	let aco: AcoProcess;
	let executionId: string;
	const ts = new Date(0).toISOString();
	const stored = Array.from({ length: TOTAL }, (_, i) => seededLine(i + 1, ts));

	beforeAll(async () => {
		const dataDir = tempDir();
		const started = performance.now();
		executionId = await seed(dataDir);
		console.log(`seeded ${TOTAL} lines in ${(performance.now() - started).toFixed(0)} ms`);
		aco = await startAco({ dataDir });
		const first = await get<LogLinesResponse>(aco, `/api/v1/executions/${executionId}/lines?limit=1`);
		for (const line of stored) line.ts = first.body.lines[0].ts;
	}, 180_000);

	afterAll(async () => {
		await aco?.stop();
	});

	it('reads ranges by line number, by stream index and as a tail', async () => {
		const base = `/api/v1/executions/${executionId}/lines`;
		const mid = await get<LogLinesResponse>(aco, `${base}?from=500000&limit=5000`);
		expect(mid.body).toMatchObject({ total: TOTAL, last_line: TOTAL, first_index: 499_999 });
		expect(mid.body.lines).toEqual(stored.slice(499_999, 504_999));

		const stdout = stored.filter((line) => line.stream === 'stdout');
		const byIndex = await get<LogLinesResponse>(aco, `${base}?stream=stdout&index=700000&limit=3`);
		expect(byIndex.body).toMatchObject({ total: stdout.length, first_index: 700_000 });
		expect(byIndex.body.lines).toEqual(stdout.slice(700_000, 700_003));

		const stderr = stored.filter((line) => line.stream === 'stderr');
		const fromLine = stderr[500].n - 1;
		const stderrFrom = await get<LogLinesResponse>(aco, `${base}?stream=stderr&from=${fromLine}&limit=2`);
		expect(stderrFrom.body).toMatchObject({ total: stderr.length, first_index: 500 });
		expect(stderrFrom.body.lines).toEqual(stderr.slice(500, 502));

		const tail = await get<LogLinesResponse>(aco, `${base}?tail=10`);
		expect(tail.body.lines).toEqual(stored.slice(-10));
		const bad = await get<{ error: { message: string } }>(aco, `${base}?limit=999999`);
		expect(bad.status).toBe(400);
		expect(bad.body.error.message).toContain('limit');
	});

	it('counts search matches exactly as an independent count over the stored lines', async () => {
		// independent of displayText: the seeded lines only hold SGR colours and single tabs
		const plain = (text: string) =>
			text.split('\x1b[31m').join('').split('\x1b[0m').join('').replace(/\t/g, ' ');
		const search = (query: string) =>
			get<LogSearchResponse>(aco, `/api/v1/executions/${executionId}/search?${query}`);

		const error = await search('q=error&limit=5');
		expect(error.body.total).toBe(stored.filter((l) => /error/i.test(plain(l.text))).length);
		expect(error.body.total).toBe(TOTAL / 10 - TOTAL / 1000);
		expect(error.body.truncated).toBe(true);
		expect(error.body.matches[0]).toEqual({
			line: stored.find((l) => l.text.includes('ERROR'))!.n,
			ranges: [[0, 5]]
		});

		const regex = await search(`q=${encodeURIComponent('item \\d*5 ok')}&regex=1&after=${TOTAL - 100}`);
		expect(regex.body.total).toBe(stored.filter((l) => /item \d*5 ok/.test(plain(l.text))).length);
		expect(regex.body.matches.every((m) => m.line > TOTAL - 100)).toBe(true);

		expect((await search('q=error&case=1')).body.total).toBe(0);
	});

	it('downloads the log byte-identical to the stored lines with flat server memory', async () => {
		const pid = aco.proc.pid!;
		const expected = Buffer.from(stored.map((line) => line.text + (line.partial ? '' : '\n')).join(''));
		/** downloads the whole log `count` times at once, reading the server's RSS after each tenth of the first */
		async function download(count: number): Promise<{ bodies: Buffer[]; rssAt: number[] }> {
			const rssAt: number[] = [];
			const bodies = await Promise.all(
				Array.from({ length: count }, async (_, i) => {
					const res = await fetch(`${aco.url}/api/v1/executions/${executionId}/log`);
					const chunks: Uint8Array[] = [];
					let received = 0;
					const reader = res.body!.getReader();
					for (let next = await reader.read(); !next.done; next = await reader.read()) {
						chunks.push(next.value);
						received += next.value.length;
						while (i === 0 && rssAt.length < Math.floor((received / expected.length) * 10))
							rssAt.push(rssBytes(pid));
					}
					return Buffer.concat(chunks);
				})
			);
			return { bodies, rssAt };
		}
		// the first round starts both reader threads and lets the heaps reach their working size, which
		// is about the body's size of garbage before the first full collections. Between rounds the server
		// may hand memory back and take it again (CI saw RSS fall 28 MB, then climb back through the next
		// download), so the next round is held to the first one's peak, not to where it starts. It runs
		// twice as many downloads at once: a server that held a body per download would climb past that
		// peak by two bodies, one that streams stays within it
		const idle = rssBytes(pid);
		const first = await download(2);
		const second = await download(4);
		for (const body of [...first.bodies, ...second.bodies]) {
			expect(body.length).toBe(expected.length);
			expect(body.equals(expected)).toBe(true);
		}

		const mb = (bytes: number) => (bytes / 1e6).toFixed(1);
		const workingSize = Math.max(...first.rssAt);
		console.log(
			`download: ${mb(expected.length)} MB; server RSS idle ${mb(idle)} MB; by tenths, 2 at once: ` +
				first.rssAt.map(mb).join(' ') +
				' MB; 4 at once: ' +
				second.rssAt.map(mb).join(' ') +
				' MB'
		);
		expect(Math.max(...second.rssAt) - workingSize).toBeLessThan(16e6);

		const stripped = await (
			await fetch(`${aco.url}/api/v1/executions/${executionId}/log?ansi=strip&after=${TOTAL - 20}`)
		).text();
		expect(stripped).not.toContain('\x1b');
		expect(stripped.split('\n')).toHaveLength(21);
	});
});
