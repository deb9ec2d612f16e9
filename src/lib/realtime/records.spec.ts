import { describe, expect, it } from 'vitest';
import { capRecords, mergeRecord, mergeSnapshot, mergeStatusEvent, upsertRecord } from './records';
import type { Task } from '$lib/protocol';
import { makeTask } from './test-fixtures';

describe('records', () => {
	it('never moves a finished record back to running', () => {
		const done = makeTask({ status: 'succeeded', progress: 100 });
		const stale = { ...done, status: 'running' as const, progress: 60 };
		expect(mergeRecord(done, stale)).toBe(done);
		expect(mergeRecord(stale, done)).toBe(done);
	});

	it('keeps the further progress of two running records, and the newcomer on a tie', () => {
		const a = makeTask({ progress: 70 });
		const b = { ...a, progress: 40 };
		expect(mergeRecord(a, b)).toBe(a);
		const c = { ...a, message: 'newer' };
		expect(mergeRecord(a, c)).toBe(c);
	});

	it('takes a queued status event for a running task: it was sent back to the queue', () => {
		const running = makeTask({ started_at: '2030-01-01T00:10:00.000Z', progress: 60 });
		const queued = { ...running, status: 'queued' as const, message: 'retry' };
		expect(mergeStatusEvent(running, queued)).toBe(queued);
		// an attempt that never got to start is sent back too
		const claimed = makeTask({ started_at: null });
		const requeued = { ...claimed, status: 'queued' as const };
		expect(mergeStatusEvent(claimed, requeued)).toBe(requeued);
	});

	it('keeps what a newer snapshot showed against an older queued status event', () => {
		const queued = makeTask({ status: 'queued', started_at: '2030-01-01T00:10:00.000Z' });
		const done = { ...queued, status: 'succeeded' as const, progress: 100 };
		expect(mergeStatusEvent(done, queued)).toBe(done);
		const nextAttempt = { ...queued, status: 'running' as const, started_at: '2030-01-01T00:11:00.000Z' };
		expect(mergeStatusEvent(nextAttempt, queued)).toBe(nextAttempt);
	});

	it('keeps a task sent back to the queue against a snapshot of the attempt it took back, either way round', () => {
		const running = makeTask({ started_at: '2030-01-01T00:10:00.000Z', progress: 60 });
		const queued: Task = { ...running, status: 'queued', message: 'retry' };
		expect(mergeRecord(queued, running)).toBe(queued);
		expect(mergeRecord(running, queued)).toBe(queued);
		// a queued record from before the task started is older than any running one
		const fresh = makeTask({ status: 'queued', started_at: null });
		const started = { ...fresh, status: 'running' as const, started_at: '2030-01-01T00:10:00.000Z' };
		expect(mergeRecord(started, fresh)).toBe(started);
		expect(mergeRecord(fresh, started)).toBe(started);
		// the next attempt started later: it is newer than the queued record
		const nextAttempt = { ...running, started_at: '2030-01-01T00:11:00.000Z', progress: 5 };
		expect(mergeRecord(queued, nextAttempt)).toBe(nextAttempt);
	});

	it('takes the later attempt of a running task over the one it replaced, whatever their progress', () => {
		const first = makeTask({ started_at: '2030-01-01T00:10:00.000Z', progress: 60, message: 'compiling' });
		const second = { ...first, started_at: '2030-01-01T00:11:00.000Z', progress: 5, message: 'fetching' };
		expect(mergeRecord(first, second)).toBe(second);
		expect(mergeRecord(second, first)).toBe(second);
		// the same attempt: the one further along
		const further = { ...second, progress: 40 };
		expect(mergeRecord(further, second)).toBe(further);
		expect(mergeRecord(second, further)).toBe(further);
	});

	it('inserts newest first and replaces by id', () => {
		const older = makeTask({ id: 'a' });
		const newer = makeTask({ id: 'b' });
		let list = upsertRecord([], older, 10);
		list = upsertRecord(list, newer, 10);
		expect(list.map((t) => t.id)).toEqual(['b', 'a']);
		list = upsertRecord(list, { ...older, status: 'failed' }, 10);
		expect(list.map((t) => `${t.id}:${t.status}`)).toEqual(['b:running', 'a:failed']);
	});

	it('caps a list but keeps unfinished records past the cap', () => {
		// created oldest to newest: a, b, c, d; newest first that is d, c, b, a
		const a = makeTask({ id: 'a', status: 'failed' });
		const b = makeTask({ id: 'b', status: 'running' });
		const c = makeTask({ id: 'c', status: 'succeeded' });
		const d = makeTask({ id: 'd', status: 'succeeded' });
		expect(capRecords([d, c, b, a], 2).map((t) => t.id)).toEqual(['d', 'c', 'b']);
	});

	it('lets a snapshot win except where an event during its flight got further', () => {
		const a = makeTask({ id: 'a', status: 'running', progress: 10 });
		const b = makeTask({ id: 'b', status: 'running' });
		const snapshot = [b, a];
		const touched = new Map([
			['a', { ...a, status: 'succeeded' as const, progress: 100 }],
			['c', makeTask({ id: 'c' })]
		]);
		const merged = mergeSnapshot(snapshot, touched, 10);
		expect(merged.map((t) => `${t.id}:${t.status}`)).toEqual(['c:running', 'b:running', 'a:succeeded']);
	});
});
