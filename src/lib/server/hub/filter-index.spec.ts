import { describe, expect, it } from 'vitest';
import type { AnyDomainEvent } from '../../protocol/events';
import type { Task } from '../../protocol/models';
import { FilterIndex } from './filter-index';

const progress = (taskId: string, runId: string | null = null): AnyDomainEvent => ({
	type: 'task.progress',
	timestamp: '2024-01-01T00:00:00.000Z',
	data: { task_id: taskId, run_id: runId, progress: 1, message: null }
});
const failed = (taskId: string): AnyDomainEvent => ({
	type: 'task.failed',
	timestamp: '2024-01-01T00:00:00.000Z',
	data: { task_id: taskId, run_id: null, status: 'failed', error: null, duration_ms: null, task: {} as Task }
});

describe('FilterIndex', () => {
	it('finds subscribers by task id, run id, exact type, family, status and "everything"', () => {
		const index = new FilterIndex<string>();
		index.set('task', 's', { task_ids: ['t1'] });
		index.set('run', 's', { run_ids: ['r1'] });
		index.set('type', 's', { types: ['task.failed'] });
		index.set('family', 's', { types: ['tool.*'] });
		index.set('status', 's', { statuses: ['failed'] });
		index.set('all', 's', {});
		expect([...index.match(progress('t1', 'r1'))].sort()).toEqual(['all', 'run', 'task']);
		expect([...index.match(failed('t9'))].sort()).toEqual(['all', 'status', 'type']);
		expect([...index.match(progress('t9'))]).toEqual(['all']);
	});

	it('applies the rest of the filter to the candidates of a bucket', () => {
		const index = new FilterIndex<string>();
		index.set('a', 's', { task_ids: ['t1'], types: ['task.failed'] });
		expect(index.match(progress('t1')).length).toBe(0);
		expect(index.match(failed('t1')).length).toBe(1);
	});

	it('names each owner once however many subscriptions match, and forgets removed ones', () => {
		const index = new FilterIndex<string>();
		index.set('a', 's1', { task_ids: ['t1'] });
		index.set('a', 's2', {});
		expect([...index.match(progress('t1'))]).toEqual(['a']);
		index.set('a', 's1', { task_ids: ['t2'] });
		index.remove('a', 's2');
		expect(index.match(progress('t1')).length).toBe(0);
		index.removeOwner('a');
		expect(index.match(progress('t1')).length).toBe(0);
		expect([index.size, index.owners]).toEqual([0, 0]);
	});

	it('keeps no empty bucket behind for ids nobody watches any more', () => {
		const index = new FilterIndex<string>();
		for (let i = 0; i < 100; i++) index.set('a', 's', { task_ids: [`t${i}`] });
		index.removeOwner('a');
		index.set('b', 's', { task_ids: ['t0'] });
		expect([...index.match(progress('t0'))]).toEqual(['b']);
		expect(index.buckets).toBe(1);
	});
});
