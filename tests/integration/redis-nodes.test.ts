/**
 * Three aco nodes sharing one PostgreSQL and one Redis, as a deployment runs them: events reach
 * every node in one global order, each once; a client resumes on any node; Redis going away
 * stops neither the tools nor the stored logs, and clients catch up when it is back.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { HealthResponse, RealtimeStatsResponse } from '../../src/lib/protocol/api';
import type { ServerMessage } from '../../src/lib/protocol/messages';
import { runCli } from '../helpers/cli';
import { startCluster, type TestCluster } from '../helpers/cluster';
import { isToolLines, liveLines, type ToolLinesEvent } from '../helpers/live-lines';
import type { RedisServer } from '../helpers/redis';
import { ROOT, type AcoProcess } from '../helpers/server';
import { connect, type TestClient } from '../helpers/ws-client';

const WORKFLOWS = path.join(ROOT, 'tests/fixtures/redis-workflows');
const WAIT_MS = 30_000;

let cluster: TestCluster;
let redis: RedisServer;
let nodes: AcoProcess[] = [];

beforeAll(async () => {
	// a persistent Redis, so one test can restart it with its data and another without
	cluster = await startCluster({ nodes: 3, redis: { persistent: true }, workflowsDir: WORKFLOWS });
	redis = cluster.redis!;
	nodes = cluster.nodes;
});

afterAll(async () => {
	await cluster?.stop();
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
	return liveLines(list)
		.filter((l) => l.execution_id === executionId)
		.map((l) => l.line);
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

	it('shows an `aco exec` through node B live on node A', async () => {
		const [a, b] = nodes;
		const watcher = await subscribedClient(a!);
		const spool = fs.mkdtempSync(path.join(os.tmpdir(), 'aco-spool-'));
		try {
			const result = await runCli(
				['exec', '--name', 'exec on b', '--', 'sh', '-c', 'for i in $(seq 1 30); do echo "out $i"; done'],
				{ ACO_URL: b!.url, ACO_SPOOL_DIR: spool }
			);
			expect(result.code).toBe(0);
		} finally {
			fs.rmSync(spool, { recursive: true, force: true });
		}
		const completed = (await watcher.next(
			(m) =>
				m.type === 'task.completed' &&
				((m as unknown as Envelope).data.task as { name: string }).name === 'exec on b',
			WAIT_MS
		)) as unknown as Envelope;
		const seen = events(watcher).filter((e) => e.data.task_id === completed.data.task_id);
		expect(seen[0]!.type).toBe('task.created');
		const execution = seen.find((e) => e.type === 'tool.started')!.data.execution_id as string;
		expect(outputLines(seen, execution)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
		await watcher.close();
	});
});

interface Hop {
	node: number;
	reply: string;
}

/** Reconnects to `node` and resumes from `from` (or only subscribes, the first time). */
async function hop(
	node: AcoProcess,
	filter: Record<string, unknown>,
	from: { epoch: string; seq: number } | null
) {
	const step = async <T>(name: string, work: Promise<T>): Promise<T> =>
		work.catch((err: Error) => {
			throw new Error(`${name} on ${node.url}: ${err.message}`);
		});
	const client = await step('connect', connect(node.wsUrl));
	const welcome = (await step('welcome', client.nextOfType('welcome'))) as unknown as {
		data: { epoch: string; seq: number };
	};
	await step('subscribe', client.request({ type: 'subscribe', sub: 'all', filter }));
	const reply = from
		? (
				await step(
					`resume from ${JSON.stringify(from)} (welcome ${JSON.stringify(welcome.data)})`,
					client.request({ type: 'resume', ...from }, WAIT_MS)
				)
			).type
		: 'welcome';
	return { client, welcome: welcome.data, reply };
}

function lastSeq(list: Envelope[], fallback: number): number {
	return list.length ? list.at(-1)!.seq : fallback;
}

async function getJson<T>(node: AcoProcess, route: string): Promise<T> {
	const res = await fetch(`${node.url}/api/v1${route}`);
	expect(res.status).toBe(200);
	return (await res.json()) as T;
}

