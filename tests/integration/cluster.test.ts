/**
 * Three real aco nodes on one real PostgreSQL (no mocks): migrations once at a simultaneous
 * start, work spread over the nodes, run progress from the node running a task, cancel across nodes, kill -9 of the node running a task
 * (interrupted, or started again elsewhere, within the lease; the stored log a gap-free prefix),
 * an ingested task whose node died with its producer (failed by another node as lost contact),
 * a cancel of an ingested task asked of another node than the one its producer reports to,
 * and PostgreSQL stopped and started (healthz 503, retryable ingest errors, then recovery).
 */
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
	HealthResponse,
	LogLine,
	RunDetailResponse,
	RunResponse,
	TaskResponse
} from '../../src/lib/protocol';
import { startCluster, type TestCluster } from '../helpers/cluster';
import { ROOT, type AcoProcess } from '../helpers/server';

const WORKFLOWS = path.join(ROOT, 'tests/fixtures/cluster-workflows');
/** short, so a dead node's tasks move within seconds; renewed every third of it */
const LEASE_MS = 1_500;
/** how long an ingested task's producer may be silent before its task fails as "lost contact" */
const SILENCE_MS = 2_000;

async function api<T>(node: AcoProcess, method: string, url: string, body?: unknown): Promise<T> {
	const res = await fetch(node.url + url, {
		method,
		headers: body === undefined ? {} : { 'content-type': 'application/json' },
		body: body === undefined ? undefined : JSON.stringify(body)
	});
	if (!res.ok) throw new Error(`${method} ${url} on ${node.url}: ${res.status} ${await res.text()}`);
	return (await res.json()) as T;
}

/** polls `probe` until it returns a value (not undefined), or fails after `timeoutMs` */
async function until<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 20_000): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const value = await probe().catch(() => undefined);
		if (value !== undefined) return value;
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await new Promise((resolve) => setTimeout(resolve, 50));
	}
}

const runOf = (node: AcoProcess, id: string) => api<RunDetailResponse>(node, 'GET', `/api/v1/runs/${id}`);
const taskOf = async (node: AcoProcess, id: string) =>
	(await api<TaskResponse>(node, 'GET', `/api/v1/tasks/${id}`)).task;
const linesOf = async (node: AcoProcess, executionId: string): Promise<LogLine[]> => {
	const text = await (await fetch(`${node.url}/api/v1/executions/${executionId}/log?format=ndjson`)).text();
	return text
		.split('\n')
		.filter(Boolean)
		.map((line) => JSON.parse(line) as LogLine);
};

/** the stored log is `ran on <node>` then `line 1`, `line 2`, … with no gap */
function expectGapFreePrefix(lines: LogLine[], node: string): void {
	expect(lines[0]?.text).toBe(`ran on ${node}`);
	lines.forEach((line, i) => expect(line.n).toBe(i + 1));
	lines.slice(1).forEach((line, i) => expect(line.text).toBe(`line ${i + 1}`));
}

