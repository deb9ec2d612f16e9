/**
 * The whole server as a user runs it (server.ts on the adapter-node build, SQLite, real tools),
 * driven over REST and real WebSocket clients.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
	AnyEventEnvelope,
	EventEnvelope,
	LogLine,
	RunDetailResponse,
	RunResponse,
	TaskResponse,
	WorkflowsResponse
} from '../../src/lib/protocol';
import { liveLines } from '../helpers/live-lines';
import { ROOT, startAco, tempDir, type AcoProcess } from '../helpers/server';
import { connect, upgradeRequest, type TestClient } from '../helpers/ws-client';

const FIXTURES = path.join(ROOT, 'tests/fixtures/workflows');

async function api<T>(aco: AcoProcess, method: string, url: string): Promise<{ status: number; body: T }> {
	const res = await fetch(aco.url + url, { method });
	const body = (await res.json()) as T;
	return { status: res.status, body };
}

/** Opens a client subscribed to everything and returns it once the subscription is confirmed. */
async function subscriber(aco: AcoProcess, filter: Record<string, unknown> = {}): Promise<TestClient> {
	const client = await connect(aco.wsUrl);
	await client.nextOfType('welcome');
	await client.request({ type: 'subscribe', sub: 'all', filter });
	return client;
}

function events(client: TestClient): AnyEventEnvelope[] {
	return client.messages.filter((m): m is AnyEventEnvelope => 'seq' in m && typeof m.seq === 'number');
}

async function untilRunEnds(client: TestClient, runId: string, timeoutMs = 30_000) {
	return client.next<AnyEventEnvelope>(
		(m) =>
			(m.type === 'workflow.completed' || m.type === 'workflow.failed') &&
			(m as EventEnvelope<'workflow.completed'>).data.run_id === runId,
		timeoutMs
	);
}

