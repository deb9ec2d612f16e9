/**
 * The hub on the shared stream, in process (two hubs on one Redis, real `ws` clients): replay
 * reaches back into Redis beyond a node's memory, and a resume waits for a node that reads
 * behind the one the client came from.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ServerMessage } from '../../src/lib/protocol/messages';
import { sharedStream } from '../../src/lib/server/bus/redis/hub-stream';
import { RedisBus } from '../../src/lib/server/bus/redis/redis-bus';
import { outputEvent, quietLogger, rawClient, testPrefix } from '../../src/lib/server/bus/redis/test-support';
import { defaultHubConfig, type HubConfig } from '../../src/lib/server/config';
import { createHub } from '../../src/lib/server/hub/hub';
import { startRedis, type RedisServer } from '../helpers/redis';
import { connect, type TestClient } from '../helpers/ws-client';

const WAIT = { timeout: 20_000, interval: 20 };

interface HubNode {
	id: string;
	bus: RedisBus;
	join(): Promise<{ client: TestClient; epoch: string; seq: number }>;
	stop(): Promise<void>;
}

let redis: RedisServer;
const running: HubNode[] = [];

beforeAll(async () => {
	redis = await startRedis();
});
afterEach(async () => {
	await Promise.all(running.splice(0).map((node) => node.stop()));
});
afterAll(async () => {
	await redis?.close();
});

async function startNode(prefix: string, id: string, overrides: Partial<HubConfig> = {}): Promise<HubNode> {
	const config = { ...defaultHubConfig(), ...overrides };
	const bus = new RedisBus({
		url: redis.url,
		prefix,
		nodeId: id,
		blockMs: 200,
		history: {
			maxEvents: config.historyMaxEvents,
			maxBytes: config.historyMaxBytes,
			maxAgeMs: config.historyMaxAgeMs
		},
		logger: quietLogger
	});
	await bus.start();
	const hub = createHub({ bus, ...sharedStream(bus, config), config, logger: quietLogger });
	const server = http.createServer((_req, res) => res.writeHead(404).end());
	server.on('upgrade', (req, socket, head) => hub.handleUpgrade(req, socket, head));
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws`;
	const node: HubNode = {
		id,
		bus,
		async join() {
			const client = await connect(url);
			const welcome = (await client.nextOfType('welcome')) as unknown as {
				data: { epoch: string; seq: number };
			};
			await client.request({ type: 'subscribe', sub: 'all', filter: {} });
			return { client, ...welcome.data };
		},
		async stop() {
			await hub.close();
			await bus.close();
			server.closeAllConnections();
			await new Promise((resolve) => server.close(resolve));
		}
	};
	running.push(node);
	return node;
}

function seqsOf(client: TestClient): number[] {
	return client.messages
		.filter((m): m is ServerMessage & { seq: number } => m.type === 'tool.lines')
		.map((m) => m.seq);
}

describe('the hub on the shared stream', () => {
	it('replays from Redis to a client resuming on a node that started after the events', async () => {
		const prefix = testPrefix();
		const a = await startNode(prefix, 'a');
		const watcher = await a.join();
		for (let line = 1; line <= 300; line++) a.bus.publish(outputEvent('t', line));
		await vi.waitFor(() => expect(seqsOf(watcher.client)).toHaveLength(300), WAIT);
		const seen = seqsOf(watcher.client);

		// node B knows nothing of these in memory: the replay comes from the stream in Redis
		const b = await startNode(prefix, 'b');
		const { client } = await b.join();
		const reply = await client.request({ type: 'resume', epoch: watcher.epoch, seq: seen[9]! }, WAIT.timeout);
		expect(reply).toMatchObject({ type: 'resumed', data: { replayed: 290 } });
		expect(seqsOf(client)).toEqual(seen.slice(10));
	});

	it('lets a client that saw newer events elsewhere resume on a node still reading behind', async () => {
		const prefix = testPrefix();
		const a = await startNode(prefix, 'a');
		const b = await startNode(prefix, 'b');
		const onA = await a.join();
		const onB = await b.join();
		a.bus.publish(outputEvent('t', 1));
		await vi.waitFor(() => expect(seqsOf(onB.client)).toHaveLength(1), WAIT);
		const { client: leaving } = onB;
		const from = seqsOf(leaving)[0]!;
		leaving.terminate();

		// B's reader loses its connection (it reconnects after a short backoff) while A goes on
		const admin = rawClient(redis.url);
		const list = (await admin.call('CLIENT', 'LIST')) as string;
		const reader = /id=(\d+) [^\n]*name=aco:b:read/.exec(list)![1]!;
		await admin.call('CLIENT', 'KILL', 'ID', reader);
		admin.disconnect();
		for (let line = 2; line <= 20; line++) a.bus.publish(outputEvent('t', line));
		await vi.waitFor(() => expect(seqsOf(onA.client)).toHaveLength(20), WAIT);
		const latest = seqsOf(onA.client).at(-1)!;

		// the client saw `latest` on A, then comes to B, which may not have read that far yet
		const back = await b.join();
		const reply = await back.client.request(
			{ type: 'resume', epoch: onA.epoch, seq: latest - 5 },
			WAIT.timeout
		);
		expect(reply.type).toBe('resumed');
		expect(seqsOf(back.client).slice(0, 5)).toEqual([latest - 4, latest - 3, latest - 2, latest - 1, latest]);
		expect(from).toBe(seqsOf(onA.client)[0]);
	});

	it('resets live clients on every node when Redis loses its data, then streams the new epoch', async () => {
		const prefix = testPrefix();
		const a = await startNode(prefix, 'a');
		const b = await startNode(prefix, 'b');
		const onB = await b.join();
		a.bus.publish(outputEvent('t', 1));
		await vi.waitFor(() => expect(seqsOf(onB.client)).toHaveLength(1), WAIT);

		const admin = rawClient(redis.url);
		await admin.flushall();
		admin.disconnect();
		a.bus.publish(outputEvent('t', 2));
		const reset = (await onB.client.nextOfType('reset', WAIT.timeout)) as unknown as {
			data: { epoch: string; seq: number; missed: number | null };
		};
		expect(reset.data.epoch).not.toBe(onB.epoch);
		await vi.waitFor(() => expect(seqsOf(onB.client)).toHaveLength(2), WAIT);
		expect(seqsOf(onB.client)[1]).toBe(reset.data.seq + 1);
	});
});
