/**
 * Two real aco nodes on one PostgreSQL and one Redis, behind which a proxy spreads a producer's
 * requests: a value the producer announces with `::add-mask::` on node A masks a line that node
 * B takes, in the stored log and in the live event alike; while Redis is away, B refuses such a
 * line retryably and stores nothing, and takes the resent line masked once Redis is back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IngestEventsResponse, LogLine } from '../../src/lib/protocol';
import { startCluster, type TestCluster } from '../helpers/cluster';
import { liveLines } from '../helpers/live-lines';
import type { AcoProcess } from '../helpers/server';
import { connect, type TestClient } from '../helpers/ws-client';

const SECRET = 's3cr3t-value';
const WAIT_MS = 20_000;

let cluster: TestCluster;
let a: AcoProcess;
let b: AcoProcess;

beforeAll(async () => {
	// a persistent Redis: the outage test stops it and starts it again with its data
	cluster = await startCluster({ nodes: 2, redis: { persistent: true } });
	[a, b] = cluster.nodes as [AcoProcess, AcoProcess];
}, 90_000);

afterAll(async () => {
	await cluster?.stop();
});

async function post(node: AcoProcess, route: string, body: unknown): Promise<Response> {
	return fetch(`${node.url}/api/v1${route}`, {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify(body)
	});
}

async function postOk<T>(node: AcoProcess, route: string, body: unknown): Promise<T> {
	const res = await post(node, route, body);
	expect(res.status, await res.clone().text()).toBeLessThan(300);
	return (await res.json()) as T;
}

/** a running stand-alone task created on `node`, with tool 0 started there */
async function runningTask(node: AcoProcess, name: string): Promise<string> {
	const { task } = await postOk<{ task: { id: string } }>(node, '/tasks', { name, status: 'running' });
	await postOk(node, `/tasks/${task.id}/events`, {
		events: [{ type: 'tool.start', step: 0, name: 'deploy', command: 'deploy.sh' }]
	});
	return task.id;
}

const output = (n: number, text: string) => ({
	events: [{ type: 'output', step: 0, lines: [{ n, stream: 'stdout', text }] }]
});

async function storedLines(node: AcoProcess, taskId: string): Promise<LogLine[]> {
	const res = await fetch(`${node.url}/api/v1/tasks/${taskId}/log?format=ndjson`);
	expect(res.status).toBe(200);
	return (await res.text())
		.split('\n')
		.filter(Boolean)
		.map((line) => JSON.parse(line) as LogLine);
}

async function watch(node: AcoProcess): Promise<TestClient> {
	const client = await connect(node.wsUrl);
	await client.nextOfType('welcome');
	await client.request({ type: 'subscribe', sub: 'all', filter: {} });
	return client;
}

describe('::add-mask:: values across the nodes of a cluster', () => {
	it('masks a line node B takes with the value the producer announced on node A, stored and streamed', async () => {
		const watcher = await watch(a);
		try {
			const id = await runningTask(a, 'masked across nodes');
			await postOk(a, `/tasks/${id}/events`, output(1, `::add-mask::${SECRET}`));
			const taken = await postOk<IngestEventsResponse>(
				b,
				`/tasks/${id}/events`,
				output(2, `token is ${SECRET}`)
			);
			expect(taken.line_counts).toEqual({ 0: 2 });

			const stored = await storedLines(b, id);
			expect(stored.map((line) => [line.n, line.text])).toEqual([
				[1, '::add-mask::***'],
				[2, 'token is ***']
			]);
			// published by node B, seen live through Redis on node A
			const live = await watcher.next(
				(m) => liveLines([m]).some((line) => line.task_id === id && line.line === 2),
				WAIT_MS
			);
			expect(liveLines([live]).find((line) => line.line === 2)?.output).toBe('token is ***');
			expect(JSON.stringify(watcher.messages)).not.toContain(SECRET);
			expect(JSON.stringify(await storedLines(a, id))).not.toContain(SECRET);
		} finally {
			await watcher.close();
		}
	});

	it('refuses a line on node B with a retryable 503 while Redis is away, stores nothing, and takes it masked once Redis is back', async () => {
		const redis = cluster.redis!;
		const id = await runningTask(a, 'masked through an outage');
		await postOk(a, `/tasks/${id}/events`, output(1, `::add-mask::${SECRET}`));

		await redis.stop();
		try {
			const refused = await post(b, `/tasks/${id}/events`, output(2, `token is ${SECRET}`));
			expect(refused.status).toBe(503);
			const { error } = (await refused.json()) as { error: { code: string; message: string } };
			expect(error.code).toBe('masks_unavailable');
			expect(error.message).not.toMatch(/ECONNREFUSED|127\.0\.0\.1/);
			expect((await storedLines(b, id)).map((line) => line.n)).toEqual([1]);
			// a heartbeat has nothing to mask: it keeps the task alive meanwhile
			expect((await post(b, `/tasks/${id}/events`, { events: [{ type: 'heartbeat' }] })).status).toBe(200);
		} finally {
			await redis.start();
		}

		// the producer resends until a node takes it
		const deadline = Date.now() + WAIT_MS;
		let res = await post(b, `/tasks/${id}/events`, output(2, `token is ${SECRET}`));
		while (res.status === 503 && Date.now() < deadline) {
			await new Promise((resolve) => setTimeout(resolve, 100));
			res = await post(b, `/tasks/${id}/events`, output(2, `token is ${SECRET}`));
		}
		expect(res.status, await res.clone().text()).toBe(200);
		expect((await storedLines(b, id)).map((line) => [line.n, line.text])).toEqual([
			[1, '::add-mask::***'],
			[2, 'token is ***']
		]);
	}, 60_000);
});
