/**
 * @module orchestrator/emit
 * Builds every event the orchestrator publishes from the record as stored right after the
 * change, so a payload can never disagree with what REST returns a moment later.
 */
import {
	startsNewEvent,
	toOutputLine,
	type AnyDomainEvent,
	type EventDataMap,
	type EventType,
	type Execution,
	type ExecutionRef,
	type LogLine,
	type OutputLine,
	type Task,
	type WorkflowRun
} from '../../protocol';
import type { EventBus } from '../bus/types';
import { isoNow } from '../iso-now';

/** Publishes one event (stamped now); a bus failure is the bus's problem, never the run's. */
export function publish<T extends EventType>(
	bus: EventBus,
	type: T,
	data: EventDataMap[T],
	timestamp = isoNow()
): void {
	try {
		bus.publish({ type, data, timestamp } as AnyDomainEvent);
	} catch {
		// MemoryBus isolates listeners already; a remote bus that throws must not fail a task
	}
}

/** Stored lines of one execution, as few `tool.lines` events as the protocol's limits allow. */
export function toolLines(bus: EventBus, ref: ExecutionRef, stored: readonly LogLine[]): void {
	const timestamp = isoNow();
	let lines: OutputLine[] = [];
	let chars = 0;
	for (const line of stored) {
		if (startsNewEvent(lines.length, chars, line.text.length)) {
			publish(bus, 'tool.lines', { ...ref, lines }, timestamp);
			lines = [];
			chars = 0;
		}
		lines.push(toOutputLine(line));
		chars += line.text.length;
	}
	if (lines.length > 0) publish(bus, 'tool.lines', { ...ref, lines }, timestamp);
}

export function taskCreated(bus: EventBus, task: Task): void {
	publish(bus, 'task.created', { task_id: task.id, run_id: task.run_id, task });
}

export function taskProgress(bus: EventBus, task: Task): void {
	publish(bus, 'task.progress', {
		task_id: task.id,
		run_id: task.run_id,
		progress: task.progress,
		message: task.message
	});
}

/** `task.completed`, `task.failed` or `task.status`, whichever the task's status calls for. */
export function taskChanged(bus: EventBus, task: Task): void {
	const ref = { task_id: task.id, run_id: task.run_id };
	if (task.status === 'succeeded') {
		publish(bus, 'task.completed', { ...ref, status: 'succeeded', duration_ms: task.duration_ms, task });
	} else if (task.status === 'failed') {
		publish(bus, 'task.failed', {
			...ref,
			status: 'failed',
			error: task.error,
			duration_ms: task.duration_ms,
			task
		});
	} else {
		publish(bus, 'task.status', { ...ref, status: task.status, message: task.message, task });
	}
}

export function toolStarted(bus: EventBus, task: Task, execution: Execution): void {
	publish(bus, 'tool.started', {
		task_id: task.id,
		run_id: task.run_id,
		execution_id: execution.id,
		execution
	});
}

/** `tool.completed` for a clean exit, `tool.failed` for anything else. */
export function toolEnded(bus: EventBus, task: Task, execution: Execution): void {
	const ref = { task_id: task.id, run_id: task.run_id, execution_id: execution.id };
	const common = {
		exit_code: execution.exit_code,
		duration_ms: execution.duration_ms,
		line_count: execution.line_count
	};
	if (execution.status === 'succeeded') {
		publish(bus, 'tool.completed', { ...ref, ...common, execution });
	} else {
		publish(bus, 'tool.failed', {
			...ref,
			...common,
			signal: execution.signal,
			error: execution.error,
			execution
		});
	}
}

export function workflowProgress(bus: EventBus, run: WorkflowRun): void {
	publish(bus, 'workflow.progress', {
		run_id: run.id,
		workflow: run.workflow,
		status: run.status,
		progress: run.progress,
		finished_weight: run.finished_weight,
		total_weight: run.total_weight,
		run
	});
}

/** `workflow.completed` for success, `workflow.failed` for failed, cancelled or interrupted. */
export function workflowEnded(bus: EventBus, run: WorkflowRun): void {
	const ref = { run_id: run.id, workflow: run.workflow, duration_ms: run.duration_ms, run };
	if (run.status === 'succeeded') {
		publish(bus, 'workflow.completed', { ...ref, status: 'succeeded' });
	} else {
		publish(bus, 'workflow.failed', { ...ref, status: run.status, error: run.error });
	}
}