describe('aco server', () => {
	let aco: AcoProcess;

	beforeAll(async () => {
		aco = await startAco({ workflowsDir: FIXTURES, env: { ACO_KILL_GRACE_MS: '500' } });
	});
	afterAll(async () => {
		await aco?.stop();
	});

	it('answers health checks and unknown API paths with JSON errors', async () => {
		const health = await api<{ status: string }>(aco, 'GET', '/api/v1/healthz');
		expect(health).toMatchObject({ status: 200, body: { status: 'ok' } });
		const missing = await api<{ error: { code: string } }>(aco, 'GET', '/api/v1/nope');
		expect(missing.status).toBe(404);
		expect(missing.body.error.code).toBe('not_found');
		const badQuery = await api<{ error: { code: string; message: string } }>(
			aco,
			'GET',
			'/api/v1/tasks?status=sleeping'
		);
		expect(badQuery.status).toBe(400);
		expect(badQuery.body.error.message).toContain('status');
		const noTask = await api<{ error: { code: string } }>(aco, 'GET', '/api/v1/tasks/task_missing');
		expect(noTask.status).toBe(404);
		const noWorkflow = await api<{ error: { code: string } }>(aco, 'POST', '/api/v1/workflows/nope/runs');
		expect(noWorkflow).toMatchObject({ status: 404, body: { error: { code: 'workflow_not_found' } } });
	});

	it('answers a method an endpoint does not have with 405, the allowed methods and a JSON error', async () => {
		const res = await fetch(`${aco.url}/api/v1/healthz`, { method: 'POST' });
		expect(res.status).toBe(405);
		expect(res.headers.get('allow')).toContain('GET');
		expect(res.headers.get('content-type')).toContain('application/json');
		const body = (await res.json()) as { error: { code: string; message: string } };
		expect(body.error.code).toBe('method_not_allowed');
		expect(body.error.message).toContain('GET');
	});

	it('lists the workflows and reports a broken file with its path and reason', async () => {
		const { body } = await api<WorkflowsResponse>(aco, 'GET', '/api/v1/workflows');
		expect(body.workflows.map((w) => w.name).sort()).toEqual(['failing', 'quick', 'slow']);
		expect(body.errors).toHaveLength(1);
		expect(body.errors[0].file).toContain('broken.yml');
		expect(body.errors[0].reason).toContain('does-not-exist');
	});

	it('refuses to start runs for a page on another site, but not for its own page or curl', async () => {
		const post = (origin?: string) =>
			fetch(`${aco.url}/api/v1/workflows/nope/runs`, {
				method: 'POST',
				headers: origin ? { origin } : {}
			});
		const foreign = await post('https://evil.example');
		expect(foreign.status).toBe(403);
		expect(((await foreign.json()) as { error: { code: string } }).error.code).toBe('forbidden_origin');
		expect((await post(aco.url)).status).toBe(404);
		expect((await post()).status).toBe(404);
		const ws = await upgradeRequest(aco.wsUrl, { Origin: 'https://evil.example' });
		expect(ws.status).toBe(403);
	});

	it('refuses WebSocket upgrades on any path but /ws', async () => {
		const res = await upgradeRequest(aco.url + '/not-ws');
		expect(res.status).toBe(404);
	});

	it('streams the events of a real run in order, and the log download equals the streamed lines', async () => {
		const client = await subscriber(aco);
		const { status, body } = await api<RunResponse>(aco, 'POST', '/api/v1/workflows/quick/runs');
		expect(status).toBe(201);
		const end = await untilRunEnds(client, body.run.id);
		expect(end.type).toBe('workflow.completed');

		const all = events(client).filter((e) => (e.data as { run_id?: string }).run_id === body.run.id);
		const seqs = all.map((e) => e.seq);
		expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
		expect(new Set(seqs).size).toBe(seqs.length);

		const detail = await api<RunDetailResponse>(aco, 'GET', `/api/v1/runs/${body.run.id}`);
		expect(detail.body.run.status).toBe('succeeded');
		expect(detail.body.run.progress).toBe(100);
		const byKey = Object.fromEntries(detail.body.tasks.map((t) => [t.key, t]));
		expect(byKey.first.status).toBe('succeeded');
		expect(byKey.second.status).toBe('succeeded');

		const order = (pred: (e: AnyEventEnvelope) => boolean) => all.findIndex(pred);
		const of = (type: string, taskId: string) => (e: AnyEventEnvelope) =>
			e.type === type && (e.data as { task_id?: string }).task_id === taskId;
		const first = byKey.first.id;
		const second = byKey.second.id;
		expect(order(of('task.created', first))).toBeGreaterThanOrEqual(0);
		expect(order(of('task.created', first))).toBeLessThan(order(of('tool.started', first)));
		expect(order(of('tool.started', first))).toBeLessThan(order(of('tool.lines', first)));
		expect(order(of('tool.completed', first))).toBeLessThan(order(of('task.completed', first)));
		expect(order(of('task.completed', first))).toBeLessThan(order(of('tool.started', second)));
		expect(order(of('task.completed', second))).toBeLessThan(all.length - 1);
		expect(all.at(-1)?.type).toBe('workflow.completed');
		const progress = all
			.filter(of('task.progress', first))
			.map((e) => (e as EventEnvelope<'task.progress'>).data.progress);
		// progress is coalesced (latest value wins), so fast lines may merge; it only rises and ends at 100
		expect(progress).toEqual([...progress].sort((a, b) => a - b));
		expect(progress.at(-1)).toBe(100);
		expect(byKey.first.message).toBe('counted 50');

		// every execution: streamed lines == stored lines == downloaded file
		const tasks = await Promise.all(
			[first, second].map((id) => api<TaskResponse>(aco, 'GET', `/api/v1/tasks/${id}`))
		);
		const executions = tasks.flatMap((t) => t.body.task.executions);
		expect(executions).toHaveLength(3);
		for (const execution of executions) {
			const streamed = liveLines(all).filter((l) => l.execution_id === execution.id);
			expect(streamed.map((l) => l.line)).toEqual(streamed.map((_, i) => i + 1));
			expect(execution.line_count).toBe(streamed.length);

			const res = await fetch(`${aco.url}/api/v1/executions/${execution.id}/log`);
			expect(res.headers.get('content-type')).toContain('text/plain');
			expect(res.headers.get('content-disposition')).toContain('attachment');
			const text = await res.text();
			expect(text).toBe(streamed.map((l) => l.output + '\n').join(''));

			const ndjson = await (
				await fetch(`${aco.url}/api/v1/executions/${execution.id}/log?format=ndjson`)
			).text();
			const lines = ndjson
				.trim()
				.split('\n')
				.map((l) => JSON.parse(l) as LogLine);
			expect(lines.map((l) => [l.n, l.stream, l.text])).toEqual(
				streamed.map((l) => [l.line, l.is_stderr ? 'stderr' : 'stdout', l.output])
			);
			const after = await (await fetch(`${aco.url}/api/v1/executions/${execution.id}/log?after=1`)).text();
			expect(after).toBe(
				streamed
					.slice(1)
					.map((l) => l.output + '\n')
					.join('')
			);
			// at most `limit` lines after `after`: a client fetching a few late lines of a long log
			const some = await (
				await fetch(`${aco.url}/api/v1/executions/${execution.id}/log?after=1&limit=1`)
			).text();
			expect(some).toBe(streamed.length > 1 ? streamed[1]!.output + '\n' : '');
			const zero = await fetch(`${aco.url}/api/v1/executions/${execution.id}/log?limit=0`);
			expect(zero.status).toBe(400);
			expect(((await zero.json()) as { error: { message: string } }).error.message).toMatch(/limit/);
		}
		const counting = executions.find((e) => e.task_id === first)!;
		const text = await (await fetch(`${aco.url}/api/v1/executions/${counting.id}/log?format=ndjson`)).text();
		const stderr = text
			.trim()
			.split('\n')
			.map((l) => JSON.parse(l) as LogLine)
			.filter((l) => l.stream === 'stderr');
		expect(stderr.map((l) => l.text)).toEqual(['a warning on stderr']);
		const partial = executions.find((e) => e.name === 'two')!;
		expect(await (await fetch(`${aco.url}/api/v1/executions/${partial.id}/log`)).text()).toBe(
			'no newline at end\n'
		);
		// the searcher is built by the server, the route checks its error: both must agree on it
		const bad = await fetch(
			`${aco.url}/api/v1/executions/${counting.id}/search?q=${encodeURIComponent('(a')}&regex=1`
		);
		expect(bad.status).toBe(400);
		expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('invalid_regex');
		await client.close();
	});

	it('fails a broken task and its dependants, but not the run for an optional failure alone', async () => {
		const client = await subscriber(aco, { types: ['task.failed', 'workflow.*'] });
		const { body } = await api<RunResponse>(aco, 'POST', '/api/v1/workflows/failing/runs');
		const end = await untilRunEnds(client, body.run.id);
		expect(end.type).toBe('workflow.failed');
		const detail = await api<RunDetailResponse>(aco, 'GET', `/api/v1/runs/${body.run.id}`);
		const byKey = Object.fromEntries(detail.body.tasks.map((t) => [t.key, t]));
		expect(byKey.breaks.status).toBe('failed');
		expect(byKey.after.status).toBe('failed');
		expect(byKey.after.error ?? byKey.after.message).toContain('breaks');
		expect(byKey.flaky.status).toBe('failed');
		const failed = events(client)
			.filter((e) => e.type === 'task.failed')
			.map((e) => (e.data as { task_id: string }).task_id);
		expect(failed.sort()).toEqual([byKey.breaks.id, byKey.after.id, byKey.flaky.id].sort());
		const breaks = await api<TaskResponse>(aco, 'GET', `/api/v1/tasks/${byKey.breaks.id}`);
		expect(breaks.body.task.executions[0]).toMatchObject({ status: 'failed', exit_code: 3 });
		await client.close();
	});

	it('cancels a running workflow and says so when asked twice', async () => {
		const client = await subscriber(aco, { types: ['tool.lines', 'workflow.*'] });
		const { body } = await api<RunResponse>(aco, 'POST', '/api/v1/workflows/slow/runs');
		await client.next((m) => m.type === 'tool.lines', 10_000);
		const started = Date.now();
		const cancel = await api<RunResponse>(aco, 'POST', `/api/v1/runs/${body.run.id}/cancel`);
		expect(cancel.status).toBe(200);
		const end = await untilRunEnds(client, body.run.id, 10_000);
		expect(end.type).toBe('workflow.failed');
		expect((end as EventEnvelope<'workflow.failed'>).data.status).toBe('cancelled');
		expect(Date.now() - started).toBeLessThan(5_000);
		const again = await api<{ error: { code: string } }>(aco, 'POST', `/api/v1/runs/${body.run.id}/cancel`);
		expect(again.status).toBe(409);
		await client.close();
	});
});

