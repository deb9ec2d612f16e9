/**
 * Viewer-side hub features against a real hub with real `ws` clients: a subscription's slower
 * rate (`max_rate`, progress coalesced on the server) and the `system.stats` feed.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type {
	AnyEventEnvelope,
	ControlMessage,
	EventEnvelope,
	ServerMessage
} from '../../src/lib/protocol/messages';
import { failed, progress, startHubServer, type HubServer } from '../helpers/hub-server';

let s: HubServer;

beforeEach(async () => {
	s = await startHubServer();
});
afterEach(async () => {
	await s.stop();
});

const events = (messages: ServerMessage[]) =>
	messages.filter((m): m is AnyEventEnvelope => typeof (m as { seq?: unknown }).seq === 'number');

describe('a subscription with max_rate', () => {
	it('gets at most that many progress updates per second per task, the latest value last, the rest at once and in order', async () => {
		const slow = await s.join();
		const full = await s.join();
		const reply = await slow.request<ControlMessage<'subscribed'>>({
			type: 'subscribe',
			sub: 'dash',
			filter: { types: ['task.*'] },
			max_rate: 4
		});
		expect(reply.data.max_rate).toBe(4);
		await full.request({ type: 'subscribe', sub: 'dash', filter: { types: ['task.*'] } });

		const started = Date.now();
		const PER_TASK = 100;
		for (let i = 1; i <= PER_TASK; i++) {
			s.bus.publish(progress('t1', 'r1', i));
			s.bus.publish(progress('t2', 'r1', i));
			await new Promise((resolve) => setTimeout(resolve, 10));
		}
		const elapsedS = (Date.now() - started) / 1000;
		s.bus.publish(failed('t1', 'r1'));
		await slow.next((m) => m.type === 'task.failed', 5_000);
		await full.next((m) => m.type === 'task.failed', 5_000);

		const got = events(slow.messages);
		const seqs = got.map((e) => e.seq);
		expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
		for (const taskId of ['t1', 't2']) {
			const updates = got.filter(
				(e): e is EventEnvelope<'task.progress'> => e.type === 'task.progress' && e.data.task_id === taskId
			);
			// 4 a second over the time it took, plus the first and a last one; the values held back
			// went out ahead of the failure, so the last value arrived
			expect(updates.length).toBeLessThanOrEqual(Math.ceil(elapsedS * 4) + 2);
			expect(updates.length).toBeGreaterThanOrEqual(2);
			expect(updates.at(-1)!.data.progress).toBe(PER_TASK);
		}
		expect(got.filter((e) => e.type === 'task.failed')).toHaveLength(1);
		// the client without a rate got every update
		expect(events(full.messages).filter((e) => e.type === 'task.progress')).toHaveLength(2 * PER_TASK);
		expect(s.hub.stats().backpressure.dropped).toBe(0);
	});

	it('refuses a rate outside the bounds, naming the field', async () => {
		const client = await s.join();
		const reply = await client.request<ControlMessage<'error'>>({
			type: 'subscribe',
			filter: {},
			max_rate: 0
		});
		expect(reply.type).toBe('error');
		expect(reply.data.message).toContain('max_rate');
	});
});

describe('system.stats', () => {
	it('reaches the clients that name it, every couple of seconds, and not a catch-all subscription', async () => {
		const watcher = await s.join();
		const everything = await s.join();
		await watcher.request({ type: 'subscribe', sub: 'system', filter: { types: ['system.stats'] } });
		await everything.request({ type: 'subscribe', sub: 'all', filter: {} });
		const first = await watcher.nextOfType<ControlMessage<'system.stats'>>('system.stats', 5_000);
		const second = await watcher.nextOfType<ControlMessage<'system.stats'>>('system.stats', 5_000);
		expect(second.data.sample.n).toBe(first.data.sample.n + 1);
		expect(second.data.sample).toMatchObject({ connections: 2, interval_ms: expect.any(Number) });
		expect(second.data.sample.memory.rss).toBeGreaterThan(0);
		expect(second.data.sample.messages_out_per_s).toBeGreaterThan(0);
		await everything.sync();
		expect(everything.messages.some((m) => m.type === 'system.stats')).toBe(false);
		const kept = s.hub.systemStats();
		expect(kept.samples.map((x) => x.n)).toContain(second.data.sample.n);
		expect(kept.window_ms).toBe(600_000);
	});
});
