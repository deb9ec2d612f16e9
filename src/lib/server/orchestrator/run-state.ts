/**
 * @module orchestrator/run-state
 * The pure arithmetic of one run, from its tasks as stored: progress by weight, which queued
 * tasks may be claimed, which can never run, and how and why the run ended. `planRun` is the
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

/** statuses whose weight counts as done in the run's progress */
const COUNTED_AS_FINISHED: ReadonlySet<TaskStatus> = new Set(['succeeded', 'failed', 'cancelled']);

type RunTask = Pick<Task, 'key' | 'status' | 'weight' | 'optional' | 'started_at'>;

/** finished weight, and progress as a percentage with one decimal */
export function runProgress(
	tasks: readonly Pick<Task, 'status' | 'weight'>[],
	totalWeight: number
): { finished: number; progress: number } {
	let finished = 0;
	for (const task of tasks) {
		if (COUNTED_AS_FINISHED.has(task.status)) finished += task.weight;
	}
	return {
		finished,
		progress: totalWeight > 0 ? Math.round((finished / totalWeight) * 1000) / 10 : 100
	};
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
	const { finished, progress } = runProgress(tasks, run.total_weight);
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
	if (status === 'interrupted') return INTERRUPTED_REASON;
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
