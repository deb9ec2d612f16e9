/**
 * Tools that write too much, against a real server: a 100 MB line with no newline is split and
 * stored whole while the server's memory stays within a few MB of where it was, and a tool
 * printing far past its execution's output limit keeps running to its own end while the rest of
 * its output is counted, not stored or streamed, with a marker where the log was cut and the
 * final count when the tool ended. Healthy subscribers keep receiving meanwhile.
 *
 * The hub's replay history (a cache of recent events that any output fills, bounded by
 * ACO_HISTORY_MAX_BYTES, 64 MiB by default) is set to 4 MiB here, so what is measured is the
 * ingest path: splitting, masking, the output limit and the batched writes. Two figures: the
 * JavaScript heap the server uses (what the ingest path holds: a few MB) and its RSS, which also
 * carries the chunk buffers Node reads a pipe into until the garbage collector frees them (V8
 * lets up to 64 MB of such external memory pile up before it collects).
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventEnvelope, LogLinesResponse, RunResponse } from '../../src/lib/protocol';
import type { SystemMetricsResponse } from '../../src/lib/protocol';
import { acoApi, rssOf, waitForRun, writeWorkflow, type AcoApi } from '../helpers/aco-api';
import { HealthyClients } from '../helpers/healthy-clients';
import { liveLines } from '../helpers/live-lines';
import { startAco, tempDir, type AcoProcess } from '../helpers/server';
import { connect, type TestClient } from '../helpers/ws-client';

const LONG_LINE_BYTES = 100_000_000;
const FLOOD_LINES = 300_000;
const FLOOD_TEXT = 'flood line with some text to make it longer';
const MAX_LINES = 5_000;
const SPLIT = 64 * 1024;
/** How far the server's JavaScript heap may grow while the tool writes (measured: +6 to +13 MB). */
const HEAP_BOUND = 32 * 1024 * 1024;
/**
 * How far its RSS may rise: the heap, plus up to 64 MB of dead pipe and frame buffers V8 has not
 * collected yet, plus the 4 MiB history (measured: +80 MB; before this work +314 MB).
 */
const RSS_BOUND = 128 * 1024 * 1024;

interface MemoryPeak {
	rss: number;
	heap: number;
}

/** Samples the server's RSS (/proc) and JS heap (/api/v1/system/metrics) until stopped; the peaks. */
function sampleMemory(aco: AcoProcess): { stop(): Promise<MemoryPeak> } {
	const peak: MemoryPeak = { rss: 0, heap: 0 };
	let running = true;
	const loop = (async () => {
		while (running) {
			try {
				peak.rss = Math.max(peak.rss, rssOf(aco.proc.pid!));
				const metrics = (await (
					await fetch(`${aco.url}/api/v1/system/metrics`)
				).json()) as SystemMetricsResponse;
				peak.heap = Math.max(peak.heap, metrics.process.memory.heap_used);
			} catch {
				// a sample lost under load is no failure
			}
			await new Promise((resolve) => setTimeout(resolve, 50));
		}
	})();
	return {
		async stop() {
			running = false;
			await loop;
			return peak;
		}
	};
}

/** where memory stands before a tool starts */
async function memoryNow(aco: AcoProcess): Promise<MemoryPeak> {
	const metrics = (await (await fetch(`${aco.url}/api/v1/system/metrics`)).json()) as SystemMetricsResponse;
	return { rss: rssOf(aco.proc.pid!), heap: metrics.process.memory.heap_used };
}

