/**
 * @module orchestrator/run-state
 * The pure arithmetic of one run, from its tasks as stored: progress by weight and by how far
 * each task got, which queued tasks may be claimed, which can never run, and how and why the run
 * ended. `planRun` is the
 * planner the task queue applies under the run's lock (store/queue.ts), on whichever node.
 */
import type { RunStatus, Task, TaskStatus, WorkflowRun } from '../../protocol';
import type { RunPlan, RunPlanInput, StopReason } from '../store/queue';
import type { RunPatch } from '../store/types';
import { planSchedule } from './schedule';

/** what a task or run left running by a stopped server is marked with */
export const INTERRUPTED_REASON = 'the server stopped while this was running';
/** what a queued task of a cancelled run is marked with */
export const CANCELLED_BEFORE_START = 'cancelled before it started';

/** statuses whose weight counts as finished (`finished_weight`) */
const COUNTED_AS_FINISHED: ReadonlySet<TaskStatus> = new Set(['succeeded', 'failed', 'cancelled']);

type ProgressTask = Pick<Task, 'status' | 'weight' | 'optional' | 'progress' | 'started_at'>;
type RunTask = ProgressTask & Pick<Task, 'key' | 'error'>;

/** what the run's progress needs to know of one task */
export interface ProgressPart {
	status: TaskStatus;
	/** the task's own progress, 0–100 */
	progress: number;
	weight: number;
	optional: boolean;
	/** false for a task that never started (blocked, cancelled while queued) */
	started?: boolean;
}

/**
 * How far a run has got, 0–100 with one decimal: each task counts its weight times how far it
 * got, so the run moves while its tasks do, not only when one ends. A succeeded task counts whole;
 * a running, failed, cancelled or interrupted one counts its own progress (a failed run shows how
 * far it got, not a full bar); an optional task that did not succeed counts whole once it has
 * started, because the run goes on without it; a queued task, and one that never started (blocked
 * by a need, cancelled while queued), count nothing: a failed or cancelled run shows how far it got.
 */
export function weightedProgress(parts: Iterable<ProgressPart>, totalWeight: number): number {
	if (totalWeight <= 0) return 100;
	let done = 0;
	for (const part of parts) {
		const share = Number.isFinite(part.progress) ? Math.min(100, Math.max(0, part.progress)) / 100 : 0;
		if (part.status === 'succeeded') done += part.weight;
		else if (part.status === 'queued') continue;
		else if (part.optional && part.status !== 'running' && part.started !== false) done += part.weight;
		else done += part.weight * share;
	}
	return Math.min(100, Math.round((done / totalWeight) * 1000) / 10);
}

/**
 * Finished weight, and progress as a percentage with one decimal (see {@link weightedProgress}),
 * from the tasks as stored: a running task's row carries the progress its node last stored.
 */
export function runProgress(
	tasks: readonly ProgressTask[],
	totalWeight: number
): { finished: number; progress: number } {
	let finished = 0;
	const parts: ProgressPart[] = [];
	for (const task of tasks) {
		if (COUNTED_AS_FINISHED.has(task.status)) finished += task.weight;
		parts.push({
			status: task.status,
			// a task that never started (blocked, cancelled while queued) got nowhere
			progress: task.started_at === null ? 0 : task.progress,
			weight: task.weight,
			optional: task.optional,
			started: task.started_at !== null
		});
	}
	return { finished, progress: weightedProgress(parts, totalWeight) };
}

/**
 * The record change that ends a run. `planned` is the schedule's verdict; a run being cancelled
 * or interrupted says so, unless everything succeeded before the stop could matter.
 */
export function runEndPatch(
	run: Pick<WorkflowRun, 'started_at' | 'total_weight'>,
	tasks: readonly RunTask[],
	planned: RunStatus,
	stopping: StopReason | null,
	now = new Date()
): RunPatch {
	const status = stopping && planned !== 'succeeded' ? stopping : planned;
	const { finished, progress: reached } = runProgress(tasks, run.total_weight);
	// a run that succeeded is done, whatever its optional tasks reached
	const progress = status === 'succeeded' ? 100 : reached;
	return {
		status,
		progress,
		finished_weight: finished,
		finished_at: now.toISOString(),
		duration_ms: run.started_at ? now.getTime() - Date.parse(run.started_at) : null,
		error: runError(tasks, status)
	};
}

