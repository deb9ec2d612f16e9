import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AnyDomainEvent } from '../../protocol/events';
import { RateGate, rateInterval } from './rate-gate';
import { createEntry, type HistoryEntry } from './stream';

let seq = 0;
function entry(event: AnyDomainEvent): HistoryEntry {
	return createEntry(++seq, event, 0);
}
const progress = (task: string, value: number) =>
	entry({
		type: 'task.progress',
		timestamp: '',
		data: { task_id: task, run_id: 'r1', progress: value, message: null }
	});
const failed = (task: string) =>
	entry({
		type: 'task.failed',
		timestamp: '',
		data: {
			task_id: task,
			run_id: 'r1',
			status: 'failed',
			error: 'boom',
			duration_ms: 1,
			task: {} as never
		}
	});

function gate() {
	const out: HistoryEntry[] = [];
	let coalesced = 0;
	const g = new RateGate({
		deliver: (e) => out.push(e),
		onCoalesced: () => coalesced++,
		now: () => Date.now()
	});
	const values = () => out.map((e) => `${e.route.taskId}:${e.seq}`);
	return { g, out, values, coalesced: () => coalesced };
}

describe('rateInterval', () => {
	const dash = { filter: { types: ['task.*'] }, maxRate: 4 };
	it('applies to progress only subscriptions with a rate want', () => {
		expect(rateInterval([dash], progress('t1', 1))).toBe(250);
		expect(rateInterval([dash], failed('t1'))).toBeNull();
		expect(rateInterval([dash, { filter: { task_ids: ['t1'] } }], progress('t1', 1))).toBeNull();
		expect(rateInterval([dash, { filter: { task_ids: ['t2'] } }], progress('t1', 1))).toBe(250);
		expect(rateInterval([dash, { filter: { task_ids: ['t1'] }, maxRate: 10 }], progress('t1', 1))).toBe(100);
	});
});

describe('RateGate', () => {
	beforeEach(() => {
		vi.useFakeTimers();
	});
	afterEach(() => {
		vi.useRealTimers();
	});

	it('lets at most one progress update per task through per interval, the latest value winning', () => {
		const { g, values, coalesced } = gate();
		const first = progress('t1', 1);
		g.offer(first, 250);
		const held = [2, 3, 4, 5].map((v) => progress('t1', v));
		for (const e of held) g.offer(e, 250);
		expect(values()).toEqual([`t1:${first.seq}`]);
		expect(g.held).toBe(1);
		expect(coalesced()).toBe(3);
		vi.advanceTimersByTime(249);
		expect(values()).toHaveLength(1);
		vi.advanceTimersByTime(1);
		expect(values()).toEqual([`t1:${first.seq}`, `t1:${held[3]!.seq}`]);
		expect(vi.getTimerCount()).toBe(0);
	});

	it('counts the interval per task: another task is not slowed by the first', () => {
		const { g, values } = gate();
		const a = progress('t1', 1);
		const b = progress('t2', 1);
		g.offer(a, 250);
		g.offer(b, 250);
		expect(values()).toEqual([`t1:${a.seq}`, `t2:${b.seq}`]);
	});

	it('releases what it holds before any later event, so nothing overtakes on the wire', () => {
		const { g, out } = gate();
		g.offer(progress('t1', 1), 250);
		const held = progress('t1', 2);
		g.offer(held, 250);
		const fail = failed('t1');
		g.offer(fail, null);
		expect(out.slice(-2).map((e) => e.seq)).toEqual([held.seq, fail.seq]);
		expect(g.held).toBe(0);
		expect(vi.getTimerCount()).toBe(0);
	});

	it('keeps held updates in seq order: one due later holds back the ones behind it', () => {
		const { g, out } = gate();
		g.offer(progress('t1', 1), 250);
		vi.advanceTimersByTime(100);
		const t1 = progress('t1', 2); // due at 250
		g.offer(t1, 250);
		const t2 = progress('t2', 1); // t2 is due now, but t1 is ahead of it
		g.offer(t2, 250);
		expect(out.map((e) => e.seq)).not.toContain(t2.seq);
		vi.advanceTimersByTime(150);
		expect(out.slice(-2).map((e) => e.seq)).toEqual([t1.seq, t2.seq]);
		const seqs = out.map((e) => e.seq);
		expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
	});

	it('over a burst of a hundred updates a second, a client at 4/s gets about four a second per task', () => {
		const { g, out } = gate();
		for (let i = 1; i <= 300; i++) {
			g.offer(progress('t1', i), 250);
			g.offer(progress('t2', i), 250);
			vi.advanceTimersByTime(10);
		}
		vi.advanceTimersByTime(250);
		const perTask = (task: string) => out.filter((e) => e.route.taskId === task);
		// 3 s of updates: 12 intervals plus the first one, and the last value always arrives
		expect(perTask('t1').length).toBeLessThanOrEqual(14);
		expect(perTask('t1').length).toBeGreaterThanOrEqual(12);
		expect(JSON.parse(perTask('t2').at(-1)!.frame.toString()).data.progress).toBe(300);
	});

	it('holds a bounded number of updates, and clear() forgets them and the timer', () => {
		const out: HistoryEntry[] = [];
		const g = new RateGate({ deliver: (e) => out.push(e), maxHeld: 3, now: () => Date.now() });
		g.offer(progress('a', 1), 1000);
		for (const task of ['a', 'b', 'c', 'd']) g.offer(progress(task, 2), 1000);
		expect(g.held).toBeLessThanOrEqual(3);
		g.clear();
		expect(g.held).toBe(0);
		expect(vi.getTimerCount()).toBe(0);
	});

	it('forgets a task quiet for longer than any rate allows, though it never had to hold anything', () => {
		const { g, out } = gate();
		// a dashboard left open: every task reports progress once, spaced wider than the interval
		for (let i = 0; i < 2_000; i++) {
			g.offer(progress(`t${i}`, 1), 250);
			vi.advanceTimersByTime(300);
		}
		expect(g.held).toBe(0);
		expect(out).toHaveLength(2_000);
		// 10 s (the slowest rate's interval) of tasks at 300 ms apart are all it needs to keep
		expect(g.remembered).toBeLessThanOrEqual(35);
		// and a task it remembers is still held to its rate
		g.offer(progress('t1999', 2), 250);
		g.offer(progress('t1999', 3), 250);
		expect(g.held).toBe(1);
	});
});