describe('tools that write too much', () => {
	let aco: AcoProcess;
	let api: AcoApi;
	let healthy: HealthyClients;
	let workflows: string;
	let mark: string;

	beforeAll(async () => {
		workflows = tempDir('aco-limits-wf-');
		mark = path.join(workflows, 'flood-finished');
		const workflow = (name: string, script: string) =>
			writeWorkflow(workflows, name, { run: 'sh', args: ['-c', script] });
		workflow('long-line', `head -c ${LONG_LINE_BYTES} /dev/zero | tr '\\0' a; echo; echo done`);
		workflow('flood', `yes '${FLOOD_TEXT}' | head -n ${FLOOD_LINES}; echo finished >&2; touch '${mark}'`);
		workflow('warm-up', `yes 'warming up' | head -n 20000; head -c 3000000 /dev/zero | tr '\\0' w`);
		aco = await startAco({
			workflowsDir: workflows,
			env: {
				ACO_OUTPUT_MAX_LINES: String(MAX_LINES),
				ACO_OUTPUT_MAX_BYTES: String(200 * 1024 * 1024),
				ACO_HISTORY_MAX_BYTES: String(4 * 1024 * 1024)
			}
		});
		api = acoApi(aco);
		healthy = await HealthyClients.start(aco);
		// warm up: the first run loads the code paths that the measured ones use
		const { run } = await api.post<RunResponse>('/api/v1/workflows/warm-up/runs');
		await waitForRun(api, run.id);
		await healthy.expectHealthy();
	});

	afterAll(async () => {
		await healthy?.stop();
		await aco?.stop();
		fs.rmSync(workflows, { recursive: true, force: true });
		if (aco) fs.rmSync(aco.dataDir, { recursive: true, force: true });
	});

	it(
		'keeps a tool past its output limit running to its own end, counts the rest and marks the cut',
		{ timeout: 120_000 },
		async () => {
			fs.rmSync(mark, { force: true });
			const watcher: TestClient = await connect(aco.wsUrl, {}, 10_000);
			await watcher.nextOfType('welcome', 10_000);
			await watcher.request({ type: 'subscribe', sub: 'tasks', filter: { types: ['task.created'] } }, 10_000);
			const before = await memoryNow(aco);
			const memory = sampleMemory(aco);
			const { run } = await api.post<RunResponse>('/api/v1/workflows/flood/runs');
			const created = await watcher.next<EventEnvelope<'task.created'>>(
				(m) => m.type === 'task.created' && (m as EventEnvelope<'task.created'>).data.task.run_id === run.id,
				10_000
			);
			await watcher.request(
				{
					type: 'subscribe',
					sub: 'flood',
					filter: { task_ids: [created.data.task.id], types: ['tool.lines'] }
				},
				10_000
			);
			const { tasks } = await waitForRun(api, run.id, 120_000);
			const peak = await memory.stop();
			const [execution] = tasks[0].executions;
			// the tool was not disturbed: it printed everything, ended by itself and succeeded
			expect(fs.existsSync(mark)).toBe(true);
			expect(execution).toMatchObject({ status: 'succeeded', exit_code: 0 });
			const total = FLOOD_LINES + 1;
			expect(execution.output_dropped).toEqual({
				lines: total - MAX_LINES,
				bytes: (FLOOD_LINES - MAX_LINES) * (FLOOD_TEXT.length + 1) + 'finished\n'.length
			});
			expect(execution.line_count).toBe(MAX_LINES + 2);
			const tail = await api.get<LogLinesResponse>(`/api/v1/executions/${execution.id}/lines?tail=3`);
			expect(tail.lines.map((line) => line.text)).toEqual([
				FLOOD_TEXT,
				expect.stringMatching(
					/^::warning::Output limit reached: this tool's output passed 200 MiB or 5,000 lines/
				),
				`::warning::Output limit: ${(total - MAX_LINES).toLocaleString('en-US')} more lines (${(
					((FLOOD_LINES - MAX_LINES) * (FLOOD_TEXT.length + 1) + 9) /
					1024 /
					1024
				).toFixed(1)} MiB) of this tool's output were not stored (limit 200 MiB or 5,000 lines).`
			]);
			// the outline lists both markers as warnings
			const outline = await api.get<{ annotations: { line: number; level: string }[] }>(
				`/api/v1/executions/${execution.id}/outline`
			);
			expect(outline.annotations.map((a) => a.level)).toEqual(['warning', 'warning']);
			// nothing past the cut was streamed either: the last line a subscriber got is the final marker
			await watcher.sync(10_000);
			const streamed = liveLines(watcher.messages);
			expect(streamed.at(-1)?.line).toBe(MAX_LINES + 2);
			expect(streamed.every((l) => l.line <= MAX_LINES + 2)).toBe(true);
			await watcher.close();
			report('output limit', before, peak);
			expect(peak.heap - before.heap).toBeLessThan(HEAP_BOUND);
			expect(peak.rss - before.rss).toBeLessThan(RSS_BOUND);
			await healthy.expectHealthy();
		}
	);

	it(
		'stores a 100 MB line without newline whole, in pieces, with server memory bounded',
		{ timeout: 180_000 },
		async () => {
			const before = await memoryNow(aco);
			const memory = sampleMemory(aco);
			const { run } = await api.post<RunResponse>('/api/v1/workflows/long-line/runs');
			const { tasks } = await waitForRun(api, run.id, 150_000);
			const peak = await memory.stop();
			const [execution] = tasks[0].executions;
			expect(execution.status).toBe('succeeded');
			const pieces = Math.ceil(LONG_LINE_BYTES / SPLIT);
			expect(execution.line_count).toBe(pieces + 1);
			const tail = await api.get<LogLinesResponse>(`/api/v1/executions/${execution.id}/lines?tail=2`);
			expect(tail.lines.map((line) => [line.text.length, line.partial ?? false])).toEqual([
				[LONG_LINE_BYTES - (pieces - 1) * SPLIT, false],
				[4, false]
			]);
			// every byte the tool printed is stored, in pieces that join back into the line
			// (read from the database file: a 100 MB download would only add time to this test)
			const db = new Database(path.join(aco.dataDir, 'aco.db'), { readonly: true });
			try {
				const stored = db
					.prepare(
						'SELECT count(*) AS lines, sum(length(text)) AS chars, sum(partial) AS partial FROM log_lines JOIN executions USING (log_key) WHERE executions.id = ?'
					)
					.get(execution.id);
				expect(stored).toEqual({ lines: pieces + 1, chars: LONG_LINE_BYTES + 4, partial: pieces - 1 });
			} finally {
				db.close();
			}
			report('100 MB line', before, peak);
			expect(peak.heap - before.heap).toBeLessThan(HEAP_BOUND);
			expect(peak.rss - before.rss).toBeLessThan(RSS_BOUND);
			await healthy.expectHealthy();
		}
	);
});

function report(what: string, before: MemoryPeak, peak: MemoryPeak): void {
	const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
	console.log(
		`${what}: server heap ${mb(before.heap)} → peak ${mb(peak.heap)} (+${mb(peak.heap - before.heap)}), ` +
			`RSS ${mb(before.rss)} → peak ${mb(peak.rss)} (+${mb(peak.rss - before.rss)})`
	);
}
