/**
 * Two real aco nodes whose PostgreSQL stops answering (rather than refusing connections: a
 * partition, a firewall dropping packets, a paused VM), through tests/helpers/pausable-proxy.ts.
 * A request answers 503 `store_unavailable` within the query timeout instead of hanging for the
 * outage; each node notices the outage, so after it the node running a task renews its lease
 * before the other takes anything over, and a task without retries ends `succeeded` on its node,
 * attempt 1. A task with a retry left is stopped on its node during the outage (the node cannot
 * tell it from a partition, in which the other node would start it again) and starts again after.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LogLine, RunResponse } from '../../src/lib/protocol';
import { acoApi, waitFor, waitForRun } from '../helpers/aco-api';
import { startCluster, type TestCluster } from '../helpers/cluster';
import { startPausableProxy, type PausableProxy } from '../helpers/pausable-proxy';
import { startPostgres, type TestPostgres } from '../helpers/postgres';
import { tempDir, type AcoProcess } from '../helpers/server';

/** renewed every third of it; a pause of two of them outlasts every lease */
const LEASE_MS = 4_500;
/**
 * under a third of the lease, as the README asks: a statement sent before a node learnt of the
 * outage has failed long before the pause ends, so none of them (a release of expired leases
 * among them) runs once PostgreSQL answers again
 */
const QUERY_TIMEOUT_MS = 1_200;
/** how late past the query timeout an answer may come on a loaded 2-core machine */
const SLACK_MS = 5_000;

