import { afterEach, describe, expect, it, vi } from 'vitest';
import { startRedis, type RedisServer } from '../../../../../tests/helpers/redis';
import type { RedisBus } from './redis-bus';
import { outputEvent, rawClient, record, startBus, testPrefix, type TestBusOptions } from './test-support';

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