describe('node and cluster figures', () => {
	it('says how Redis is doing on healthz, and lists every node with ?scope=cluster', async () => {
		const health = await getJson<HealthResponse>(nodes[0]!, '/healthz');
		expect(health).toMatchObject({ node: 'node-a', redis: { status: 'up', attached: true } });
		// each node shares its figures every 2 s; all three show up
		await expect
			.poll(
				async () =>
					(
						await getJson<RealtimeStatsResponse>(nodes[1]!, '/realtime/stats?scope=cluster')
					).cluster?.nodes.map((n) => n.node),
				{ timeout: WAIT_MS, interval: 200 }
			)
			.toEqual(['node-a', 'node-b', 'node-c']);
		const stats = await getJson<RealtimeStatsResponse>(nodes[1]!, '/realtime/stats?scope=cluster');
		expect(stats).toMatchObject({ node: 'node-b', redis: { status: 'up' }, cluster: { error: null } });
		expect(stats.cluster!.totals.nodes).toBe(3);
		expect(stats.cluster!.nodes.every((n) => n.redis?.epoch === stats.redis!.epoch)).toBe(true);
		const res = await fetch(`${nodes[1]!.url}/api/v1/realtime/stats?scope=everything`);
		expect(res.status).toBe(400);
		// Prometheus: every series names its node, the shared bus's included
		const metrics = await (await fetch(`${nodes[2]!.url}/metrics`)).text();
		expect(metrics).toMatch(/^aco_redis_up\{node="node-c"\} 1$/m);
		expect(metrics).toMatch(/^aco_hub_connections_active\{node="node-c"\} \d+$/m);
		expect(metrics).toMatch(/^aco_redis_lost_events_total\{node="node-c"\} 0$/m);
		// joining the stream at start is not a reset
		expect(metrics).toMatch(/^aco_redis_stream_resets_total\{node="node-c"\} 0$/m);
	});
});

describe('resume across nodes', () => {
	it('resumes on another node with no gap and no repeat over 20 random reconnects', async () => {
		const { task } = (await post(nodes[1]!, '/tasks', { name: 'hopping', status: 'running' })) as {
			task: { id: string };
		};
		let line = 0;
		let producing = true;
		let producerError: unknown = null;
		let producer: Promise<unknown> = Promise.resolve();
		// an `aco exec` through node B: the tool starts once the first client listens, then prints on
		const produce = async () => {
			await post(nodes[1]!, `/tasks/${task.id}/events`, {
				events: [{ type: 'tool.start', step: 1, name: 'feed' }]
			});
			while (producing && !producerError) {
				const lines = Array.from({ length: 10 }, () => ({ text: `line ${++line}` }));
				await post(nodes[1]!, `/tasks/${task.id}/events`, { events: [{ type: 'output', step: 1, lines }] });
				await new Promise((resolve) => setTimeout(resolve, 20));
			}
		};

		const filter = { task_ids: [task.id] };
		const received: Envelope[] = [];
		const hops: Hop[] = [];
		let at = Math.floor(Math.random() * 3);
		let from: { epoch: string; seq: number } | null = null;
		let epoch: string | null = null;
		try {
			for (let i = 0; i <= 20; i++) {
				const { client, welcome, reply } = await hop(nodes[at]!, filter, from);
				hops.push({ node: at, reply });
				if (i === 0) producer = produce().catch((err: unknown) => (producerError = err));
				const before = received.length;
				// stay until a few new events arrived (each post's 10 lines are one `tool.lines`), then
				// drop the connection without a close frame
				const wanted = 2 + (i % 3);
				await vi
					.waitFor(() => expect(events(client).length).toBeGreaterThanOrEqual(wanted), {
						timeout: WAIT_MS,
						interval: 20
					})
					.catch((err: Error) => {
						throw new Error(
							`hop ${i} to node ${at} (${reply}), producer ${String(producerError)}: ${err.message}`
						);
					});
				received.push(...events(client));
				epoch ??= welcome.epoch;
				from = { epoch, seq: lastSeq(received, welcome.seq) };
				expect(received.length).toBeGreaterThan(before);
				client.terminate();
				at = (at + 1 + Math.floor(Math.random() * 2)) % 3;
			}
		} finally {
			producing = false;
			await producer;
		}
		expect(producerError).toBeNull();
		await post(nodes[1]!, `/tasks/${task.id}/events`, {
			events: [
				{ type: 'tool.end', step: 1, exit_code: 0 },
				{ type: 'status', status: 'succeeded' }
			]
		});
		const { client, reply } = await hop(nodes[at]!, filter, from);
		hops.push({ node: at, reply });
		await vi.waitFor(() => expect(events(client).some((e) => e.type === 'task.completed')).toBe(true), {
			timeout: WAIT_MS,
			interval: 20
		});
		received.push(...events(client));
		await client.close();

		expect(hops.slice(1).map((h) => h.reply)).toEqual(Array(21).fill('resumed'));
		const seqs = received.map((e) => e.seq);
		expect(seqs).toEqual([...new Set(seqs)].sort((x, y) => x - y));
		const execution = received.find((e) => e.type === 'tool.started')!.data.execution_id as string;
		expect(outputLines(received, execution)).toEqual(Array.from({ length: line }, (_, i) => i + 1));
	});
});

