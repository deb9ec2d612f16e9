/**
 * @module bench/hub-fanout/events
 * The events the fan-out bench publishes: a mix like a busy run's, mostly `tool.lines`
 * of one line each, some `task.progress`, and a `task.status` carrying the whole task now and then.
 */
import type { AnyDomainEvent } from '../../src/lib/protocol/events';
import type { Task } from '../../src/lib/protocol/models';
import { lineText } from '../lib/fixtures';

const RUN_ID = 'run_bench0000000000000';
const TASK_ID = 'task_bench000000000000';
const EXECUTION_ID = 'exec_bench000000000000';
const AT = '2025-01-01T00:00:00.000Z';

function task(i: number): Task {
	return {
		id: TASK_ID,
		run_id: RUN_ID,
		key: 'build',
		name: 'Build the bundle',
		status: 'running',
		progress: i % 100,
		message: `step ${i % 7} of 7`,
		needs: ['setup', 'lint'],
		weight: 2,
		optional: false,
		step_count: 7,
		created_at: AT,
		started_at: AT,
		finished_at: null,
		duration_ms: null,
		error: null
	};
}

/** Event `i` (0-based) of the mix: every 20th a task.status, every 10th a task.progress, else a tool.lines of one line. */
export function mixedEvent(i: number): AnyDomainEvent {
	const ref = { task_id: TASK_ID, run_id: RUN_ID };
	if (i % 20 === 19) {
		return {
			type: 'task.status',
			timestamp: AT,
			data: { ...ref, status: 'running', message: `step ${i % 7} of 7`, task: task(i) }
		};
	}
	if (i % 10 === 9) {
		return { type: 'task.progress', timestamp: AT, data: { ...ref, progress: i % 100, message: null } };
	}
	return {
		type: 'tool.lines',
		timestamp: AT,
		data: {
			...ref,
			execution_id: EXECUTION_ID,
			lines: [{ line: i + 1, output: lineText(i), is_stderr: false, timestamp: AT }]
		}
	};
}

export function eventMix(count: number): AnyDomainEvent[] {
	return Array.from({ length: count }, (_, i) => mixedEvent(i));
}
