/**
 * Tools and producers that go silent, against a real server: an ingested task whose producer
 * reports nothing for the configured time is failed ("lost contact") for every watcher, one
 * that sends heartbeats is not, and a cancel from the API reaches `aco exec`, which stops its
 * command (SIGTERM, SIGKILL after the grace period for one that ignores it) and reports the
 * task cancelled. Healthy subscribers keep receiving meanwhile.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlMessage } from '../../src/lib/protocol/messages';
import type { EventEnvelope, IngestTaskResponse, Task, TaskResponse } from '../../src/lib/protocol';
import { acoApi, waitFor, type AcoApi } from '../helpers/aco-api';
import { startCli, type CliRun } from '../helpers/cli';
import { HealthyClients } from '../helpers/healthy-clients';
import { startAco, tempDir, type AcoProcess } from '../helpers/server';
import { connect, type TestClient } from '../helpers/ws-client';
import fs from 'node:fs';

const TOKEN = `producers-${Math.random().toString(36).slice(2)}`;
/** long enough that a loaded machine's slow requests never look like silence */
const SILENCE_MS = 3_000;
const AUTH = { headers: { authorization: `Bearer ${TOKEN}` } };

describe('producers that go silent or are cancelled', () => {
	let aco: AcoProcess;
	let api: AcoApi;
	let healthy: HealthyClients;
	let watcher: TestClient;
	let spool: string;

	beforeAll(async () => {
		aco = await startAco({ env: { ACO_TOKEN: TOKEN, ACO_INGEST_SILENCE_MS: String(SILENCE_MS) } });
		api = acoApi(aco, TOKEN);
		spool = tempDir('aco-producers-spool-');
		watcher = await connect(aco.wsUrl, AUTH, 10_000);
		await watcher.nextOfType('welcome', 10_000);
		await watcher.request({ type: 'subscribe', sub: 'tasks', filter: { types: ['task.*'] } }, 10_000);
		healthy = await HealthyClients.start(aco, { token: TOKEN, operatorToken: TOKEN });
	});

	afterAll(async () => {
		await healthy?.stop();
		await watcher?.close().catch(() => {});
		await aco?.stop();
		if (aco) fs.rmSync(aco.dataDir, { recursive: true, force: true });
		if (spool) fs.rmSync(spool, { recursive: true, force: true });
	});

	/** the event that ended a task, as the watcher received it live */
	const nextStatus = (taskId: string, timeoutMs = 20_000) =>
		waitFor(
			() =>
				watcher.messages.find(
					(m): m is EventEnvelope<'task.failed'> | EventEnvelope<'task.status'> =>
						(m.type === 'task.failed' || m.type === 'task.status') &&
						(m as EventEnvelope<'task.status'>).data.task_id === taskId &&
						(m as EventEnvelope<'task.status'>).data.task.status !== 'running'
				),
			timeoutMs,
			`task ${taskId} to end`
		);

	it("fails a silent REST or WebSocket producer's task as lost contact, but not one that sends heartbeats", async () => {
		const silent = await api.post<IngestTaskResponse>('/api/v1/tasks', { name: 'silent rest producer' });
		await api.post(`/api/v1/tasks/${silent.task.id}/events`, {
			events: [
				{ type: 'tool.start', step: 0, name: 'work' },
				{ type: 'output', step: 0, lines: [{ text: 'working…' }] }
			]
		});
		const producer = await connect(aco.wsUrl, AUTH, 10_000);
		await producer.nextOfType('welcome', 10_000);
		await producer.request({ type: 'producer.hello', token: TOKEN }, 10_000);
		const created = await producer.request<ControlMessage<'ingest.ack'>>(
			{ type: 'ingest.create_task', task: { name: 'silent ws producer' } },
			10_000
		);
		const wsTask = (created.data as { task: { id: string } }).task.id;
		const alive = await api.post<IngestTaskResponse>('/api/v1/tasks', { name: 'beating producer' });
		const failed = Promise.all([nextStatus(silent.task.id), nextStatus(wsTask)]);
		let beating = true;
		const beats = (async () => {
			while (beating) {
				await api.post(`/api/v1/tasks/${alive.task.id}/events`, { events: [{ type: 'heartbeat' }] });
				await new Promise((resolve) => setTimeout(resolve, SILENCE_MS / 5));
			}
		})();
		const [rest, ws] = await failed;
		beating = false;
		await beats;
		for (const event of [rest, ws]) {
			expect(event.type).toBe('task.failed');
			expect(event.data.task).toMatchObject({
				status: 'failed',
				error: `lost contact: the producer reported nothing for ${SILENCE_MS / 1000} s`
			});
		}
		const detail = await api.get<TaskResponse>(`/api/v1/tasks/${silent.task.id}`);
		expect(detail.task.executions[0]).toMatchObject({ status: 'interrupted' });
		expect((await api.get<TaskResponse>(`/api/v1/tasks/${alive.task.id}`)).task.status).toBe('running');
		// a producer heard from after it was given up gets told the task is over
		const late = await api.post<{ ignored: number; task: Task }>(`/api/v1/tasks/${silent.task.id}/events`, {
			events: [{ type: 'heartbeat' }]
		});
		expect(late).toMatchObject({ ignored: 1, task: { status: 'failed' } });
		await api.post(`/api/v1/tasks/${alive.task.id}/events`, {
			events: [{ type: 'status', status: 'succeeded' }]
		});
		await producer.close();
		await healthy.expectHealthy();
	});

	/** starts `aco exec` and resolves once the server shows its task running with its first line */
	async function startExec(
		name: string,
		script: string,
		extraArgs: string[] = []
	): Promise<{ run: CliRun; task: Task }> {
		const run = startCli(
			['exec', '--name', name, ...extraArgs, '--', 'sh', '-c', script],
			{ ACO_URL: aco.url, ACO_TOKEN: TOKEN, ACO_SPOOL_DIR: spool },
			60_000
		);
		const task = await waitFor(
			async () => {
				const { tasks } = await api.get<{ tasks: Task[] }>('/api/v1/tasks');
				const found = tasks.find((t) => t.name === name && t.status === 'running');
				if (!found) return undefined;
				const detail = await api.get<TaskResponse>(`/api/v1/tasks/${found.id}`);
				return detail.task.executions[0]?.line_count > 0 ? found : undefined;
			},
			30_000,
			`aco exec's task "${name}" to run`
		);
		return { run, task };
	}

	it('stops the command of aco exec when its task is cancelled, and reports it cancelled', async () => {
		const { run, task } = await startExec('cancel me', 'echo started; while :; do sleep 0.1; done');
		const asked = Date.now();
		const answer = await api.post<TaskResponse>(`/api/v1/tasks/${task.id}/cancel`);
		expect(answer.task.message).toMatch(/^Cancel requested/);
		const ended = await nextStatus(task.id);
		const tookMs = Date.now() - asked;
		expect(ended.data.task).toMatchObject({ status: 'cancelled' });
		const result = await run.done;
		expect(result.code).toBe(143);
		expect(result.stderr).toContain('the task was cancelled from the aco server');
		const detail = await api.get<TaskResponse>(`/api/v1/tasks/${task.id}`);
		expect(detail.task.executions[0]).toMatchObject({ status: 'cancelled', signal: 'SIGTERM' });
		console.log(`cancel → aco exec stopped its command and the task showed cancelled after ${tookMs} ms`);
		await healthy.expectHealthy();
	});

	it('kills a command that ignores SIGTERM once the grace period is over', async () => {
		const { run, task } = await startExec(
			'stubborn',
			"trap '' TERM; echo started; while :; do sleep 0.1; done",
			['--kill-grace', '500']
		);
		await api.post(`/api/v1/tasks/${task.id}/cancel`);
		const ended = await nextStatus(task.id);
		expect(ended.data.task).toMatchObject({ status: 'cancelled' });
		const result = await run.done;
		expect(result.code).toBe(137);
		const detail = await api.get<TaskResponse>(`/api/v1/tasks/${task.id}`);
		expect(detail.task.executions[0]).toMatchObject({ status: 'cancelled', signal: 'SIGKILL' });
		await healthy.expectHealthy();
	});
});