describe('a cluster of three nodes on one PostgreSQL', () => {
	let cluster: TestCluster;
	const byId = (id: string) => cluster.nodes[cluster.ids.indexOf(id)];

	beforeAll(async () => {
		cluster = await startCluster({
			nodes: 3,
			workflowsDir: WORKFLOWS,
			env: {
				ACO_LEASE_MS: String(LEASE_MS),
				ACO_CONCURRENCY: '1',
				ACO_KILL_GRACE_MS: '500',
				ACO_INGEST_SILENCE_MS: String(SILENCE_MS)
			}
		});
	}, 120_000);
	afterAll(async () => {
		for (const node of cluster?.nodes ?? []) {
			if (node.proc.exitCode !== null || node.proc.signalCode !== null)
				console.log(
					'DEAD NODE',
					node.url,
					node.proc.exitCode,
					node.proc.signalCode,
					node.output().slice(-3000)
				);
		}
		await cluster?.stop();
	});

	/** starts a run through `via` and waits until its first task has printed which node runs it */
	async function startOn(via: AcoProcess, workflow: string) {
		const { run } = await api<RunResponse>(via, 'POST', `/api/v1/workflows/${workflow}/runs`);
		const { task, execution } = await until(async () => {
			const [first] = (await runOf(via, run.id)).tasks;
			const detail = await taskOf(via, first.id);
			const execution = detail.executions.at(-1);
			return execution && execution.line_count >= 2 ? { task: detail, execution } : undefined;
		}, `a task of ${workflow} to run`);
		const [head] = await linesOf(via, execution.id);
		const node = /^ran on (.+)$/.exec(head.text)![1];
		return { run, task, execution, node };
	}

	it('applies the migrations once when the nodes start at once on an empty database', async () => {
		const client = new pg.Client({ connectionString: cluster.databaseUrl });
		await client.connect();
		try {
			const { rows } = await client.query<{ version: number; applied_by: string }>(
				'SELECT version, applied_by FROM aco_migrations ORDER BY version'
			);
			expect(rows.map((row) => row.version)).toEqual(rows.map((_, i) => i + 1));
			expect(new Set(rows.map((row) => row.applied_by)).size).toBe(1);
			expect(cluster.ids).toContain(rows[0].applied_by);
		} finally {
			await client.end();
		}
		for (const node of cluster.nodes) {
			const health = await api<HealthResponse>(node, 'GET', '/api/v1/healthz');
			expect(health).toMatchObject({ status: 'ok', database: { kind: 'postgres', ok: true } });
		}
	});

	it('spreads the tasks of a run over the nodes, each running one at a time', async () => {
		const { run } = await api<RunResponse>(cluster.nodes[0], 'POST', '/api/v1/workflows/spread/runs');
		const done = await until(
			async () => {
				const detail = await runOf(cluster.nodes[1], run.id);
				return detail.run.status === 'running' ? undefined : detail;
			},
			'the spread run to end',
			40_000
		);
		expect(done.run).toMatchObject({ status: 'succeeded', progress: 100 });
		const ranOn = new Set<string>();
		for (const task of done.tasks) {
			const [execution] = (await taskOf(cluster.nodes[2], task.id)).executions;
			ranOn.add((await linesOf(cluster.nodes[2], execution.id))[0].text);
		}
		// six one-second tasks and one slot per node: every node took a share
		expect([...ranOn].sort()).toEqual(cluster.ids.map((id) => `ran on ${id}`));
	});

	it('cancels a task from a node that does not run it, and the node running it stops the tool', async () => {
		const { run, task, node } = await startOn(cluster.nodes[0], 'endless');
		const other = cluster.nodes.find((candidate) => candidate !== byId(node))!;
		const asked = Date.now();
		await api(other, 'POST', `/api/v1/tasks/${task.id}/cancel`);
		const ended = await until(async () => {
			const detail = await taskOf(other, task.id);
			return detail.status === 'cancelled' ? detail : undefined;
		}, 'the cancelled task');
		const execution = ended.executions[0];
		expect(execution).toMatchObject({ status: 'cancelled', signal: 'SIGTERM' });
		// the tool's own end, as its node stored it: the signal reached it across nodes (how soon is a
		// benchmark's question; the bound allows for a loaded machine)
		expect(Date.parse(execution.finished_at!) - asked).toBeLessThan(5_000);
		await until(
			async () => ((await runOf(other, run.id)).run.status !== 'running' ? true : undefined),
			'the run to end'
		);
	});

	it("moves a run's progress with the progress its task reports on the node running it, and a cancelled run keeps it", async () => {
		const { run, node } = await startOn(cluster.nodes[0], 'partway');
		const witness = cluster.nodes.find((candidate) => candidate !== byId(node))!;
		// 40 % of weight 3, out of 4: stored by the node running the task, read on another
		await until(
			async () => ((await runOf(witness, run.id)).run.progress === 30 ? true : undefined),
			"the run's progress to follow its task"
		);
		await api(witness, 'POST', `/api/v1/runs/${run.id}/cancel`);
		const ended = await until(async () => {
			const detail = await runOf(witness, run.id);
			return detail.run.status === 'running' ? undefined : detail;
		}, 'the cancelled run to end');
		expect(ended.run).toMatchObject({ status: 'cancelled', progress: 30 });
	});

	it('marks the task of a node killed with -9 interrupted within the lease, its stored log a gap-free prefix', async () => {
		const { run, task, execution, node } = await startOn(cluster.nodes[0], 'endless');
		const victim = cluster.ids.indexOf(node);
		const witness = cluster.nodes[(victim + 1) % cluster.nodes.length];
		await until(
			async () => ((await taskOf(witness, task.id)).executions[0].line_count > 20 ? true : undefined),
			'some lines'
		);
		await cluster.nodes[victim].stop('SIGKILL');
		const killed = Date.now();

		const interrupted = await until(async () => {
			const detail = await taskOf(witness, task.id);
			return detail.status === 'interrupted' ? detail : undefined;
		}, 'the task to be interrupted');
		const movedAfter = Date.now() - killed;
		// expiry (≤ 1 lease after the last renewal) plus one sweep (½ lease), with room for a loaded machine
		expect(movedAfter).toBeLessThan(3 * LEASE_MS + 2_000);
		expect(interrupted.error).toMatch(/stopped renewing its hold/);
		expect(interrupted.executions[0]).toMatchObject({ id: execution.id, status: 'interrupted' });
		// the run is settled after its task is released, in a step of its own
		const settled = await until(async () => {
			const detail = await runOf(witness, run.id);
			return detail.run.status === 'running' ? undefined : detail;
		}, 'the run to settle');
		expect(settled.run).toMatchObject({ status: 'interrupted' });

		const lines = await linesOf(witness, execution.id);
		expect(lines.length).toBeGreaterThan(20);
		expectGapFreePrefix(lines, node);
		expect((await taskOf(witness, task.id)).executions[0].line_count).toBe(lines.length);

		await cluster.restart(victim);
	}, 60_000);

	it('starts the task again on another node when its node dies and the workflow allows a retry', async () => {
		const { run, task, execution, node } = await startOn(cluster.nodes[1], 'retried');
		const victim = cluster.ids.indexOf(node);
		await cluster.nodes[victim].stop('SIGKILL');
		const witness = cluster.nodes[(victim + 1) % cluster.nodes.length];

		const done = await until(
			async () => {
				const detail = await runOf(witness, run.id);
				return detail.run.status === 'running' ? undefined : detail;
			},
			'the retried run to end',
			40_000
		);
		expect(done.run.status).toBe('succeeded');
		const detail = await taskOf(witness, task.id);
		expect(detail.status).toBe('succeeded');
		const [first, second] = detail.executions;
		expect(first).toMatchObject({ id: execution.id, status: 'interrupted' });
		expectGapFreePrefix(await linesOf(witness, first.id), node);
		expect(second).toMatchObject({ status: 'succeeded', line_count: 151 });
		const rerun = await linesOf(witness, second.id);
		expect(rerun[0].text).not.toBe(`ran on ${node}`);
		expectGapFreePrefix(rerun, rerun[0].text.slice('ran on '.length));

		await cluster.restart(victim);
	}, 60_000);

	it('fails an ingested task whose node died with its producer, from another node, and keeps one whose producer moved on', async () => {
		const victim = 2;
		const heartbeat = (node: AcoProcess, id: string) =>
			api(node, 'POST', `/api/v1/tasks/${id}/events`, { events: [{ type: 'heartbeat' }] });
		const start = async (node: AcoProcess, name: string) => {
			const { task } = await api<{ task: { id: string } }>(node, 'POST', '/api/v1/tasks', {
				name,
				status: 'running'
			});
			await heartbeat(node, task.id);
			return task.id;
		};
		const orphan = await start(cluster.nodes[victim], 'orphan');
		const moved = await start(cluster.nodes[1], 'moved');
		// the orphan's node dies with its producer; the other producer's requests go to another
		// node from now on (a proxy), for three times the silence allowed
		await cluster.nodes[victim].stop('SIGKILL');
		const since = Date.now();
		while (Date.now() - since < 3 * SILENCE_MS) {
			await heartbeat(cluster.nodes[0], moved);
			await new Promise((resolve) => setTimeout(resolve, 200));
		}
		expect((await taskOf(cluster.nodes[1], moved)).status).toBe('running');
		const failed = await until(async () => {
			const task = await taskOf(cluster.nodes[1], orphan);
			return task.status === 'running' ? undefined : task;
		}, 'the orphaned task to end');
		expect(failed).toMatchObject({ status: 'failed', error: expect.stringMatching(/^lost contact/) });
		// the moved producer goes silent too
		const silent = await until(async () => {
			const task = await taskOf(cluster.nodes[0], moved);
			return task.status === 'running' ? undefined : task;
		}, 'the moved task to end once its producer is silent');
		expect(silent).toMatchObject({ status: 'failed', error: expect.stringMatching(/^lost contact/) });

		await cluster.restart(victim);
	}, 60_000);

	it('tells an ingested task’s producer reporting to one node of a cancel asked of another', async () => {
		const { task } = await api<{ task: { id: string } }>(cluster.nodes[0], 'POST', '/api/v1/tasks', {
			name: 'cancelled elsewhere',
			status: 'running'
		});
		const report = (body: unknown) =>
			api<{ cancel_requested: boolean; task: { status: string } }>(
				cluster.nodes[0],
				'POST',
				`/api/v1/tasks/${task.id}/events`,
				body
			);
		expect((await report({ events: [{ type: 'heartbeat' }] })).cancel_requested).toBe(false);
		await api(cluster.nodes[1], 'POST', `/api/v1/tasks/${task.id}/cancel`);
		expect((await report({ events: [{ type: 'heartbeat' }] })).cancel_requested).toBe(true);
		const done = await report({ events: [{ type: 'status', status: 'cancelled' }] });
		expect(done.task.status).toBe('cancelled');
	});

	it('answers 503 on healthz and refuses ingest retryably while PostgreSQL is down, then recovers', async () => {
		await cluster.pg.stop();
		try {
			for (const node of cluster.nodes) {
				const res = await fetch(`${node.url}/api/v1/healthz`);
				expect(res.status).toBe(503);
				const health = (await res.json()) as HealthResponse;
				expect(health.database).toMatchObject({ kind: 'postgres', ok: false });
				// anyone may ask: the answer names no address, port or driver error
				expect(health.database?.error).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|localhost/);
			}
			const refused = await fetch(`${cluster.nodes[0].url}/api/v1/tasks`, {
				method: 'POST',
				headers: { 'content-type': 'application/json', 'idempotency-key': 'during-outage' },
				body: JSON.stringify({ name: 'during outage' })
			});
			expect(refused.status).toBe(503);
			expect(refused.headers.get('retry-after')).toBeTruthy();
			const { error } = (await refused.json()) as { error: { code: string; message: string } };
			expect(error.code).toBe('store_unavailable');
			expect(error.message).not.toMatch(/ECONNREFUSED|127\.0\.0\.1/);
			// without a key too (a plain insert rather than a transaction)
			const unkeyed = await fetch(`${cluster.nodes[1].url}/api/v1/tasks`, {
				method: 'POST',
				headers: { 'content-type': 'application/json' },
				body: JSON.stringify({ name: 'unkeyed during outage' })
			});
			expect(unkeyed.status).toBe(503);
			expect(unkeyed.headers.get('retry-after')).toBeTruthy();
			expect(((await unkeyed.json()) as { error: { code: string } }).error.code).toBe('store_unavailable');
		} finally {
			await cluster.pg.start();
		}
		for (const node of cluster.nodes) {
			await until(
				async () => ((await fetch(`${node.url}/api/v1/healthz`)).status === 200 ? true : undefined),
				'healthz 200'
			);
		}
		// the retried request creates its task once
		const created = await api<{ task: { id: string }; existing: boolean }>(
			cluster.nodes[1],
			'POST',
			'/api/v1/tasks',
			{
				name: 'during outage',
				idempotency_key: 'during-outage'
			}
		);
		expect(created.existing).toBe(false);
		// and work flows again, claimed by whichever node is free
		const { run } = await api<RunResponse>(cluster.nodes[2], 'POST', '/api/v1/workflows/spread/runs');
		const done = await until(
			async () => {
				const detail = await runOf(cluster.nodes[0], run.id);
				return detail.run.status === 'running' ? undefined : detail;
			},
			'a run after the outage',
			40_000
		);
		expect(done.run.status).toBe('succeeded');
	}, 90_000);
});
