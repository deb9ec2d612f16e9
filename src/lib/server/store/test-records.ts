/**
 * @module store/test-records
 * Stand-alone records for specs and benchmarks that need a task or an execution to hang
 * output on; only the fields a caller cares about need naming.
 */
import type { Execution, Task } from '../../protocol/models';
import type { NewExecution, NewTask, Store } from './types';

export function createStandaloneTask(store: Store, fields: Partial<NewTask> = {}): Promise<Task> {
	return store.createTask({
		run_id: null,
		key: 't',
		name: 't',
		needs: [],
		weight: 1,
		optional: false,
		step_count: 1,
		...fields
	});
}

export function createTestExecution(
	store: Store,
	taskId: string,
	fields: Partial<Omit<NewExecution, 'task_id'>> = {}
): Promise<Execution> {
	return store.createExecution({
		task_id: taskId,
		step: 0,
		name: 's',
		command: 'x',
		args: [],
		cwd: null,
		...fields
	});
}