function runError(tasks: readonly RunTask[], status: RunStatus): string | null {
	if (status === 'succeeded') return null;
	if (status === 'cancelled') return 'cancelled';
	if (status === 'interrupted') {
		// a task a lost node left interrupted (on a cluster, where the server answering is fine) is
		// named with its reason, as a failure names its task; a stopped server's reason stands alone
		const lost = tasks.find(
			(task) => task.status === 'interrupted' && task.error && task.error !== INTERRUPTED_REASON
		);
		return lost ? `task '${lost.key}' was interrupted: ${lost.error}` : INTERRUPTED_REASON;
	}
	const unsuccessful = tasks.filter((task) => !task.optional && task.status !== 'succeeded');
	// name the task that failed by itself, not the dependants that failed with it (those never started)
	const cause =
		unsuccessful.find((task) => !(task.status === 'failed' && task.started_at === null)) ?? unsuccessful[0];
	if (!cause) return 'failed';
	return `task '${cause.key}' ${cause.status === 'failed' ? 'failed' : `was ${cause.status}`}`;
}

/**
 * Plans the next step of a run: queued tasks whose needs are met become ready; queued tasks that
 * can never run end (failed when a need failed, or the run's stop reason); progress follows; the
 * run ends once no task is queued or running.
 */
export function planRun(input: RunPlanInput, now = new Date()): RunPlan {
	const { run, stopping } = input;
	const tasks = input.tasks.map(({ task }) => ({ ...task }));
	const byKey = new Map(tasks.map((task) => [task.key, task]));
	const statuses = (): Record<string, TaskStatus> =>
		Object.fromEntries(tasks.map((task) => [task.key, task.status]));
	const plan: RunPlan = { ready: [], end: [], progress: null, finish: null };

	if (stopping) {
		for (const task of tasks) {
			if (task.status !== 'queued') continue;
			const error = stopping === 'interrupted' ? INTERRUPTED_REASON : CANCELLED_BEFORE_START;
			plan.end.push({ id: task.id, status: stopping, error });
			task.status = stopping;
		}
	} else {
		const schedule = planSchedule(tasks, statuses(), Number.MAX_SAFE_INTEGER);
		for (const { key, reason } of schedule.blocked) {
			const task = byKey.get(key)!;
			plan.end.push({ id: task.id, status: 'failed', error: reason });
			task.status = 'failed';
		}
		const ready = new Set(input.tasks.filter((t) => t.ready).map((t) => t.task.key));
		plan.ready = schedule.ready.filter((key) => !ready.has(key)).map((key) => byKey.get(key)!.id);
	}

	const { finished, progress } = runProgress(tasks, run.total_weight);
	if (finished !== run.finished_weight || progress !== run.progress) {
		plan.progress = { progress, finished_weight: finished };
	}
	const outcome = planSchedule(tasks, statuses(), 0);
	if (outcome.finished) plan.finish = runEndPatch(run, tasks, outcome.status!, stopping, now);
	return plan;
}

/**
 * Ends a run that cannot go on (its planning failed as it started): its queued tasks fail with
 * `reason`, and so does the run once none of its tasks runs.
 */
export function abortRunPlan(input: RunPlanInput, reason: string, now = new Date()): RunPlan {
	const tasks = input.tasks.map(({ task }) => ({ ...task }));
	const plan: RunPlan = { ready: [], end: [], progress: null, finish: null };
	for (const task of tasks) {
		if (task.status !== 'queued') continue;
		plan.end.push({ id: task.id, status: 'failed', error: reason });
		task.status = 'failed';
	}
	// a task some node claimed meanwhile (the failed plan was stored, its answer lost) ends first
	if (tasks.some((task) => task.status === 'running')) return plan;
	plan.finish = { ...runEndPatch(input.run, tasks, 'failed', null, now), error: reason };
	return plan;
}
