/**
 * The viewer's pause: live updates are held while paused and applied in order on resume; the
 * reloads asked for meanwhile wait too; a pause that outlasts the limit reloads instead.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AnyEventEnvelope } from '$lib/protocol';
import { connectionHarness } from './test-connection';

const ev = (seq: number) =>
	({
		type: 'task.progress',
		seq,
		timestamp: '',
		data: { task_id: 't1', run_id: null, progress: seq, message: null }
	}) as AnyEventEnvelope;

function live(options: Parameters<typeof connectionHarness>[0] = {}) {
	const harness = connectionHarness(options);
	const seen: number[] = [];
	const reasons: string[] = [];
	harness.connection.onEvent((e) => seen.push(e.seq));
	harness.connection.onReconnected((reason) => void reasons.push(reason));
	harness.connection.connect();
	const socket = harness.accept({ epoch: 'e1', seq: 0 });
	return { ...harness, socket, seen, reasons };
}

describe('RealtimeConnection pause', () => {
	beforeEach(() => {
		vi.useFakeTimers();
	});
	afterEach(() => {
		vi.useRealTimers();
	});

	it('holds live updates while paused, counts them, and applies them in order on resume', () => {
		const { connection, socket, seen } = live();
		socket.event(ev(1));
		connection.pause();
		expect(connection.paused).toBe(true);
		socket.event(ev(2));
		socket.receive({ type: 'batch', events: [ev(3), ev(4)] });
		socket.event(ev(4));
		expect(seen).toEqual([1]);
		expect(connection.heldCount).toBe(3);
		connection.resume();
		expect(seen).toEqual([1, 2, 3, 4]);
		expect(connection.paused).toBe(false);
		expect(connection.heldCount).toBe(0);
		socket.event(ev(5));
		expect(seen).toEqual([1, 2, 3, 4, 5]);
		connection.destroy();
	});

	it('holds the reload a reset asks for until resume, after the updates held before it', () => {
		const { connection, socket, seen, reasons } = live();
		const order: string[] = [];
		connection.onEvent((e) => order.push(`event ${e.seq}`));
		connection.onReconnected((reason) => void order.push(`reload ${reason}`));
		connection.pause();
		socket.event(ev(1));
		socket.reset({ missed: 12, epoch: 'e2', seq: 40 });
		socket.dropped(2, 41, 42);
		expect(reasons).toEqual([]);
		connection.resume();
		expect(seen).toEqual([1]);
		expect(order).toEqual(['event 1', 'reload reset']);
		connection.destroy();
	});

	it('holds the reload a subscription made while live asks for until resume', () => {
		const { connection, socket, reasons } = live();
		const reloads: string[] = [];
		connection.subscribe('task:t1', { task_ids: ['t1'] }, { reload: () => void reloads.push('task:t1') });
		connection.pause();
		socket.receive({
			type: 'subscribed',
			timestamp: '',
			data: { id: 'task:t1', filter: { task_ids: ['t1'] } }
		});
		expect([reloads, reasons]).toEqual([[], []]);
		connection.resume();
		// the page reloads as a whole on resume, as for the other reloads asked for while paused
		expect(reasons).toEqual(['subscribed']);
		connection.destroy();
	});

	it('stops holding past the limit and reloads on resume instead', () => {
		const { connection, socket, seen, reasons } = live({ pauseLimit: 3 });
		connection.pause();
		for (let seq = 1; seq <= 5; seq++) socket.event(ev(seq));
		expect(connection.heldCount).toBe(5);
		expect(connection.heldOverflowed).toBe(true);
		connection.resume();
		expect(seen).toEqual([]);
		expect(reasons).toEqual(['dropped']);
		socket.event(ev(6));
		expect(seen).toEqual([6]);
		connection.destroy();
	});

	it('counts the lines of a tool.lines event towards the count and the limit, as one event each before', () => {
		const { connection, socket, seen, reasons } = live({ pauseLimit: 2_500 });
		const lines = (seq: number, from: number, count: number) =>
			({
				type: 'tool.lines',
				seq,
				timestamp: '',
				data: {
					task_id: 't1',
					run_id: null,
					execution_id: 'e1',
					lines: Array.from({ length: count }, (_, i) => ({
						line: from + i,
						output: `line ${from + i}`,
						is_stderr: false,
						timestamp: ''
					}))
				}
			}) as AnyEventEnvelope;
		connection.pause();
		socket.event(lines(1, 1, 1_000));
		socket.event(ev(2));
		socket.event(lines(3, 1_001, 1_000));
		expect(connection.heldCount).toBe(2_001);
		expect(connection.heldOverflowed).toBe(false);
		// 2,001 held and 1,000 more would pass the 2,500 a page holds: resuming reloads instead
		socket.event(lines(4, 2_001, 1_000));
		expect(connection.heldCount).toBe(3_001);
		expect(connection.heldOverflowed).toBe(true);
		connection.resume();
		expect(seen).toEqual([]);
		expect(reasons).toEqual(['dropped']);
		connection.destroy();
	});

	it('holds the system figures too, and keeps the connection itself going while paused', () => {
		const { connection, socket, factory } = live();
		const stats: number[] = [];
		connection.onControl('system.stats', (data) => stats.push(data.sample.n));
		connection.pause();
		const sample = (n: number) => ({
			type: 'system.stats',
			timestamp: '',
			data: { node: { pid: 1, started_at: '' }, sample: { n } }
		});
		socket.receive(sample(1));
		socket.receive(sample(2));
		socket.serverClose(1006);
		vi.runOnlyPendingTimers();
		expect(factory.sockets).toHaveLength(2);
		expect(stats).toEqual([]);
		connection.resume();
		expect(stats).toEqual([1, 2]);
		connection.destroy();
	});
});