describe('aco server restart', () => {
	it('closes sockets with 1012 (restart) on SIGTERM and marks what was running as interrupted on the next start', async () => {
		const first = await startAco({ workflowsDir: FIXTURES });
		const client = await subscriber(first, { types: ['tool.lines'] });
		const { body } = await api<RunResponse>(first, 'POST', '/api/v1/workflows/slow/runs');
		await client.next((m) => m.type === 'tool.lines', 10_000);
		expect(await first.stop('SIGTERM')).toBe(0);
		expect((await client.waitForClose()).code).toBe(1012);

		const second = await startAco({ workflowsDir: FIXTURES, dataDir: first.dataDir });
		try {
			const detail = await api<RunDetailResponse>(second, 'GET', `/api/v1/runs/${body.run.id}`);
			expect(detail.body.run.status).toBe('interrupted');
			expect(detail.body.tasks[0].status).toBe('interrupted');
			const task = await api<TaskResponse>(second, 'GET', `/api/v1/tasks/${detail.body.tasks[0].id}`);
			const execution = task.body.task.executions[0];
			expect(execution.status).toBe('interrupted');
			expect(execution.line_count).toBeGreaterThan(0);
			const log = await (await fetch(`${second.url}/api/v1/executions/${execution.id}/log`)).text();
			expect(log.split('\n')[0]).toBe('tick 1');
		} finally {
			await second.stop();
		}
	});

	it("refuses to start a second server on a data folder in use, leaving the first one's running work alone", async () => {
		const first = await startAco({ workflowsDir: FIXTURES });
		try {
			const client = await subscriber(first, { types: ['tool.lines'] });
			const { body } = await api<RunResponse>(first, 'POST', '/api/v1/workflows/slow/runs');
			await client.next((m) => m.type === 'tool.lines', 10_000);
			const second = startAco({ workflowsDir: FIXTURES, dataDir: first.dataDir });
			// a second server that did start must not outlive the test
			second.then((aco) => aco.stop()).catch(() => {});
			await expect(second).rejects.toThrow(/data folder .* is in use/);
			const detail = await api<RunDetailResponse>(first, 'GET', `/api/v1/runs/${body.run.id}`);
			expect(detail.body.run.status).toBe('running');
			expect(detail.body.tasks[0].status).toBe('running');
			await client.close();
		} finally {
			await first.stop();
		}
	});

	it('marks what a killed process left running as interrupted when it starts again', async () => {
		const first = await startAco({ workflowsDir: FIXTURES });
		const client = await subscriber(first, { types: ['tool.lines'] });
		const { body } = await api<RunResponse>(first, 'POST', '/api/v1/workflows/slow/runs');
		await client.next((m) => m.type === 'tool.lines', 10_000);
		await first.stop('SIGKILL');

		const second = await startAco({ workflowsDir: FIXTURES, dataDir: first.dataDir });
		try {
			const detail = await api<RunDetailResponse>(second, 'GET', `/api/v1/runs/${body.run.id}`);
			expect(detail.body.run.status).toBe('interrupted');
			const task = await api<TaskResponse>(second, 'GET', `/api/v1/tasks/${detail.body.tasks[0].id}`);
			expect(task.body.task.status).toBe('interrupted');
			expect(task.body.task.error).toMatch(/server stopped/);
			expect(task.body.task.executions[0].status).toBe('interrupted');
		} finally {
			await second.stop();
		}
	});
});

describe('a large workflow file', () => {
	let aco: AcoProcess;
	const TASKS = 2_000;
	beforeAll(async () => {
		const workflowsDir = tempDir('aco-big-workflow-');
		let text = 'name: big\ntasks:\n';
		for (let i = 0; i < TASKS; i++) text += `  t${i}:\n    steps: [{ run: "echo ${i}" }]\n`;
		fs.writeFileSync(path.join(workflowsDir, 'big.yml'), text);
		fs.writeFileSync(
			path.join(workflowsDir, 'small.yml'),
			'name: small\ntasks:\n  a:\n    steps: [{ run: "true" }]\n'
		);
		aco = await startAco({ workflowsDir });
	});
	afterAll(async () => {
		await aco?.stop();
	});

	it('is parsed in a thread of its own by the built server, and lists like a small one', async () => {
		const { status, body } = await api<WorkflowsResponse>(aco, 'GET', '/api/v1/workflows');
		expect(status).toBe(200);
		expect(body.workflows.map((w) => [w.name, w.tasks.length])).toEqual([
			['big', TASKS],
			['small', 1]
		]);
		// the thread's module was found beside the bundle: the server never fell back to its loop
		expect(aco.output()).not.toContain('parsing a large workflow file in a thread failed');
	});
});
