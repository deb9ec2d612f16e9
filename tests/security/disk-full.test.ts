/**
 * A data folder that runs out of disk space, for real: the server's data folder is a 16 MiB
 * tmpfs (mounted by the test, which needs root, as CI has), and a tool prints until it is full.
 * The task fails with a message that says so, every watcher sees that live, the server keeps
 * answering; once the disk has room again (the tmpfs is grown), new work runs and healthy
 * subscribers receive everything.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventEnvelope, RunResponse, TasksResponse } from '../../src/lib/protocol';
import { acoApi, runWorkflow, waitFor, waitForRun, writeWorkflow, type AcoApi } from '../helpers/aco-api';
import { HealthyClients } from '../helpers/healthy-clients';
import { startAco, tempDir, type AcoProcess } from '../helpers/server';
import { connect, type TestClient } from '../helpers/ws-client';

/** mounting a tmpfs takes root (CI runs as root); elsewhere the case says so and is skipped */
const IS_ROOT = process.getuid?.() === 0;
if (!IS_ROOT) console.warn('disk-full test skipped: mounting a small tmpfs as the data folder needs root');

describe.skipIf(!IS_ROOT)('a data folder that runs out of disk space', () => {
	let root: string;
	let dataDir: string;
	let mounted = false;
	let aco: AcoProcess;
	let api: AcoApi;
	let watcher: TestClient;
	let workflows: string;

	beforeAll(async () => {
		root = tempDir('aco-disk-full-');
		dataDir = path.join(root, 'data');
		fs.mkdirSync(dataDir);
		execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m,mode=0700', 'tmpfs', dataDir], { stdio: 'pipe' });
		mounted = true;
		workflows = tempDir('aco-disk-full-wf-');
		const workflow = (name: string, script: string) =>
			writeWorkflow(workflows, name, { run: 'sh', args: ['-c', script] });
		workflow(
			'fill',
			"yes 'filling the data folder with this line of text, again and again' | head -c 300000000"
		);
		workflow('small', 'echo one; echo two');
		aco = await startAco({ dataDir, workflowsDir: workflows, env: { ACO_DISK_RETRY_MS: '200' } });
		api = acoApi(aco);
		watcher = await connect(aco.wsUrl, {}, 10_000);
		await watcher.nextOfType('welcome', 10_000);
		await watcher.request({ type: 'subscribe', sub: 'tasks', filter: { types: ['task.*'] } }, 10_000);
	});

	afterAll(async () => {
		await watcher?.close().catch(() => {});
		await aco?.stop();
		if (mounted) execFileSync('umount', [dataDir]);
		if (root) fs.rmSync(root, { recursive: true, force: true });
		if (workflows) fs.rmSync(workflows, { recursive: true, force: true });
	});

	it('fails the task with a clear message, keeps answering, and runs new work once there is room', async () => {
		const { run } = await api.post<RunResponse>('/api/v1/workflows/fill/runs');
		// the server answers while the disk fills and after
		const health: number[] = [];
		const finished = waitForRun(api, run.id, 60_000);
		let done = false;
		void finished.finally(() => (done = true));
		while (!done) {
			health.push((await fetch(`${aco.url}/api/v1/healthz`)).status);
			await new Promise((resolve) => setTimeout(resolve, 100));
		}
		const { tasks } = await finished;
		expect(tasks[0]).toMatchObject({
			status: 'failed',
			error: expect.stringMatching(
				/^step 'run' failed: the data folder is full, so this task's output could not be stored \(.*\); free disk space and run it again$/
			)
		});
		expect(tasks[0].executions[0].status).toBe('failed');
		expect(health.every((status) => status === 200)).toBe(true);
		// every watcher saw the failure live, and its connection stayed open
		const failed = await waitFor(() =>
			watcher.messages.find(
				(m) => m.type === 'task.failed' && (m as EventEnvelope<'task.failed'>).data.task_id === tasks[0].id
			)
		);
		expect((failed as EventEnvelope<'task.failed'>).data.error).toMatch(/data folder is full/);
		expect(watcher.isOpen).toBe(true);
		expect((await api.get<TasksResponse>('/api/v1/tasks')).tasks[0].id).toBe(tasks[0].id);
		expect(aco.output()).toContain('the data folder is full');

		// room again: the server notices by itself and new work is stored and streamed
		execFileSync('mount', ['-o', 'remount,size=64m', dataDir]);
		await waitFor(
			() => aco.output().includes('the data folder has room again'),
			20_000,
			'the server to notice'
		);
		const small = await runWorkflow(api, 'small');
		expect(small.tasks[0]).toMatchObject({ status: 'succeeded' });
		expect(small.tasks[0].executions[0].line_count).toBe(2);
		const healthy = await HealthyClients.start(aco);
		try {
			await healthy.expectHealthy();
		} finally {
			await healthy.stop();
		}
	});
});
