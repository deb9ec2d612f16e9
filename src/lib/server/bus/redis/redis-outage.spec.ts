import { afterEach, describe, expect, it, vi } from 'vitest';
import { startRedis, type RedisServer } from '../../../../../tests/helpers/redis';
import { encodePayload, PAYLOAD_SEPARATOR } from './codec';
import { newEpoch, type RedisBus } from './redis-bus';
import { PUBLISH_LUA } from './scripts';
import {
	lineKeys,
	outputEvent,
	rawClient,
	record,
	startBus,
	testPrefix,
	type TestBusOptions
} from './test-support';

const WAIT = { timeout: 20_000, interval: 25 };
const servers: RedisServer[] = [];
const buses: RedisBus[] = [];

afterEach(async () => {
	await Promise.all(buses.splice(0).map((bus) => bus.close()));
	await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function server(options: Parameters<typeof startRedis>[0] = {}): Promise<RedisServer> {
	const started = await startRedis(options);
	servers.push(started);
	return started;
}

async function node(redis: RedisServer, prefix: string, options: TestBusOptions = {}): Promise<RedisBus> {
	const bus = await startBus(redis.url, prefix, options);
	buses.push(bus);
	return bus;
}

function lines(from: number, to: number, task = 't'): string[] {
	return Array.from({ length: to - from + 1 }, (_, i) => `${task}:${from + i}`);
}

describe('RedisBus when Redis goes away', () => {
	it('buffers while Redis restarts with its data, then delivers everything in order with no reset', async () => {
		const redis = await server({ persistent: true });
		const prefix = testPrefix();
		const a = await node(redis, prefix);
		const b = await node(redis, prefix);
		const [seenA, seenB] = [record(a), record(b)];
		for (let line = 1; line <= 10; line++) a.publish(outputEvent('t', line));
		await vi.waitFor(() => expect(seenB.events).toHaveLength(10), WAIT);
		const resetsBefore = seenB.resets.length;
		const epoch = b.stream.position.epoch;

		await redis.stop();
		await vi.waitFor(() => expect(a.health().status).toBe('down'), WAIT);
		for (let line = 11; line <= 40; line++) a.publish(outputEvent('t', line));
		await vi.waitFor(() => expect(a.health().publisher.buffered).toBe(30), WAIT);
		await redis.start({ keepData: true });

		await vi.waitFor(() => [seenA, seenB].forEach((seen) => expect(seen.events).toHaveLength(40)), WAIT);
		expect(seenB.lines()).toEqual(lines(1, 40));
		expect(seenA.lines()).toEqual(lines(1, 40));
		expect(b.stream.position.epoch).toBe(epoch);
		expect(seenB.resets.length).toBe(resetsBefore);
		expect(seenB.seqs()).toEqual(Array.from({ length: 40 }, (_, i) => seenB.seqs()[0]! + i));
		await vi.waitFor(
			() => expect(a.health()).toMatchObject({ status: 'up', publisher: { buffered: 0, lost: 0 } }),
			WAIT
		);
	});

	it('starts a new epoch when Redis comes back empty: every node resets, then gets what was buffered', async () => {
		const redis = await server();
		const prefix = testPrefix();
		const a = await node(redis, prefix);
		const b = await node(redis, prefix);
		const seenB = record(b);
		a.publish(outputEvent('t', 1));
		await vi.waitFor(() => expect(seenB.events).toHaveLength(1), WAIT);
		const before = b.stream.position;

		await redis.kill();
		for (let line = 2; line <= 20; line++) a.publish(outputEvent('t', line));
		await redis.start({ keepData: false });

		await vi.waitFor(() => expect(seenB.events).toHaveLength(20), WAIT);
		expect(b.stream.position.epoch).not.toBe(before.epoch);
		const reset = seenB.resets.at(-1)!;
		expect(reset.to.epoch).toBe(b.stream.position.epoch);
		expect(seenB.lines()).toEqual(lines(1, 20));
		// after the reset, the new epoch's seqs follow on from the position it named
		expect(seenB.seqs().slice(1)).toEqual(Array.from({ length: 19 }, (_, i) => reset.to.seq + 1 + i));
	});

	it('drops an overflowing buffer and bumps the epoch, so no node delivers a silent gap', async () => {
		const redis = await server({ persistent: true });
		const prefix = testPrefix();
		const a = await node(redis, prefix, { bufferMaxEvents: 50 });
		const b = await node(redis, prefix);
		const seenB = record(b);
		a.publish(outputEvent('t', 1));
		await vi.waitFor(() => expect(seenB.events).toHaveLength(1), WAIT);
		const before = b.stream.position;

		await redis.stop();
		await vi.waitFor(() => expect(a.health().status).toBe('down'), WAIT);
		for (let line = 2; line <= 120; line++) a.publish(outputEvent('t', line));
		const figures = a.health().publisher;
		expect(figures.lost).toBeGreaterThanOrEqual(50);
		expect(figures.buffered + figures.lost).toBe(119);
		await redis.start({ keepData: true });

		await vi.waitFor(() => expect(b.stream.position.epoch).not.toBe(before.epoch), WAIT);
		await vi.waitFor(() => expect(seenB.events).toHaveLength(1 + figures.buffered), WAIT);
		expect(seenB.resets.at(-1)!.to.epoch).toBe(b.stream.position.epoch);
		// what was kept arrives after the reset, newest last
		expect(seenB.lines().at(-1)).toBe('t:120');
		expect(a.health().publisher.epoch_bumps).toBe(1);
	});

	it('starts without Redis, says so, and joins the stream once Redis is there', async () => {
		const redis = await server();
		await redis.stop();
		const prefix = testPrefix();
		const a = await node(redis, prefix, { startupWaitMs: 200 });
		expect(a.health()).toMatchObject({ status: 'down', attached: false });
		const seen = record(a);
		a.publish(outputEvent('t', 1));
		await redis.start();
		await vi.waitFor(() => expect(seen.events).toHaveLength(1), WAIT);
		expect(a.health()).toMatchObject({ status: 'up', attached: true });
		expect(seen.resets[0]!.reason).toMatch(/joined/);
	});

	it('settles a publish whose reply was lost without losing or repeating it', async () => {
		const redis = await server();
		const prefix = testPrefix();
		const a = await node(redis, prefix, { commandTimeoutMs: 100 });
		const seen = record(a);
		a.publish(outputEvent('t', 1));
		await vi.waitFor(() => expect(seen.events).toHaveLength(1), WAIT);

		const client = rawClient(redis.url);
		// Redis holds every write for a while: the publish goes out, times out in the client, and
		// is applied afterwards; the publisher's next commands queue behind it on its connection
		await client.call('CLIENT', 'PAUSE', '600', 'WRITE');
		a.publish(outputEvent('t', 2));
		await vi.waitFor(() => expect(a.health().publisher.last_error).toMatch(/timed out/i), WAIT);
		a.publish(outputEvent('t', 3));
		client.disconnect();

		await vi.waitFor(() => expect(seen.events).toHaveLength(3), WAIT);
		await a.flushed();
		expect(seen.lines()).toEqual(lines(1, 3));
		expect(a.health().publisher).toMatchObject({ published: 3, lost: 0 });
	});
});

/** What a node delivered and its resets, in the order it told its clients: `seq task:line` or `reset`. */
function timeline(bus: RedisBus): string[] {
	const seen: string[] = [];
	bus.stream.listen({
		event: (n) => seen.push(`${n.seq} ${lineKeys(n.event).join(' ')}`),
		reset: () => seen.push('reset')
	});
	return seen;
}

interface Snapshot {
	meta: Buffer;
	stream: Buffer;
	epoch: string;
	seq: number;
}

async function snapshot(url: string, prefix: string): Promise<Snapshot> {
	const client = rawClient(url);
	const [meta, stream, epoch, seq] = await Promise.all([
		client.dumpBuffer(`${prefix}meta`),
		client.dumpBuffer(`${prefix}stream`),
		client.hget(`${prefix}meta`, 'e'),
		client.hget(`${prefix}meta`, 's')
	]);
	client.disconnect();
	return { meta: meta!, stream: stream!, epoch: epoch!, seq: Number(seq) };
}

/**
 * Redis fails over to a replica that missed the writes after `older`, and a node whose reader
 * was no further than the replica (just started, or lagging) publishes `batches` (one stream
 * entry each) through the publish script, as its publisher would. One transaction, so no other
 * node looks in between; `reconnect`: every node's connections drop first, as in a failover.
 */
async function failOverAndPublish(
	url: string,
	prefix: string,
	older: Snapshot,
	batches: number[][],
	{ reconnect }: { reconnect: boolean }
): Promise<void> {
	const client = rawClient(url);
	const multi = client.multi();
	if (reconnect) multi.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
	multi
		.restore(`${prefix}meta`, 0, older.meta, 'REPLACE')
		.restore(`${prefix}stream`, 0, older.stream, 'REPLACE');
	for (const [i, batch] of batches.entries()) {
		const payload = batch.map((line) => encodePayload(outputEvent('c', line))).join(PAYLOAD_SEPARATOR);
		multi.eval(
			PUBLISH_LUA,
			3,
			`${prefix}meta`,
			`${prefix}stream`,
			`${prefix}ack:behind`,
			newEpoch(),
			10_000,
			`batch-${i}`,
			60,
			older.epoch,
			older.seq,
			batch.length,
			payload,
			'behind'
		);
	}
	const results = await multi.exec();
	client.disconnect();
	for (const [err] of results!) expect(err).toBeNull();
}

describe('RedisBus when Redis comes back with older data', () => {
	it('resets a node whose delivered seqs a node that was behind numbered again before it reattached', async () => {
		const redis = await server();
		const prefix = testPrefix();
		const a = await node(redis, prefix);
		const seen = timeline(a);
		for (let line = 1; line <= 5; line++) a.publish(outputEvent('a', line));
		await vi.waitFor(() => expect(seen).toHaveLength(5), WAIT);
		const older = await snapshot(redis.url, prefix);
		// one entry per event, so the node's next read starts after the newest seq it delivered
		for (let line = 6; line <= 10; line++) {
			a.publish(outputEvent('a', line));
			await vi.waitFor(() => expect(seen).toHaveLength(line), WAIT);
		}
		const before = a.stream.position;

		await failOverAndPublish(redis.url, prefix, older, [[1, 2, 3, 4, 5], [6], [7]], { reconnect: true });

		await vi.waitFor(
			() => expect(a.stream.position.epoch !== before.epoch || a.stream.position.seq > before.seq).toBe(true),
			WAIT
		);
		// seqs 7 to 11 now name other events than the ones it delivered: nothing without a reset
		expect(seen.slice(10)).toEqual(['reset']);
		expect(a.stream.position.epoch).not.toBe(before.epoch);
		a.publish(outputEvent('a', 11));
		await vi.waitFor(() => expect(seen.at(-1)).toBe(`${a.stream.position.seq} a:11`), WAIT);
	});

	it('resets a node that reads an entry numbering seqs it already delivered, without a reconnect', async () => {
		const redis = await server();
		const prefix = testPrefix();
		const a = await node(redis, prefix);
		const seen = timeline(a);
		for (let line = 1; line <= 5; line++) a.publish(outputEvent('a', line));
		await vi.waitFor(() => expect(seen).toHaveLength(5), WAIT);
		const older = await snapshot(redis.url, prefix);
		// one entry of five: the node's next read starts after that entry's first seq
		for (let line = 6; line <= 10; line++) a.publish(outputEvent('a', line));
		await vi.waitFor(() => expect(seen).toHaveLength(10), WAIT);
		const before = a.stream.position;

		await failOverAndPublish(redis.url, prefix, older, [[1, 2], [3, 4, 5], [6]], { reconnect: false });

		await vi.waitFor(
			() => expect(a.stream.position.epoch !== before.epoch || a.stream.position.seq > before.seq).toBe(true),
			WAIT
		);
		expect(seen.slice(10)).toEqual(['reset']);
		expect(a.stream.position.epoch).not.toBe(before.epoch);
	});

	it('keeps its epoch with no reset while several nodes publish across reconnects to a Redis that kept its data', async () => {
		const redis = await server({ persistent: true });
		const prefix = testPrefix();
		const a = await node(redis, prefix);
		const b = await node(redis, prefix);
		const [seenA, seenB] = [timeline(a), timeline(b)];
		const epoch = a.stream.position.epoch;
		const client = rawClient(redis.url);
		const killConnections = () => client.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
		const disruptions = [
			() => redis.restart({ keepData: true }),
			killConnections,
			async () => {
				// trimmed by age: the entry the nodes delivered last is gone, which is not older data
				await client.xtrim(`${prefix}stream`, 'MINID', `${a.stream.position.seq + 1}-0`);
				await killConnections();
			},
			() => undefined
		];
		let published = 0;
		for (const disrupt of disruptions) {
			for (let i = 0; i < 3; i++) a.publish(outputEvent('a', (published += 1)));
			b.publish(outputEvent('b', (published += 1)));
			await vi.waitFor(() => [seenA, seenB].forEach((seen) => expect(seen).toHaveLength(published)), WAIT);
			await disrupt();
		}
		client.disconnect();
		expect(seenA).toEqual(seenB);
		expect(seenA).not.toContain('reset');
		expect([a.stream.position.epoch, b.stream.position.epoch]).toEqual([epoch, epoch]);
	});
});
