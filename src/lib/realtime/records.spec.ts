import { describe, expect, it } from 'vitest';
import { capRecords, mergeRecord, mergeSnapshot, upsertRecord } from './records';
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
