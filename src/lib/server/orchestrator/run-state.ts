/**
 * @module orchestrator/run-state
 * What the orchestrator holds in memory about one open run, and the pure arithmetic on it:
 * progress by weight, and how and why the run ended.
 */
import type { RunStatus, Task, TaskStatus, WorkflowRun } from '../../protocol';
import type { RunPatch } from '../store/types';
import type { StopReason, TaskRunner } from './task-runner';
import type { TaskDef, WorkflowDef } from './workflow-file';

/** what a task or run left running by a stopped server is marked with */
export const INTERRUPTED_REASON = 'the server stopped while this was running';

export interface TaskState {
	def: TaskDef;
	record: Task;
	/** the scheduler's view; ahead of `record` while a write is on its way */
	status: TaskStatus;
	runner: TaskRunner | null;
	/** failed because a need did not succeed (not by its own doing) */
	blocked: boolean;
}

export interface RunState {
	run: WorkflowRun;
	workflow: WorkflowDef;
	/** by task key, in file order */
	tasks: Map<string, TaskState>;
	stopping: StopReason | null;
	/** the run's serial queue of record changes */
	queue: Promise<void>;
	ended: boolean;
	/** settles once the run's end is stored and announced */
	done: Promise<void>;
	resolveDone: () => void;
}

/** statuses whose weight counts as done in the run's progress */
const COUNTED_AS_FINISHED: ReadonlySet<TaskStatus> = new Set(['succeeded', 'failed', 'cancelled']);

export function createRunState(run: WorkflowRun, workflow: WorkflowDef, tasks: Task[]): RunState {
	let resolveDone!: () => void;
	const done = new Promise<void>((resolve) => (resolveDone = resolve));
	const byKey = new Map(tasks.map((task) => [task.key, task]));
	return {
		run,
		workflow,
		tasks: new Map(
			workflow.tasks.map((def) => {
				const record = byKey.get(def.key)!;
				return [def.key, { def, record, status: record.status, runner: null, blocked: false }];
			})
		),
		stopping: null,
		queue: Promise.resolve(),
		ended: false,
		done,
		resolveDone
	};
}

/** finished weight, and progress as a percentage with one decimal */
export function runProgress(state: RunState): { finished: number; progress: number } {
	let finished = 0;
	for (const task of state.tasks.values()) {
		if (COUNTED_AS_FINISHED.has(task.status)) finished += task.def.weight;
	}
	const total = state.run.total_weight;
	return { finished, progress: total > 0 ? Math.round((finished / total) * 1000) / 10 : 100 };
}

/**
 * The record change that ends a run. `planned` is the schedule's verdict; a run being cancelled
 * or interrupted says so, unless everything succeeded before the stop could matter.
 */
export function runEndPatch(state: RunState, planned: RunStatus, now = new Date()): RunPatch {
	const status = state.stopping && planned !== 'succeeded' ? state.stopping : planned;
	const { finished, progress } = runProgress(state);
	const startedAt = state.run.started_at;
	return {
		status,
		progress,
		finished_weight: finished,
		finished_at: now.toISOString(),
		duration_ms: startedAt ? now.getTime() - Date.parse(startedAt) : null,
		error: runError(state, status)
	};
}

function runError(state: RunState, status: RunStatus): string | null {
	if (status === 'succeeded') return null;
	if (status === 'cancelled') return 'cancelled';
	if (status === 'interrupted') return INTERRUPTED_REASON;
	const tasks = [...state.tasks.values()].filter((task) => !task.def.optional && task.status !== 'succeeded');
	// name the task that failed by itself, not the dependants that failed with it
	const cause = tasks.find((task) => !task.blocked) ?? tasks[0];
	if (!cause) return 'failed';
	return `task '${cause.def.key}' ${cause.status === 'failed' ? 'failed' : `was ${cause.status}`}`;
}
