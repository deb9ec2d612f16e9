/**
 * @module downloads/segments
 * What "Download all" holds: every step of a task (or of every task of a run) in order, each
 * after a header naming it, and the names of those downloads. Joins the records in the route's
 * reach (store reads only), so the Store interface stays as it is.
 */
import type { Execution, Task, WorkflowRun } from '../../protocol';
import type { LogSegment } from '../http/log-stream';
import type { Store } from '../store/types';

/** `=== Build › Step 1/2: Compile · succeeded, exit code 0 ===` */
export function stepHeader(task: Task, execution: Execution, steps: number): string {
	const how =
		execution.exit_code !== null
			? `, exit code ${execution.exit_code}`
			: execution.signal
				? `, signal ${execution.signal}`
				: '';
	return `=== ${task.name} › Step ${execution.step + 1}/${Math.max(steps, execution.step + 1)}: ${execution.name} · ${execution.status}${how} ===`;
}

export async function taskSegments(store: Store, task: Task): Promise<LogSegment[]> {
	const executions = await store.listExecutions(task.id);
	const steps = Math.max(task.step_count, executions.length);
	return executions.map((execution) => ({
		executionId: execution.id,
		header: stepHeader(task, execution, steps),
		fields: { task: task.key, task_id: task.id, step: execution.step, execution_id: execution.id },
		upTo: execution.line_count
	}));
}

export async function runSegments(store: Store, run: WorkflowRun): Promise<LogSegment[]> {
	const segments: LogSegment[] = [];
	for (const task of await store.runTasks(run.id)) segments.push(...(await taskSegments(store, task)));
	return segments;
}

/** The workflow a task ran in, or null for a stand-alone task. */
export async function workflowOf(store: Store, task: Task): Promise<string | null> {
	if (!task.run_id) return null;
	return (await store.getRun(task.run_id))?.workflow ?? null;
}
