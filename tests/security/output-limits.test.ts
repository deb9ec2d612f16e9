/**
 * Tools that write too much, against a real server: a 100 MB line with no newline is split and
 * stored whole while the server's memory stays within a few MB of where it was, and a tool
 * printing far past its execution's output limit keeps running to its own end while the rest of
 * its output is counted, not stored or streamed, with a marker where the log was cut and the
 * final count when the tool ended. Healthy subscribers keep receiving meanwhile.
 *
 * The hub's replay history (a cache of recent events that any output fills, bounded by
 * ACO_HISTORY_MAX_BYTES, 64 MiB by default) is set to 4 MiB here, so what is measured is the
 * ingest path: splitting, masking, the output limit and the batched writes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventEnvelope, LogLinesResponse, RunResponse } from '../../src/lib/protocol';
import { acoApi, rssOf, waitForRun, type AcoApi } from '../helpers/aco-api';
import { HealthyClients } from '../helpers/healthy-clients';
import { startAco, tempDir, type AcoProcess } from '../helpers/server';
import { connect, type TestClient } from '../helpers/ws-client';

const LONG_LINE_BYTES = 100_000_000;
const FLOOD_LINES = 1_000_000;
const FLOOD_TEXT = 'flood line with some text to make it longer';
const MAX_LINES = 5_000;
const SPLIT = 64 * 1024;
/**
 * How far the server's RSS may rise above where it was before the tool started. The ingest
 * path holds about a megabyte; the rest is room for the garbage collector's timing, so the
 * bound stays stable on a loaded machine (the 100 MB line raised RSS by 314 MB before).
 */
const RSS_BOUND = 48 * 1024 * 1024;

/** Samples a process's RSS every 25 ms until stopped; returns the highest value seen. */
function sampleRss(pid: number): { stop(): number } {
	let max = rssOf(pid);
	const timer = setInterval(() => {
		try {
			max = Math.max(max, rssOf(pid));
		} catch {
			// the process is gone
		}
	}, 25);
	return {
		stop() {
			clearInterval(timer);
			return max;
		}
	};
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
			fs.writeFileSync(
				path.join(workflows, `${name}.yml`),
				[
					`name: ${name}`,
					'tasks:',
					'  write:',
					'    name: Write',
					'    steps:',
					'      - name: write',
					'        run: sh',
					`        args: ${JSON.stringify(['-c', script])}`,
					''
				].join('\n')
			);
		workflow('long-line', `head -c ${LONG_LINE_BYTES} /dev/zero | tr '\\0' a; echo; echo done`);
		workflow('flood', `yes '${FLOOD_TEXT}' | head -n ${FLOOD_LINES}; echo finished >&2; touch '${mark}'`);
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
		const { run } = await api.post<RunResponse>('/api/v1/workflows/flood/runs');
		await waitForRun(api, run.id);
		await healthy.expectHealthy();
	});

	afterAll(async () => {
		await healthy?.stop();
		await aco?.stop();
		fs.rmSync(workflows, { recursive: true, force: true });
		if (aco) fs.rmSync(aco.dataDir, { recursive: true, force: true });
	});

	it('stores a 100 MB line without newline whole, in pieces, with server memory bounded', async () => {
		const before = rssOf(aco.proc.pid!);
		const rss = sampleRss(aco.proc.pid!);
		const { run } = await api.post<RunResponse>('/api/v1/workflows/long-line/runs');
		const { tasks } = await waitForRun(api, run.id, 120_000);
		const peak = rss.stop();
		const [execution] = tasks[0].executions;
		expect(execution.status).toBe('succeeded');
		const pieces = Math.ceil(LONG_LINE_BYTES / SPLIT);
		expect(execution.line_count).toBe(pieces + 1);
		const tail = await api.get<LogLinesResponse>(`/api/v1/executions/${execution.id}/lines?tail=2`);
		expect(tail.lines.map((line) => [line.text.length, line.partial ?? false])).toEqual([
			[LONG_LINE_BYTES - (pieces - 1) * SPLIT, false],
			[4, false]
		]);
		// the download gives back every byte the tool printed
		const res = await fetch(`${aco.url}/api/v1/executions/${execution.id}/log`);
		let bytes = 0;
		for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) bytes += chunk.length;
		expect(bytes).toBe(LONG_LINE_BYTES + '\ndone\n'.length);
		console.log(`100 MB line: server RSS ${mb(before)} before, peak ${mb(peak)} (+${mb(peak - before)})`);
		expect(peak - before).toBeLessThan(RSS_BOUND);
		await healthy.expectHealthy();
	});

	it('keeps a tool past its output limit running to its own end, counts the rest and marks the cut', async () => {
		fs.rmSync(mark, { force: true });
		const watcher: TestClient = await connect(aco.wsUrl, {}, 10_000);
		await watcher.nextOfType('welcome', 10_000);
		await watcher.request({ type: 'subscribe', sub: 'tasks', filter: { types: ['task.created'] } }, 10_000);
		const before = rssOf(aco.proc.pid!);
		const rss = sampleRss(aco.proc.pid!);
		const { run } = await api.post<RunResponse>('/api/v1/workflows/flood/runs');
		const created = await watcher.next<EventEnvelope<'task.created'>>(
			(m) => m.type === 'task.created' && (m as EventEnvelope<'task.created'>).data.task.run_id === run.id,
			10_000
		);
		await watcher.request(
			{ type: 'subscribe', sub: 'flood', filter: { task_ids: [created.data.task.id], types: ['tool.output'] } },
			10_000
		);
		const { tasks } = await waitForRun(api, run.id, 120_000);
		const peak = rss.stop();
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
			expect.stringMatching(/^::warning::Output limit reached: this tool's output passed 200 MiB or 5,000 lines/),
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
		const streamed = watcher.messages.filter((m) => m.type === 'tool.output') as EventEnvelope<'tool.output'>[];
		expect(streamed.at(-1)?.data.line).toBe(MAX_LINES + 2);
		expect(streamed.every((m) => m.data.line <= MAX_LINES + 2)).toBe(true);
		await watcher.close();
		console.log(`output limit: server RSS ${mb(before)} before, peak ${mb(peak)} (+${mb(peak - before)})`);
		expect(peak - before).toBeLessThan(RSS_BOUND);
		await healthy.expectHealthy();
	});
});

function mb(bytes: number): string {
	return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
