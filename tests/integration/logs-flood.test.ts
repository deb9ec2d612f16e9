/**
 * A real tool printing as fast as it can into the real server: every line is stored, in order,
 * and the server keeps answering other requests meanwhile. The line count is FLOOD_LINES
 * (default 200,000 to keep the suite fast; `FLOOD_LINES=1000000` for the full-size run).
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
	LogLine,
	LogOutlineResponse,
	RunDetailResponse,
	RunResponse,
	TaskResponse
} from '../../src/lib/protocol';
import { ROOT, startAco, type AcoProcess } from '../helpers/server';

const WORKFLOWS = path.join(ROOT, 'tests/fixtures/log-workflows');
const STDOUT_LINES = Number(process.env.FLOOD_LINES || 200_000);
const STDERR_LINES = Math.floor(STDOUT_LINES / 1000);

/** the fixture's generator (tests/fixtures/log-workflows/flood.yml) */
const expectedStdout = (i: number) =>
	i % 10 === 0
		? `\x1b[31mERROR\x1b[0m item ${i} failed\twith code ${i % 97}`
		: `item ${i} ok ${'.'.repeat(i % 40)}`;

async function get<T>(aco: AcoProcess, url: string): Promise<T> {
	return (await (await fetch(aco.url + url)).json()) as T;
}

async function runToEnd(
	aco: AcoProcess,
	workflow: string,
	whileRunning: () => Promise<void> = async () => {}
) {
	const res = await fetch(`${aco.url}/api/v1/workflows/${workflow}/runs`, { method: 'POST' });
	const { run } = (await res.json()) as RunResponse;
	for (;;) {
		await whileRunning();
		const detail = await get<RunDetailResponse>(aco, `/api/v1/runs/${run.id}`);
		if (detail.run.status !== 'running' && detail.run.status !== 'queued') {
			const task = await get<TaskResponse>(aco, `/api/v1/tasks/${detail.tasks[0].id}`);
			return task.task.executions[0];
		}
		await new Promise((resolve) => setTimeout(resolve, 50));
	}
}

const percentile = (values: number[], p: number) =>
	[...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((values.length * p) / 100))];

describe('a tool flooding its output', () => {
	let aco: AcoProcess;

	beforeAll(async () => {
		aco = await startAco({ workflowsDir: WORKFLOWS, env: { FLOOD_LINES: String(STDOUT_LINES) } });
	});
	afterAll(async () => {
		await aco?.stop();
	});

	it('is stored completely and in order while the server keeps answering health checks', async () => {
		const healthMs: number[] = [];
		const started = performance.now();
		const execution = await runToEnd(aco, 'flood', async () => {
			const t0 = performance.now();
			await (await fetch(`${aco.url}/api/v1/healthz`)).arrayBuffer();
			healthMs.push(performance.now() - t0);
		});
		const floodMs = performance.now() - started;
		expect(execution.status).toBe('succeeded');
		expect(execution.line_count).toBe(STDOUT_LINES + STDERR_LINES);

		const ndjson = await (
			await fetch(`${aco.url}/api/v1/executions/${execution.id}/log?format=ndjson`)
		).text();
		const lines = ndjson
			.split('\n')
			.filter(Boolean)
			.map((row) => JSON.parse(row) as LogLine);
		expect(lines.every((line, i) => line.n === i + 1)).toBe(true);
		const stdout = lines.filter((line) => line.stream === 'stdout');
		expect(stdout).toHaveLength(STDOUT_LINES);
		expect(stdout.every((line, i) => line.text === expectedStdout(i + 1))).toBe(true);

		console.log(
			`flood: ${execution.line_count} lines stored in ${floodMs.toFixed(0)} ms ` +
				`(${((execution.line_count / floodMs) * 1000).toFixed(0)} lines/s); healthz meanwhile n=${healthMs.length} ` +
				`p50=${percentile(healthMs, 50).toFixed(1)} ms p95=${percentile(healthMs, 95).toFixed(1)} ms ` +
				`max=${Math.max(...healthMs).toFixed(1)} ms`
		);
		expect(healthMs.length).toBeGreaterThan(2);
		// the server kept answering through the flood (about 0.1 s at worst on a loaded CI machine; a
		// bound with room for a stall of the machine's own, not one of a blocked server)
		expect(percentile(healthMs, 95)).toBeLessThan(3_000);
	}, 120_000);

	it('keeps the outline and shows a \\r progress bar before its newline', async () => {
		const execution = await runToEnd(aco, 'outline');
		const outline = await get<LogOutlineResponse>(aco, `/api/v1/executions/${execution.id}/outline`);
		expect(outline).toEqual({
			groups: [{ name: 'Install', start: 1, end: 3 }],
			annotations: [
				{ line: 4, level: 'warning', message: 'Deprecated API', file: 'a.ts', file_line: 3 },
				{ line: 5, level: 'error', message: 'Boom' }
			],
			// the bar's snapshot and the line that finished it show as one row
			progress: [{ start: 6, end: 7 }],
			// the ::endgroup:: line, which a viewer hides
			commands: [{ start: 3, end: 3 }],
			// the group, the ::endgroup::, the warning and the error, read to line 5
			marks: { count: 4, last: 5 },
			truncated: false
		});
		const ndjson = await (
			await fetch(`${aco.url}/api/v1/executions/${execution.id}/log?format=ndjson`)
		).text();
		const lines = ndjson
			.split('\n')
			.filter(Boolean)
			.map((row) => JSON.parse(row) as LogLine);
		// the bar was redrawn and then sat without a newline for longer than the snapshot delay
		expect(lines[5]).toMatchObject({ n: 6, text: '  0%|   |\r 50%|#  |', partial: true });
		expect(lines[6]).toMatchObject({ n: 7, text: '\r100%|###|' });
		const text = await (await fetch(`${aco.url}/api/v1/executions/${execution.id}/log`)).text();
		expect(text).toContain('  0%|   |\r 50%|#  |\r100%|###|\ndone\n');
	}, 30_000);
});
