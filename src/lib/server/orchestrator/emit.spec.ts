import { describe, expect, it } from 'vitest';
import type { AnyDomainEvent, Execution, Task, WorkflowRun } from '../../protocol';
import { MemoryBus } from '../bus/memory-bus';
import type { EventBus } from '../bus/types';
import { publish, taskChanged, toolEnded, workflowEnded } from './emit';

function collect(): { bus: MemoryBus; events: AnyDomainEvent[] } {
	const bus = new MemoryBus();
	const events: AnyDomainEvent[] = [];
	bus.subscribe((event) => events.push(event));
	return { bus, events };
}

const task = (status: Task['status']) =>
	({ id: 'task_1', run_id: 'run_1', status, error: 'e', duration_ms: 5, message: 'm' }) as Task;
const execution = (status: Execution['status']) =>
	({
		id: 'exec_1',
		status,
		exit_code: 1,
		signal: null,
		error: 'x',
		duration_ms: 3,
		line_count: 7
	}) as Execution;

describe('emit', () => {
	it('publishes a task change under the event its status calls for, with the record', () => {
		const { bus, events } = collect();
		for (const status of ['succeeded', 'failed', 'running', 'cancelled'] as const)
			taskChanged(bus, task(status));
		expect(events.map((event) => event.type)).toEqual([
			'task.completed',
			'task.failed',
			'task.status',
			'task.status'
		]);
		expect(events[1].data).toEqual({
			task_id: 'task_1',
			run_id: 'run_1',
			status: 'failed',
			error: 'e',
			duration_ms: 5,
			task: task('failed')
		});
		expect(events[2].data).toMatchObject({ status: 'running', message: 'm' });
	});

	it('publishes tool.completed only for a succeeded execution', () => {
		const { bus, events } = collect();
		toolEnded(bus, task('running'), execution('succeeded'));
		toolEnded(bus, task('running'), execution('cancelled'));
		expect(events.map((event) => event.type)).toEqual(['tool.completed', 'tool.failed']);
		expect(events[1].data).toMatchObject({ execution_id: 'exec_1', line_count: 7, error: 'x', signal: null });
	});

	it('publishes workflow.failed for every end but success', () => {
		const { bus, events } = collect();
		for (const status of ['succeeded', 'failed', 'cancelled', 'interrupted'] as const) {
			workflowEnded(bus, { id: 'run_1', workflow: 'w', status, error: null, duration_ms: 1 } as WorkflowRun);
		}
		expect(events.map((event) => [event.type, (event.data as { status: string }).status])).toEqual([
			['workflow.completed', 'succeeded'],
			['workflow.failed', 'failed'],
			['workflow.failed', 'cancelled'],
			['workflow.failed', 'interrupted']
		]);
	});

	it('stamps each event with the time and survives a bus that throws', () => {
		const { bus, events } = collect();
		publish(bus, 'task.progress', { task_id: 't', run_id: null, progress: 1, message: null });
		expect(Date.parse(events[0].timestamp)).not.toBeNaN();
		const broken: EventBus = {
			publish: () => {
				throw new Error('down');
			},
			subscribe: () => () => {},
			close: async () => {}
		};
		expect(() =>
			publish(broken, 'task.progress', { task_id: 't', run_id: null, progress: 1, message: null })
		).not.toThrow();
	});
});
