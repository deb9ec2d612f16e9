/**
 * @module orchestrator/run-state
 * What the orchestrator holds in memory about one open run, and the pure arithmetic on it:
 * progress by weight and by how far each task got, and how and why the run ended.
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
	/** a progress write is queued (task progress is coalesced into one run write at a time) */
	progressQueued: boolean;
	/** settles once the run's end is stored and announced */
	done: Promise<void>;
	resolveDone: () => void;
}

/** statuses whose weight counts as finished (`finished_weight`) */
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
		progressQueued: false,
		done,
		resolveDone
	};
}

/** what the run's progress needs to know of one task */
export interface ProgressPart {
	status: TaskStatus;
	/** the task's own progress, 0–100 */
	progress: number;
	weight: number;
	optional: boolean;
}

/**
 * How far a run has got, 0–100 with one decimal: each task counts its weight times how far it
 * got, so the run moves while its tasks do, not only when one ends. A succeeded task counts whole;
 * a running, failed, cancelled or interrupted one counts its own progress (a failed run shows how
 * far it got, not a full bar); an optional task that did not succeed counts whole, because the
 * run goes on without it; a queued task (or one that never started) counts nothing.
 */
export function weightedProgress(parts: Iterable<ProgressPart>, totalWeight: number): number {
	if (totalWeight <= 0) return 100;
	let done = 0;
	for (const part of parts) {
		const share = Number.isFinite(part.progress) ? Math.min(100, Math.max(0, part.progress)) / 100 : 0;
		if (part.status === 'succeeded') done += part.weight;
		else if (part.status === 'queued') continue;
		else if (part.optional && part.status !== 'running') done += part.weight;
		else done += part.weight * share;
	}
	return Math.min(100, Math.round((done / totalWeight) * 1000) / 10);
}

/** finished weight, and progress as a percentage with one decimal (see {@link weightedProgress}) */
export function runProgress(state: RunState): { finished: number; progress: number } {
	let finished = 0;
	const parts: ProgressPart[] = [];
	for (const task of state.tasks.values()) {
		if (COUNTED_AS_FINISHED.has(task.status)) finished += task.def.weight;
		parts.push({
			status: task.status,
			// a task that never started (blocked, cancelled while queued) got nowhere
			progress: task.blocked ? 0 : task.record.progress,
			weight: task.def.weight,
			optional: task.def.optional
		});
	}
	return { finished, progress: weightedProgress(parts, state.run.total_weight) };
}

/**
 * The record change that ends a run. `planned` is the schedule's verdict; a run being cancelled
 * or interrupted says so, unless everything succeeded before the stop could matter.
 */
export function runEndPatch(state: RunState, planned: RunStatus, now = new Date()): RunPatch {
	const status = state.stopping && planned !== 'succeeded' ? state.stopping : planned;
	const { finished, progress: reached } = runProgress(state);
	// a run that succeeded is done, whatever its optional tasks reached
	const progress = status === 'succeeded' ? 100 : reached;
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