describe('a cluster whose PostgreSQL stops answering', () => {
	let pg: TestPostgres;
	let proxy: PausableProxy;
	let cluster: TestCluster;
	let dir: string;
	const stopFile = () => path.join(dir, 'stop');
	const retriedStopFile = () => path.join(dir, 'stop-retried');

	beforeAll(async () => {
		dir = tempDir('aco-unanswered-');
		// numbered lines until the test says stop: the task spans the outage and ends by itself
		fs.writeFileSync(
			path.join(dir, 'through.yml'),
			[
				'name: through',
				'tasks:',
				'  ticker:',
				'    steps:',
				`      - run: 'echo "ran on $ACO_NODE_ID"; i=0; while [ ! -e ${stopFile()} ]; do i=$((i+1)); echo "line $i"; sleep 0.05; done'`
			].join('\n') + '\n'
		);
		fs.writeFileSync(
			path.join(dir, 'retried.yml'),
			[
				'name: retried',
				'tasks:',
				'  ticker:',
				'    retries: 1',
				'    steps:',
				`      - run: 'echo "ran on $ACO_NODE_ID"; while [ ! -e ${retriedStopFile()} ]; do sleep 0.05; done'`
			].join('\n') + '\n'
		);
		pg = await startPostgres();
		const databaseUrl = await pg.createDatabase();
		proxy = await startPausableProxy(pg.port);
		cluster = await startCluster({
			nodes: 2,
			postgres: pg,
			workflowsDir: dir,
			env: {
				ACO_DATABASE_URL: proxy.url(databaseUrl),
				ACO_LEASE_MS: String(LEASE_MS),
				ACO_DATABASE_QUERY_TIMEOUT_MS: String(QUERY_TIMEOUT_MS),
				ACO_CONCURRENCY: '1',
				ACO_KILL_GRACE_MS: '500'
			}
		});
	}, 120_000);
	afterAll(async () => {
		if (dir) fs.writeFileSync(stopFile(), '');
		if (dir) fs.writeFileSync(retriedStopFile(), '');
		proxy?.resume();
		await cluster?.stop();
		await proxy?.close();
		await pg?.close();
		if (dir) fs.rmSync(dir, { recursive: true, force: true });
	});

	const healthy = (node: AcoProcess) =>
		waitFor(
			async () => (await fetch(`${node.url}/api/v1/healthz`)).status === 200,
			20_000,
			`${node.url} healthy`
		);

	it('answers 503 store_unavailable within the query timeout while PostgreSQL does not answer, then answers again', async () => {
		const api = acoApi(cluster.nodes[0]);
		expect((await api.request('GET', '/api/v1/runs')).status).toBe(200); // a pooled connection to hang
		proxy.pause();
		try {
			const started = Date.now();
			const res = await fetch(`${cluster.nodes[0].url}/api/v1/runs`, {
				signal: AbortSignal.timeout(QUERY_TIMEOUT_MS + SLACK_MS)
			});
			expect(res.status).toBe(503);
			expect(((await res.json()) as { error: { code: string } }).error.code).toBe('store_unavailable');
			expect(Date.now() - started).toBeLessThan(QUERY_TIMEOUT_MS + SLACK_MS);
		} finally {
			proxy.resume();
		}
		await waitFor(
			async () => (await api.request('GET', '/api/v1/runs')).status === 200,
			20_000,
			'runs answered'
		);
	});

	it('keeps a task running through a pause of two leases on its node: it ends succeeded, attempt 1', async () => {
		for (const node of cluster.nodes) await healthy(node);
		const api = acoApi(cluster.nodes[0]);
		const { run } = await api.post<RunResponse>('/api/v1/workflows/through/runs');
		const { taskId, executionId } = await waitFor(
			async () => {
				const detail = await api.get<{ tasks: { id: string; status: string }[] }>(`/api/v1/runs/${run.id}`);
				const task = detail.tasks[0];
				if (task?.status !== 'running') return undefined;
				const { task: full } = await api.get<{ task: { executions: { id: string; line_count: number }[] } }>(
					`/api/v1/tasks/${task.id}`
				);
				const execution = full.executions.at(-1);
				return execution && execution.line_count >= 2
					? { taskId: task.id, executionId: execution.id }
					: undefined;
			},
			20_000,
			'the task to run'
		);
		const logOf = async () =>
			(await api.text(`/api/v1/executions/${executionId}/log?format=ndjson`))
				.split('\n')
				.filter(Boolean)
				.map((line) => JSON.parse(line) as LogLine);
		const owner = /^ran on (.+)$/.exec((await logOf())[0].text)![1];
		const holder = cluster.nodes[cluster.ids.indexOf(owner)];
		const other = cluster.nodes.find((node) => node !== holder)!;

		const logged = [holder, other].map((node) => node.output().length);
		const pausedAt = Date.now();
		proxy.pause();
		try {
			// each node notices the outage (its statements fail instead of hanging), and it lasts until
			// every lease ran out on PostgreSQL's clock: the other node would take the task over now
			await waitFor(
				() =>
					/renewing task leases failed/.test(holder.output().slice(logged[0])) &&
					/claiming tasks failed|looking for abandoned tasks failed/.test(other.output().slice(logged[1])) &&
					Date.now() - pausedAt > 2 * LEASE_MS,
				2 * LEASE_MS + 3 * SLACK_MS,
				'both nodes to notice the outage'
			);
		} finally {
			proxy.resume();
		}
		const resumedAt = Date.now();
		for (const node of cluster.nodes) await healthy(node);
		// the other node waits a lease after the outage before it takes anything over; give it two,
		// then let the tool end
		await waitFor(() => Date.now() - resumedAt > 2 * LEASE_MS, 4 * LEASE_MS, 'two leases after the outage');
		fs.writeFileSync(stopFile(), '');

		const { run: ended, tasks } = await waitForRun(api, run.id, 30_000);
		expect(ended.status).toBe('succeeded');
		expect(tasks[0].id).toBe(taskId);
		// attempt 1: one execution, never interrupted and started again
		expect(tasks[0].status).toBe('succeeded');
		expect(tasks[0].executions.map((execution) => execution.status)).toEqual(['succeeded']);
		expect(other.output().slice(logged[1])).not.toMatch(/a node stopped renewing a task/);
		const lines = await logOf();
		expect(lines[0].text).toBe(`ran on ${owner}`);
		lines.forEach((line, i) => expect(line.n).toBe(i + 1));
	}, 90_000);

	it('stops the tool of a task with a retry left during a pause of two leases, says why, and starts it again after', async () => {
		for (const node of cluster.nodes) await healthy(node);
		const api = acoApi(cluster.nodes[0]);
		const { run } = await api.post<RunResponse>('/api/v1/workflows/retried/runs');
		type Detail = { task: { status: string; executions: { status: string; error: string | null }[] } };
		const taskId = await waitFor(
			async () => {
				const detail = await api.get<{ tasks: { id: string; status: string }[] }>(`/api/v1/runs/${run.id}`);
				const task = detail.tasks[0];
				if (task?.status !== 'running') return undefined;
				const { task: full } = await api.get<Detail>(`/api/v1/tasks/${task.id}`);
				return full.executions.length === 1 ? task.id : undefined;
			},
			20_000,
			'the task to run'
		);
		const pausedAt = Date.now();
		proxy.pause();
		try {
			await waitFor(() => Date.now() - pausedAt > 2 * LEASE_MS, 4 * LEASE_MS, 'two leases');
		} finally {
			proxy.resume();
		}
		// its step's end is stored with why its tool was stopped; its lease runs out, and it starts again
		const executions = await waitFor(
			async () => {
				const { task } = await api.get<Detail>(`/api/v1/tasks/${taskId}`);
				return task.executions.length === 2 ? task.executions : undefined;
			},
			6 * LEASE_MS,
			'the task to start again'
		);
		expect(executions[0]).toMatchObject({
			status: 'interrupted',
			error: expect.stringMatching(/^this node could not reach the database to renew its hold on the task/)
		});
		fs.writeFileSync(retriedStopFile(), '');
		const { run: ended, tasks } = await waitForRun(api, run.id, 30_000);
		expect(ended.status).toBe('succeeded');
		expect(tasks[0].executions.map((execution) => execution.status)).toEqual(['interrupted', 'succeeded']);
	}, 90_000);
});
