import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AnyEventEnvelope } from '$lib/protocol';
import { ResumeGate } from './resume-gate';

const data = { task_id: 't1', run_id: null, progress: 1, message: null };
const ev = (seq: number) => ({ type: 'task.progress', seq, timestamp: '', data }) as AnyEventEnvelope;

describe('ResumeGate', () => {
	beforeEach(() => {
		vi.useFakeTimers();
	});
	afterEach(() => {
		vi.useRealTimers();
	});

	it('lets events through while no resume is pending', () => {
		expect(new ResumeGate().hold(ev(1))).toBe(false);
	});

	it('holds events while a resume is pending and releases them in seq order', () => {
		const gate = new ResumeGate();
		const ref = gate.open(1000, () => {});
		expect(ref).toBe('resume-1');
		expect(gate.pending).toBe(true);
		for (const seq of [7, 3, 7, 5]) expect(gate.hold(ev(seq))).toBe(true);
		expect(gate.release().map((e) => e.seq)).toEqual([3, 5, 7, 7]);
		expect(gate.pending).toBe(false);
		expect(gate.hold(ev(8))).toBe(false);
		expect(vi.getTimerCount()).toBe(0);
	});

	it('calls the timeout when no answer comes, and not after a release or discard', () => {
		const gate = new ResumeGate();
		const timedOut = vi.fn();
		gate.open(1000, timedOut);
		vi.advanceTimersByTime(1000);
		expect(timedOut).toHaveBeenCalledOnce();
		gate.open(1000, timedOut);
		gate.release();
		gate.open(1000, timedOut);
		gate.discard();
		vi.advanceTimersByTime(5000);
		expect(timedOut).toHaveBeenCalledOnce();
	});

	it('forgets what it held when discarded', () => {
		const gate = new ResumeGate();
		gate.open(1000, () => {});
		gate.hold(ev(1));
		gate.discard();
		gate.open(1000, () => {});
		expect(gate.ref).toBe('resume-2');
		expect(gate.release()).toEqual([]);
	});
});
