/**
 * The `--follow` printers against a real server: `aco run --follow` (followRun) and
 * `aco logs --follow` (followLog) print every line once, in order, from a run or a tool that
 * started before they connected, and end with the right exit code. Needs a fresh `npx vite build`.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LogLine, TaskDetail } from '../../src/lib/protocol/models';
import { followLog } from '../../src/cli/follow/follow-log';
import { followRun } from '../../src/cli/follow/follow-run';
import { ROOT, startAco, type AcoProcess } from '../helpers/server';

const WORKFLOWS = path.join(ROOT, 'tests/fixtures/workflows');

function sink() {
	let text = '';
	return { out: { write: (chunk: string) => (text += chunk) }, text: () => text };
}

describe('following runs and logs from a terminal', () => {
	let server: AcoProcess;

	beforeAll(async () => {
		server = await startAco({ workflowsDir: WORKFLOWS });
	});
	afterAll(async () => {
		await server?.stop();
	});

	async function startRun(workflow: string): Promise<string> {
		const res = await fetch(`${server.url}/api/v1/workflows/${workflow}/runs`, { method: 'POST' });
		return ((await res.json()) as { run: { id: string } }).run.id;
	}

	async function api<T>(p: string, method = 'GET'): Promise<T> {
		return (await (await fetch(`${server.url}/api/v1${p}`, { method })).json()) as T;
	}

	it('prints every task and every output line of a run once, and exits 0 when it succeeds', async () => {
		const runId = await startRun('quick');
		const { out, text } = sink();
		const err = sink();
		const code = await followRun({ url: server.url, runId, out, err: err.out });
		expect(code).toBe(0);
		const lines = text().split('\n');
		for (let i = 1; i <= 50; i++) expect(lines.filter((l) => l === `[first] line ${i}`)).toHaveLength(1);
		expect(lines).toContain('[first] a warning on stderr');
		expect(lines).toContain('[second] second-a');
		expect(lines).toContain('[second] no newline at end');
		expect(lines.filter((l) => /^✔ succeeded First/.test(l))).toHaveLength(1);
		expect(lines.filter((l) => /^✔ succeeded Second/.test(l))).toHaveLength(1);
		expect(lines.at(-2)).toMatch(/^✔ Run quick succeeded in /);
		expect(err.text()).toBe('');
	});

	it('exits 1 when the run fails, after printing the failing output and why', async () => {
		const runId = await startRun('failing');
		const { out, text } = sink();
		const code = await followRun({ url: server.url, runId, out, err: sink().out });
		expect(code).toBe(1);
		expect(text()).toContain('[breaks] about to fail\n');
		expect(text()).toContain('[breaks] boom\n');
		expect(text()).toMatch(/✖ failed breaks in .*: /);
		expect(text()).toMatch(/✖ Run failing failed/);
	});

	it('follows a running tool from the middle with no gap and no duplicate, and ends when it stops', async () => {
		const runId = await startRun('slow');
		const { tasks } = await api<{ tasks: { id: string }[] }>(`/runs/${runId}`);
		// follow from the middle: once it has printed a few lines
		await expect
			.poll(
				async () =>
					(await api<{ task: TaskDetail }>(`/tasks/${tasks[0].id}`)).task.executions[0]?.line_count ?? 0,
				{
					timeout: 30_000
				}
			)
			.toBeGreaterThan(3);
		const { task } = await api<{ task: TaskDetail }>(`/tasks/${tasks[0].id}`);
		const executionId = task.executions[0].id;
		const text = sink();
		const json = sink();
		const following = Promise.all([
			followLog({ url: server.url, executionId, out: text.out, err: sink().out }),
			followLog({ url: server.url, executionId, ndjson: true, out: json.out, err: sink().out })
		]);
		// and stop it once both followers have printed more than ten lines
		const printed = () => json.text().split('\n').length - 1;
		await expect.poll(printed, { timeout: 30_000 }).toBeGreaterThan(10);
		await expect.poll(() => text.text().split('\n').length - 1, { timeout: 30_000 }).toBeGreaterThan(10);
		await api(`/runs/${runId}/cancel`, 'POST');
		expect(await following).toEqual([0, 0]);

		const rows = json
			.text()
			.trim()
			.split('\n')
			.map((row) => JSON.parse(row) as LogLine);
		expect(rows.length).toBeGreaterThan(10);
		expect(rows.map((r) => r.n)).toEqual(rows.map((_, i) => i + 1));
		expect(text.text()).toBe(rows.map((r) => `${r.text}\n`).join(''));
		const ticks = rows.filter((r) => /^tick \d+$/.test(r.text)).map((r) => Number(r.text.slice(5)));
		expect(ticks).toEqual(ticks.map((_, i) => i + 1));
		// the whole stored log, not just what streamed past
		const stored = await (await fetch(`${server.url}/api/v1/executions/${executionId}/log`)).text();
		expect(text.text()).toBe(stored);
	});

	it("prints a finished task's logs in step order and returns at once", async () => {
		const runId = await startRun('quick');
		expect(await followRun({ url: server.url, runId, out: sink().out, err: sink().out })).toBe(0);
		const { tasks } = await api<{ tasks: { id: string; key: string }[] }>(`/runs/${runId}`);
		const second = tasks.find((t) => t.key === 'second')!;
		const { out, text } = sink();
		expect(await followLog({ url: server.url, taskId: second.id, out, err: sink().out })).toBe(0);
		expect(text()).toBe('second-a\nno newline at end\n');
	});

	it('says in one line what was wrong when the id is unknown', async () => {
		const err = sink();
		expect(
			await followLog({ url: server.url, executionId: 'exec_nope', out: sink().out, err: err.out })
		).toBe(1);
		expect(err.text()).toMatch(/^aco: .+\n$/);
	});
});
