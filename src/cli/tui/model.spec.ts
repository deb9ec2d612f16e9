import { describe, expect, it } from 'vitest';
import type { AnyEventEnvelope } from '../../lib/protocol/messages';
import type { Task } from '../../lib/protocol/models';
import { makeTask } from '../../lib/realtime/test-fixtures';
import { DashboardModel } from './model';

const status = (task: Task, seq = 1) =>
	({
		type: 'task.status',
		seq,
		timestamp: '',
		data: { task_id: task.id, run_id: null, status: task.status, message: null, task }
	}) as AnyEventEnvelope;

describe('DashboardModel', () => {
	it('selects each task that starts until the person moves the selection', () => {
		const model = new DashboardModel();
		model.endLoad([makeTask({ id: 'a', status: 'succeeded', created_at: '2030-01-01T00:00:00Z' })]);
		expect(model.selectedId).toBe('a');
		model.apply(status(makeTask({ id: 'b', status: 'running', created_at: '2030-01-01T00:01:00Z' })), 0);
		expect(model.selectedId).toBe('b');
		model.move(1);
		expect(model.selectedId).toBe('a');
		model.apply(status(makeTask({ id: 'c', status: 'running', created_at: '2030-01-01T00:02:00Z' })), 0);
		expect(model.selectedId).toBe('a');
	});

	it('keeps what events said while a snapshot was loading', () => {
		const model = new DashboardModel();
		model.beginLoad();
		const done = makeTask({
			id: 'a',
			status: 'succeeded',
			progress: 100,
			created_at: '2030-01-01T00:00:00Z'
		});
		model.apply(status(done), 0);
		model.endLoad([{ ...done, status: 'running', progress: 40 }]);
		expect(model.tasks.map((t) => [t.id, t.status])).toEqual([['a', 'succeeded']]);
	});

	it('ignores progress for a task that already finished', () => {
		const model = new DashboardModel();
		model.endLoad([makeTask({ id: 'a', status: 'failed', progress: 30 })]);
		const changed = model.apply(
			{
				type: 'task.progress',
				seq: 1,
				timestamp: '',
				data: { task_id: 'a', run_id: null, progress: 90, message: null }
			} as AnyEventEnvelope,
			0
		);
		expect(changed).toBe(false);
		expect(model.tasks[0].progress).toBe(30);
	});
});