describe('Redis restarts during a run', () => {
	async function runWithRestart(keepData: boolean) {
		const [a, b, c] = nodes;
		const watcher = await subscribedClient(c!);
		const { run } = (await post(a!, '/workflows/ticker/runs', {})) as { run: { id: string } };
		const isOutput = (m: ServerMessage): m is ServerMessage & ToolLinesEvent =>
			isToolLines(m) && m.data.run_id === run.id;
		await watcher.next((m) => isOutput(m) && m.data.lines.at(-1)!.line >= 40, WAIT_MS);
		// a second client, on node B, loses its connection at the same moment and comes back after
		const leaver = await subscribedClient(b!);
		await leaver.next(isOutput, WAIT_MS);
		const leaverSeen = events(leaver);
		leaver.terminate();

		// Redis goes away for a while: the tool runs on and its lines are still stored
		const execution = events(watcher).find((e) => e.type === 'tool.started' && e.data.run_id === run.id)!.data
			.execution_id as string;
		const storedSoFar = async () =>
			(await getJson<{ lines: { n: number }[] }>(a!, `/executions/${execution}/lines?tail=1`)).lines[0]?.n ??
			0;
		if (keepData) await redis.stop();
		else await redis.kill();
		const atOutage = await storedSoFar();
		await vi.waitFor(
			async () => expect((await getJson<HealthResponse>(a!, '/healthz')).redis?.status).toBe('down'),
			{ timeout: WAIT_MS, interval: 50 }
		);
		await vi.waitFor(async () => expect(await storedSoFar()).toBeGreaterThanOrEqual(atOutage + 20), {
			timeout: WAIT_MS,
			interval: 50
		});
		await redis.start({ keepData });
		const { epoch } = (
			leaver.messages.find((m) => m.type === 'welcome') as unknown as { data: { epoch: string } }
		).data;
		const { client: back, reply } = await hop(a!, {}, { epoch, seq: lastSeq(leaverSeen, 0) });
		await watcher.next(
			(m) => m.type === 'workflow.completed' && (m as unknown as Envelope).data.run_id === run.id,
			60_000
		);
		await vi.waitFor(
			() =>
				expect(events(back).some((e) => e.type === 'workflow.completed' && e.data.run_id === run.id)).toBe(
					true
				),
			{ timeout: WAIT_MS, interval: 20 }
		);

		const seen = events(watcher).filter((e) => e.data.run_id === run.id);
		// nothing stored is missing: the node that ran the tool has every line
		const stored = await getJson<{ lines: { n: number }[] }>(
			a!,
			`/executions/${execution}/lines?from=1&limit=5000`
		);
		expect(stored.lines.map((l) => l.n)).toEqual(Array.from({ length: 310 }, (_, i) => i + 1));
		const resets = watcher.messages.filter((m) => m.type === 'reset');
		const backResets = back.messages.filter((m) => m.type === 'reset');
		const lines = outputLines(seen, execution);
		// what the watcher got live is in order, each line once
		expect(lines).toEqual([...new Set(lines)].sort((x, y) => x - y));
		await watcher.close();
		await back.close();
		return { resets, backResets, lines, reply };
	}

	it('keeps every client whole when Redis is away a while and comes back with its data: no reset, every line once', async () => {
		const { resets, backResets, lines, reply } = await runWithRestart(true);
		expect(resets).toEqual([]);
		expect(backResets).toEqual([]);
		expect(lines).toEqual(Array.from({ length: 310 }, (_, i) => i + 1));
		expect(reply).toBe('resumed');
	});

	it('resets every client when Redis dies and comes back empty, and the log stays whole', async () => {
		const { resets, backResets } = await runWithRestart(false);
		expect(resets.length).toBeGreaterThan(0);
		// the client back after the outage is told too: in answer to its resume, or once its node sees the new epoch
		expect(backResets.length).toBeGreaterThan(0);
	});
});
