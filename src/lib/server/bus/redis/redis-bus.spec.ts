import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startRedis, type RedisServer } from '../../../../../tests/helpers/redis';
import { encodeEvent } from '../../hub/frames';
import type { RedisBus } from './redis-bus';
import { lineKeys, outputEvent, rawClient, record, startBus, testPrefix } from './test-support';

let redis: RedisServer;
const open: RedisBus[] = [];

beforeAll(async () => {
	redis = await startRedis();
});

afterAll(async () => {
	await redis?.close();
});

afterEach(async () => {
	await Promise.all(open.splice(0).map((bus) => bus.close()));
});

async function node(prefix: string, options: Parameters<typeof startBus>[2] = {}): Promise<RedisBus> {
	const bus = await startBus(redis.url, prefix, options);
	open.push(bus);
	return bus;
}

const WAIT = { timeout: 10_000, interval: 20 };

describe('RedisBus', () => {
	it('numbers what any node publishes once, and every node delivers it in the same order', async () => {
		const prefix = testPrefix();
		const a = await node(prefix);
		const b = await node(prefix);
		const c = await node(prefix);
		const seen = [a, b, c].map(record);
		for (let line = 1; line <= 300; line++) {
			a.publish(outputEvent('ta', line));
			b.publish(outputEvent('tb', line));
		}
		await vi.waitFor(() => seen.forEach((r) => expect(r.events).toHaveLength(600)), WAIT);

		const [first, ...others] = seen;
		for (const other of others) expect(other.lines()).toEqual(first!.lines());
		// one global seq: consecutive, with no gap or repeat, the same on every node
		const seqs = first!.seqs();
		expect(seqs).toEqual(Array.from({ length: 600 }, (_, i) => seqs[0]! + i));
		// order per task kept
		for (const task of ['ta', 'tb']) {
			expect(first!.lines().filter((l) => l.startsWith(`${task}:`))).toEqual(
				Array.from({ length: 300 }, (_, i) => `${task}:${i + 1}`)
			);
		}
		expect(new Set(seen.map((r) => r.events[0] && a.stream.position.epoch)).size).toBe(1);
	});

	it('hands plain listeners this node’s events at once, and every other node’s once', async () => {
		const prefix = testPrefix();
		const a = await node(prefix);
		const b = await node(prefix);
		const plain: string[] = [];
		a.subscribe((event) => plain.push(...lineKeys(event)));
		const seen = record(a);
		a.publish(outputEvent('mine', 1));
		expect(plain).toEqual(['mine:1']);
		b.publish(outputEvent('theirs', 1));
		await vi.waitFor(() => expect(seen.events).toHaveLength(2), WAIT);
		expect(plain).toEqual(['mine:1', 'theirs:1']);
	});

	it('hands out the same envelope bytes the hub would encode', async () => {
		const bus = await node(testPrefix());
		const seen = record(bus);
		const event = outputEvent('t', 1);
		bus.publish(event);
		await vi.waitFor(() => expect(seen.events).toHaveLength(1), WAIT);
		const [numbered] = seen.events;
		expect(numbered!.event).toEqual(event);
		expect(numbered!.frame.equals(encodeEvent(event, numbered!.seq))).toBe(true);
	});

	it('reads history pages after a seq up to the node position, and says when it cannot cover a gap', async () => {
		const prefix = testPrefix();
		const bus = await node(prefix, { history: { maxEvents: 100, maxBytes: 0, maxAgeMs: 0 } });
		const seen = record(bus);
		for (let line = 1; line <= 50; line++) bus.publish(outputEvent('t', line));
		await vi.waitFor(() => expect(seen.events).toHaveLength(50), WAIT);
		const { epoch, seq } = bus.stream.position;
		const from = seen.events[9]!.seq;

		const page = await bus.stream.page({ epoch, after: from, upTo: seq, limit: 15 });
		expect(page!.events.map((n) => n.seq)).toEqual(Array.from({ length: 15 }, (_, i) => from + 1 + i));
		expect(page!.next).toBe(from + 15);
		const rest = await bus.stream.page({ epoch, after: page!.next, upTo: seq });
		expect(rest!.events.at(-1)!.seq).toBe(seq);
		expect(rest!.events.map((n) => n.frame.toString())).toEqual(
			seen.events.slice(25).map((n) => n.frame.toString())
		);
		// up to date: nothing; another epoch: not covered
		expect(await bus.stream.page({ epoch, after: seq, upTo: seq })).toEqual({
			events: [],
			next: seq,
			skipped: 0
		});
		expect(await bus.stream.page({ epoch: 'other', after: from, upTo: seq })).toBeNull();

		// past the count bound (MAXLEN ~ keeps at least 100, trims whole nodes of entries)
		for (let line = 51; line <= 1000; line++) {
			bus.publish(outputEvent('t', line));
			if (line % 50 === 0) await vi.waitFor(() => expect(seen.events).toHaveLength(line), WAIT);
		}
		const now = bus.stream.position;
		expect(await bus.stream.page({ epoch, after: from, upTo: now.seq })).toBeNull();
		const recent = await bus.stream.page({ epoch, after: now.seq - 100, upTo: now.seq });
		expect(recent!.events).toHaveLength(100);
	});

	it('pages across entries of any size: every event once, in order, whatever the page size', async () => {
		const bus = await node(testPrefix());
		const seen = record(bus);
		// entries of 7, 1, 30 and 12 events (one per publishing turn)
		for (const size of [7, 1, 30, 12]) {
			const before = seen.events.length;
			for (let i = 0; i < size; i++) bus.publish(outputEvent('t', before + i + 1));
			await vi.waitFor(() => expect(seen.events).toHaveLength(before + size), WAIT);
		}
		const { epoch, seq } = bus.stream.position;
		const first = seen.events[0]!.seq;
		for (const limit of [1, 5, 8, 50]) {
			for (const start of [first - 1, first + 3, first + 7, first + 20]) {
				const got: number[] = [];
				let after = start;
				while (after < seq) {
					const page = await bus.stream.page({ epoch, after, upTo: seq, limit });
					expect(page).not.toBeNull();
					expect(page!.events.length).toBeLessThanOrEqual(limit);
					got.push(...page!.events.map((n) => n.seq));
					after = page!.next;
				}
				expect(got).toEqual(Array.from({ length: seq - start }, (_, i) => start + 1 + i));
			}
		}
		// a page never runs past the node's position
		const short = await bus.stream.page({ epoch, after: first - 1, upTo: first + 2 });
		expect(short!.events.map((n) => n.seq)).toEqual([first, first + 1, first + 2]);
	});

	it('trims history older than the age bound', async () => {
		const prefix = testPrefix();
		const bus = await node(prefix, { history: { maxEvents: 10_000, maxBytes: 0, maxAgeMs: 200 } });
		const seen = record(bus);
		for (let line = 1; line <= 20; line++) bus.publish(outputEvent('t', line));
		await vi.waitFor(() => expect(seen.events).toHaveLength(20), WAIT);
		const { epoch } = bus.stream.position;
		const old = seen.events[4]!.seq;
		await new Promise((resolve) => setTimeout(resolve, 300));
		for (let line = 21; line <= 25; line++) bus.publish(outputEvent('t', line));
		await vi.waitFor(() => expect(seen.events).toHaveLength(25), WAIT);
		const history = (await import('./history')).SharedHistory;
		const client = rawClient(redis.url);
		try {
			const { defineScripts, streamKeys } = await import('./scripts');
			const removed = await new history(defineScripts(client), streamKeys(prefix)).trim(200, 0);
			expect(removed).toBeGreaterThan(0);
		} finally {
			client.disconnect();
		}
		const { seq } = bus.stream.position;
		expect(await bus.stream.page({ epoch, after: old, upTo: seq })).toBeNull();
		expect((await bus.stream.page({ epoch, after: seq - 5, upTo: seq }))!.events).toHaveLength(5);
	});

	it('waits for a node that is behind to catch up to a seq seen elsewhere', async () => {
		const prefix = testPrefix();
		const bus = await node(prefix);
		const target = bus.stream.position.seq + 3;
		const caught = bus.stream.caughtUp(target, 5_000);
		for (let line = 1; line <= 3; line++) bus.publish(outputEvent('t', line));
		expect(await caught).toBe(true);
		expect(await bus.stream.caughtUp(target + 100, 50)).toBe(false);
	});

	it('resets to a new epoch when Redis loses its data, and carries on', async () => {
		const prefix = testPrefix();
		const bus = await node(prefix);
		const seen = record(bus);
		bus.publish(outputEvent('t', 1));
		await vi.waitFor(() => expect(seen.events).toHaveLength(1), WAIT);
		const before = bus.stream.position;

		const client = rawClient(redis.url);
		await client.flushall();
		client.disconnect();
		bus.publish(outputEvent('t', 2));
		await vi.waitFor(() => expect(seen.events).toHaveLength(2), WAIT);

		const after = bus.stream.position;
		expect(after.epoch).not.toBe(before.epoch);
		expect(seen.resets.at(-1)).toMatchObject({ to: { epoch: after.epoch }, missed: null });
		// the new epoch's events follow its reset, numbered from it
		expect(seen.events[1]!.seq).toBe(seen.resets.at(-1)!.to.seq + 1);
	});

	it('resets its clients when the stream skips seqs it never read, and says how many', async () => {
		const prefix = testPrefix();
		const bus = await node(prefix);
		const seen = record(bus);
		bus.publish(outputEvent('t', 1));
		await vi.waitFor(() => expect(seen.events).toHaveLength(1), WAIT);
		const { epoch, seq } = bus.stream.position;
		const client = rawClient(redis.url);
		const payload = JSON.stringify({ type: 'tool.lines', timestamp: 'x', data: {} });
		// as if these entries had been trimmed before this node read them
		await client.hset(`${prefix}meta`, 's', seq + 3);
		await client.xadd(`${prefix}stream`, `${seq + 3}-0`, 'e', epoch, 't', Date.now(), 'd', payload);
		client.disconnect();
		await vi.waitFor(() => expect(seen.events).toHaveLength(2), WAIT);
		expect(seen.resets.at(-1)).toMatchObject({ to: { epoch, seq: seq + 2 }, missed: 2 });
		expect(seen.events[1]!.seq).toBe(seq + 3);
	});

	it('accounts for every event when trimming overtakes a reader: delivered or reported missed', async () => {
		const prefix = testPrefix();
		const bus = await node(prefix, { history: { maxEvents: 1, maxBytes: 0, maxAgeMs: 0 } });
		const seen = record(bus);
		const start = bus.stream.position.seq;
		// one turn: 40 entries of 500 events, trimmed to the last one or two as they are written
		for (let line = 1; line <= 20_000; line++) bus.publish(outputEvent('t', line));
		await vi.waitFor(() => expect(bus.stream.position.seq).toBe(start + 20_000), WAIT);
		const missed = seen.resets.reduce((sum, r) => sum + (r.missed ?? 0), 0);
		expect(seen.events.length + missed).toBe(20_000);
		// what was delivered is in order, each once
		const lines = seen.events.flatMap((n) => lineKeys(n.event)).map((key) => Number(key.split(':')[1]));
		expect(lines).toHaveLength(seen.events.length);
		expect(lines).toEqual([...lines].sort((x, y) => x - y));
		expect(new Set(lines).size).toBe(lines.length);
	});

	it('skips an entry that is not an event without reporting a gap', async () => {
		const prefix = testPrefix();
		const bus = await node(prefix);
		const seen = record(bus);
		const resetsBefore = seen.resets.length;
		const { epoch, seq } = bus.stream.position;
		const client = rawClient(redis.url);
		await client.hset(`${prefix}meta`, 's', seq + 1);
		await client.xadd(`${prefix}stream`, `${seq + 1}-0`, 'e', epoch, 't', Date.now(), 'd', '{not json');
		client.disconnect();
		bus.publish(outputEvent('t', 1));
		await vi.waitFor(() => expect(seen.events).toHaveLength(1), WAIT);
		expect(seen.events[0]!.seq).toBe(seq + 2);
		expect(seen.resets.length).toBe(resetsBefore);
		expect(bus.health().reader.corrupt).toBe(1);
	});

	it('bumps the epoch when Redis comes back with older data than the node delivered', async () => {
		const prefix = testPrefix();
		const bus = await node(prefix);
		const seen = record(bus);
		for (let line = 1; line <= 5; line++) bus.publish(outputEvent('t', line));
		await vi.waitFor(() => expect(seen.events).toHaveLength(5), WAIT);
		const before = bus.stream.position;
		const client = rawClient(redis.url);
		// an older snapshot: the counter went back; then every connection drops, as at a restart
		await client.hset(`${prefix}meta`, 's', before.seq - 3);
		await client.del(`${prefix}stream`);
		await client.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
		client.disconnect();
		await vi.waitFor(() => expect(bus.stream.position.epoch).not.toBe(before.epoch), WAIT);
		expect(bus.stream.position.seq).toBeGreaterThan(before.seq);
		bus.publish(outputEvent('t', 6));
		await vi.waitFor(() => expect(seen.events).toHaveLength(6), WAIT);
		expect(seen.events[5]!.seq).toBe(bus.stream.position.seq);
	});
});

describe('RedisBus figures', () => {
	it('shows every live node’s shared figures and forgets a node that stopped', async () => {
		const prefix = testPrefix();
		const a = await node(prefix, { nodeId: 'node-a' });
		const b = await node(prefix, { nodeId: 'node-b' });
		a.shareFigures(() => ({ connections: 1 }), 50);
		b.shareFigures(() => ({ connections: 2 }), 50);
		await vi.waitFor(async () => {
			const nodes = await a.clusterFigures<{ connections: number }>();
			expect(nodes.map((n) => [n.node, n.figures.connections])).toEqual([
				['node-a', 1],
				['node-b', 2]
			]);
		}, WAIT);
		await b.close();
		const nodes = await a.clusterFigures();
		expect(nodes.map((n) => n.node)).toEqual(['node-a']);
	});
});
