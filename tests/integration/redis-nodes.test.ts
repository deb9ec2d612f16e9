/**
 * Three aco nodes sharing one Redis (each with its own SQLite here: these tests are about the
 * event stream, not the shared store): events reach every node in one global order, each once.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerMessage } from '../../src/lib/protocol/messages';
import { startRedis, type RedisServer } from '../helpers/redis';
import { ROOT, startAco, type AcoProcess } from '../helpers/server';
import { connect, type TestClient } from '../helpers/ws-client';

const WORKFLOWS = path.join(ROOT, 'tests/fixtures/workflows');
const WAIT_MS = 30_000;

let redis: RedisServer;
let nodes: AcoProcess[] = [];

beforeAll(async () => {
	redis = await startRedis();
	nodes = await Promise.all(
		[1, 2, 3].map((n) =>
			startAco({ workflowsDir: WORKFLOWS, env: { ACO_REDIS_URL: redis.url, ACO_NODE_ID: `node-${n}` } })
		)
	);
});

afterAll(async () => {
	await Promise.all(nodes.map((node) => node.stop()));
	await redis?.close();
});

interface Envelope {
	type: string;
	seq: number;
	data: Record<string, unknown>;
}

function events(client: TestClient): Envelope[] {
	return client.messages.filter(
		(m): m is ServerMessage & Envelope =>
			typeof (m as { seq?: unknown }).seq === 'number' &&
			m.type.includes('.') &&
			!m.type.startsWith('connection.')
	) as Envelope[];
}

async function subscribedClient(node: AcoProcess, filter: Record<string, unknown> = {}): Promise<TestClient> {
	const client = await connect(node.wsUrl);
	await client.nextOfType('welcome');
	await client.request({ type: 'subscribe', sub: 'all', filter });
	return client;
}

async function post(node: AcoProcess, route: string, body: unknown): Promise<Record<string, unknown>> {
	const res = await fetch(`${node.url}/api/v1${route}`, {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify(body)
	});
	expect(res.status, await res.clone().text()).toBeLessThan(300);
	return (await res.json()) as Record<string, unknown>;
}

function outputLines(list: Envelope[], executionId: string): number[] {
	return list
		.filter((e) => e.type === 'tool.output' && e.data.execution_id === executionId)
		.map((e) => e.data.line as number);
}

describe('aco nodes sharing Redis', () => {
	it('streams a run started through node A live to a client on node C, in order, each event once', async () => {
		const [a, , c] = nodes;
		const watcher = await subscribedClient(c!);
		const { run } = (await post(a!, '/workflows/quick/runs', {})) as { run: { id: string } };
		await watcher.next(
			(m) => m.type === 'workflow.completed' && (m as unknown as Envelope).data.run_id === run.id,
			WAIT_MS
		);

		const seen = events(watcher).filter((e) => e.data.run_id === run.id);
		const seqs = seen.map((e) => e.seq);
		expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
		expect(new Set(seqs).size).toBe(seqs.length);
		const started = seen.filter((e) => e.type === 'tool.started');
		expect(started.length).toBe(3);
		const first = started[0]!.data.execution_id as string;
		// 50 lines, 5 progress lines and one on stderr, every one once and in order
		expect(outputLines(seen, first)).toEqual(Array.from({ length: 56 }, (_, i) => i + 1));
		expect(seen.some((e) => e.type === 'task.progress')).toBe(true);
		await watcher.close();
	});

	it('shows a task ingested through node B on node A', async () => {
		const [a, b] = nodes;
		const watcher = await subscribedClient(a!);
		const { task } = (await post(b!, '/tasks', { name: 'exec on b', status: 'running' })) as {
			task: { id: string };
		};
		await post(b!, `/tasks/${task.id}/events`, {
			events: [
				{ type: 'tool.start', step: 1, name: 'sh' },
				{ type: 'output', step: 1, lines: Array.from({ length: 30 }, (_, i) => ({ text: `out ${i + 1}` })) },
				{ type: 'tool.end', step: 1, exit_code: 0 },
				{ type: 'status', status: 'succeeded' }
			]
		});
		await watcher.next(
			(m) => m.type === 'task.completed' && (m as unknown as Envelope).data.task_id === task.id,
			WAIT_MS
		);
		const seen = events(watcher).filter((e) => e.data.task_id === task.id);
		expect(seen[0]!.type).toBe('task.created');
		const execution = seen.find((e) => e.type === 'tool.started')!.data.execution_id as string;
		expect(outputLines(seen, execution)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
		await watcher.close();
	});
});
