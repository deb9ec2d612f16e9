/**
 * Two real aco nodes on one PostgreSQL, one of them cut off from it (a partition: its connections
 * stop answering through tests/helpers/pausable-proxy.ts while the other node's work). The other
 * node sees the cut-off node's lease run out and starts its task again (`retries: 1`); the cut-off
 * node must have stopped the task's tool by then, so the two never run it at once, and once it
 * reaches the database again it must write nothing over the record the takeover closed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Execution, RunResponse, Task } from '../../src/lib/protocol';
import { acoApi, waitFor } from '../helpers/aco-api';
import { startPausableProxy, type PausableProxy } from '../helpers/pausable-proxy';
import { startPostgres, type TestPostgres } from '../helpers/postgres';
import { startAco, tempDir, type AcoProcess } from '../helpers/server';

/** renewed every second; a node cut off stops a retried task's tool two seconds after its last renewal */
const LEASE_MS = 3_000;
/** under a third of the lease, as the README asks */
const QUERY_TIMEOUT_MS = 800;

describe('a node cut off from PostgreSQL while the others reach it', () => {
	let pg: TestPostgres | undefined;
	let proxy: PausableProxy | undefined;
	const nodes: AcoProcess[] = [];
	const dirs: string[] = [];
	let stopFile = '';

	afterAll(async () => {
		if (stopFile) fs.writeFileSync(stopFile, '');
		proxy?.resume();
		await Promise.all(nodes.map((node) => node.stop('SIGTERM')));
		await proxy?.close();
		await pg?.close();
		for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
	});

	it('stops its tool of a task with retries before another node starts it again, and keeps the takeover’s record', async () => {
		const dir = tempDir('aco-partition-');
		dirs.push(dir);
		const ticks = path.join(dir, 'ticks');
		stopFile = path.join(dir, 'stop');
		// a deploy that must never run twice at once: each run appends its node's id every 0.2 s
		fs.writeFileSync(
			path.join(dir, 'deploy.yml'),
			[
				'name: deploy',
				'tasks:',
				'  deploy:',
				'    retries: 1',
				'    steps:',
				`      - run: 'while [ ! -e ${stopFile} ]; do echo "$ACO_NODE_ID" >> ${ticks}; sleep 0.2; done'`
			].join('\n') + '\n'
		);
		pg = await startPostgres();
		const databaseUrl = await pg.createDatabase();
		proxy = await startPausableProxy(pg.port);
		const env = {
			ACO_LEASE_MS: String(LEASE_MS),
			ACO_DATABASE_QUERY_TIMEOUT_MS: String(QUERY_TIMEOUT_MS),
			ACO_CONCURRENCY: '1',
			ACO_KILL_GRACE_MS: '500',
			ACO_LOG_LEVEL: 'info'
		};
		const start = async (id: string, url: string) => {
			const dataDir = tempDir(`aco-${id}-`);
			dirs.push(dataDir);
			const node = await startAco({
				dataDir,
				workflowsDir: dir,
				env: { ...env, ACO_NODE_ID: id, ACO_DATABASE_URL: url }
			});
			nodes.push(node);
			return node;
		};
		const lines = () =>
			fs.existsSync(ticks) ? fs.readFileSync(ticks, 'utf8').split('\n').filter(Boolean) : [];

		// node-a (behind the proxy) runs the task; node-b joins once it does
		const a = await start('node-a', proxy.url(databaseUrl));
		await acoApi(a).post<RunResponse>('/api/v1/workflows/deploy/runs');
		await waitFor(() => lines().includes('node-a'), 20_000, 'node-a to run the task');
		const b = await start('node-b', databaseUrl);
		const api = acoApi(b);
		const { tasks } = await api.get<{ tasks: Task[] }>('/api/v1/tasks');
		const taskId = tasks[0].id;

		const logged = a.output().length;
		proxy.pause();
		// node-b takes the task over once node-a's lease ran out, and runs it for a while
		await waitFor(
			() => lines().filter((line) => line === 'node-b').length >= 5,
			30_000,
			'node-b to run the task again'
		);
		const seen = lines();
		const takeover = seen.indexOf('node-b');
		expect(seen.slice(takeover).filter((line) => line === 'node-a')).toEqual([]);
		expect(a.output().slice(logged)).toMatch(/could not renew the hold on a running task/);

		const executions = async () =>
			(await api.get<{ task: Task & { executions: Execution[] } }>(`/api/v1/tasks/${taskId}`)).task
				.executions;
		const [closed] = await executions();
		expect(closed).toMatchObject({
			status: 'interrupted',
			error: expect.stringMatching(/^the node running this task stopped renewing its hold on it/)
		});

		// node-a reaches the database again and ends its runner: it writes nothing over node-b's record
		proxy.resume();
		await waitFor(
			() => /the task was fenced/.test(a.output().slice(logged)),
			30_000,
			'node-a to end its runner'
		);
		const [first, second] = await executions();
		expect(first).toMatchObject({
			status: closed.status,
			error: closed.error,
			finished_at: closed.finished_at
		});
		expect(second).toMatchObject({ status: 'running' });
		expect(
			lines()
				.slice(takeover)
				.filter((line) => line === 'node-a')
		).toEqual([]);
	}, 120_000);
});
