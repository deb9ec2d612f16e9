import { describe, expect, it } from 'vitest';
import type { Task, TaskStatus, WorkflowRun } from '../../protocol';
import type { StopReason } from '../store/queue';
import {
	abortRunPlan,
	CANCELLED_BEFORE_START,
	INTERRUPTED_REASON,
	planRun,
	runEndPatch,
	runProgress,
	weightedProgress
} from './run-state';

const DEFS = [
	{ key: 'setup', needs: [], optional: false, weight: 1 },
	{ key: 'build', needs: ['setup'], optional: false, weight: 3 },
	{ key: 'lint', needs: [], optional: true, weight: 1 }
];

const run = {
	id: 'run_1',
	total_weight: 5,
	progress: 0,
	finished_weight: 0,
	started_at: '2026-01-01T00:00:00.000Z'
} as WorkflowRun;

/**
 * The run's tasks; a task named in `started` has a start time (failed by itself, not blocked);
 * `progress` is each task's own progress as stored.
 */
function tasks(
	statuses: Record<string, TaskStatus>,
	started: string[] = Object.keys(statuses),
	progress: Record<string, number> = {}
): Task[] {
	return DEFS.map(
		(def) =>
			({
				...def,
				id: `task_${def.key}`,
				name: def.key,
				status: statuses[def.key] ?? 'queued',
				progress: progress[def.key] ?? 0,
				started_at: started.includes(def.key) ? '2026-01-01T00:00:01.000Z' : null
			}) as unknown as Task
	);
}

function plan(
	statuses: Record<string, TaskStatus>,
	options: { stopping?: StopReason; ready?: string[] } = {}
) {
	return planRun(
		{
			run,
			stopping: options.stopping ?? null,
			tasks: tasks(statuses).map((task) => ({ task, ready: options.ready?.includes(task.key) ?? false }))
		},
		new Date('2026-01-01T00:00:02.500Z')
	);
}

describe('runProgress', () => {
	it('counts finished weight for succeeded, failed and cancelled tasks', () => {
		expect(runProgress(tasks({}), 5).finished).toBe(0);
		expect(runProgress(tasks({ setup: 'succeeded', build: 'running' }), 5).finished).toBe(1);
		expect(runProgress(tasks({ setup: 'succeeded', build: 'failed', lint: 'cancelled' }), 5).finished).toBe(
			5
		);
		expect(runProgress(tasks({ setup: 'interrupted' }), 5).finished).toBe(0);
	});

	it('moves with the progress of running tasks, each weighted', () => {
		expect(runProgress(tasks({}), 5).progress).toBe(0);
		// set up at 67 %: 0.67 of weight 1 out of 5
		expect(runProgress(tasks({ setup: 'running' }, undefined, { setup: 67 }), 5).progress).toBe(13.4);
		// set up done, build (weight 3) half way: (1 + 1.5) / 5
		expect(
			runProgress(tasks({ setup: 'succeeded', build: 'running' }, undefined, { build: 50 }), 5).progress
		).toBe(50);
	});

	it('shows how far a failed run got rather than a full bar', () => {
		// build failed at 20 %: (1 + 0.6) / 5, plus the optional lint that failed counts whole
		const failed = tasks({ setup: 'succeeded', build: 'failed', lint: 'failed' }, undefined, { build: 20 });
		expect(runProgress(failed, 5).progress).toBe(52);
		// a task that failed at once, before any progress: nothing
		expect(runProgress(tasks({ setup: 'failed', build: 'failed' }, ['setup']), 5).progress).toBe(0);
		// a task that never started (blocked) counts nothing even if its record says otherwise
		const blocked = tasks({ setup: 'failed', build: 'failed' }, ['setup'], { build: 90 });
		expect(runProgress(blocked, 5).progress).toBe(0);
	});

	it('counts an optional task that never started as nothing, not whole: a failed or cancelled run shows how far it got', () => {
		// setup failed at 50 %; lint (optional) was blocked, or cancelled before it started
		for (const lint of ['failed', 'cancelled'] as const) {
			const ended = tasks({ setup: 'failed', build: 'failed', lint }, ['setup'], { setup: 50 });
			expect(runProgress(ended, 5).progress).toBe(10);
		}
	});
});

describe('weightedProgress', () => {
	it('is 100 for a run without weight and never above 100', () => {
		expect(weightedProgress([], 0)).toBe(100);
		expect(weightedProgress([{ status: 'running', progress: 250, weight: 2, optional: false }], 2)).toBe(100);
		expect(
			weightedProgress([{ status: 'running', progress: Number.NaN, weight: 2, optional: false }], 2)
		).toBe(0);
	});
});

describe('runEndPatch', () => {
	const now = new Date('2026-01-01T00:00:02.500Z');

	it('ends a successful run with its duration and no error', () => {
		expect(
			runEndPatch(
				run,
				tasks({ setup: 'succeeded', build: 'succeeded', lint: 'failed' }),
				'succeeded',
				null,
				now
			)
		).toEqual({
			status: 'succeeded',
			progress: 100,
			finished_weight: 5,
			finished_at: now.toISOString(),
			duration_ms: 2500,
			error: null
		});
	});

	it('names the task that failed by itself rather than its dependants, which never started', () => {
		const patch = runEndPatch(
			run,
			tasks({ setup: 'failed', build: 'failed', lint: 'succeeded' }, ['setup', 'lint']),
			'failed',
			null,
			now
		);
		expect(patch.error).toBe("task 'setup' failed");
	});

	it('says cancelled or interrupted when the run was stopped, unless everything had succeeded', () => {
		const cancelled = tasks({ setup: 'cancelled', build: 'cancelled', lint: 'cancelled' });
		expect(runEndPatch(run, cancelled, 'cancelled', 'cancelled', now)).toMatchObject({
			status: 'cancelled',
			error: 'cancelled'
		});
		const interrupted = tasks({ setup: 'succeeded', build: 'interrupted', lint: 'failed' });
		expect(runEndPatch(run, interrupted, 'interrupted', 'interrupted', now)).toMatchObject({
			status: 'interrupted',
			error: INTERRUPTED_REASON
		});
		// on a cluster, a node that died holding a task: the run names it and why, not a server stop
		const lost = interrupted.map((task) =>
			task.key === 'build'
				? { ...task, error: 'the node running this task stopped renewing its hold on it' }
				: task
		);
		expect(runEndPatch(run, lost, 'interrupted', null, now)).toMatchObject({
			status: 'interrupted',
			error: "task 'build' was interrupted: the node running this task stopped renewing its hold on it"
		});
		const late = tasks({ setup: 'succeeded', build: 'succeeded', lint: 'succeeded' });
		expect(runEndPatch(run, late, 'succeeded', 'cancelled', now).status).toBe('succeeded');
	});
});

describe('planRun', () => {
	it('readies every task whose needs are met, once, and leaves progress alone when nothing ended', () => {
		expect(plan({})).toEqual({ ready: ['task_setup', 'task_lint'], end: [], progress: null, finish: null });
		expect(plan({}, { ready: ['setup'] }).ready).toEqual(['task_lint']);
		expect(plan({ setup: 'succeeded', lint: 'running' }).ready).toEqual(['task_build']);
	});

	it("moves the run's progress when a running task's stored progress moved, and only then", () => {
		const running = (progress: number) =>
			planRun({
				run,
				stopping: null,
				tasks: tasks({ setup: 'running', lint: 'running' }, undefined, { setup: progress }).map((task) => ({
					task,
					ready: true
				}))
			});
		// setup at 50 % of weight 1 out of 5
		expect(running(50).progress).toEqual({ progress: 10, finished_weight: 0 });
		expect(running(0).progress).toBeNull();
		expect(running(50).finish).toBeNull();
	});

	it('fails what needs a failed task, moves progress and ends the run naming the cause', () => {
		const result = plan({ setup: 'failed', lint: 'succeeded' });
		expect(result.end).toEqual([
			{ id: 'task_build', status: 'failed', error: "needs 'setup', which failed" }
		]);
		// every weight is finished, but the run got only as far as lint (1 of 5): not a full bar
		expect(result.progress).toEqual({ progress: 20, finished_weight: 5 });
		expect(result.finish).toMatchObject({
			status: 'failed',
			error: "task 'setup' failed",
			duration_ms: 2500
		});
	});

	it('ends the queued tasks of a stopping run with its reason and ends the run once nothing runs', () => {
		const cancelling = plan({ setup: 'running' }, { stopping: 'cancelled' });
		expect(cancelling.ready).toEqual([]);
		expect(cancelling.end).toEqual([
			{ id: 'task_build', status: 'cancelled', error: CANCELLED_BEFORE_START },
			{ id: 'task_lint', status: 'cancelled', error: CANCELLED_BEFORE_START }
		]);
		expect(cancelling.finish).toBeNull();
		const interrupted = plan({ setup: 'interrupted' }, { stopping: 'interrupted' });
		expect(interrupted.end.map((end) => [end.status, end.error])).toEqual([
			['interrupted', INTERRUPTED_REASON],
			['interrupted', INTERRUPTED_REASON]
		]);
		expect(interrupted.finish).toMatchObject({ status: 'interrupted', error: INTERRUPTED_REASON });
	});

	it('interrupts the run when a task whose node died cannot start again', () => {
		const result = plan({ setup: 'interrupted', lint: 'succeeded' });
		expect(result.end).toEqual([
			{ id: 'task_build', status: 'failed', error: "needs 'setup', which was interrupted" }
		]);
		expect(result.finish).toMatchObject({ status: 'interrupted' });
	});
});

describe('abortRunPlan', () => {
	const reason = 'planning the run failed as it started: database or disk is full';
	const abort = (statuses: Record<string, TaskStatus>) =>
		abortRunPlan(
			{ run, stopping: null, tasks: tasks(statuses, []).map((task) => ({ task, ready: false })) },
			reason,
			new Date('2026-01-01T00:00:02.500Z')
		);

	it('fails every queued task and the run with the reason, readying nothing', () => {
		const plan = abort({});
		expect(plan.ready).toEqual([]);
		expect(plan.end).toEqual(DEFS.map((def) => ({ id: `task_${def.key}`, status: 'failed', error: reason })));
		expect(plan.finish).toMatchObject({ status: 'failed', error: reason, duration_ms: 2_500 });
	});

	it('leaves the run open while a task some node claimed still runs', () => {
		const plan = abort({ setup: 'running' });
		expect(plan.end.map((end) => end.id)).toEqual(['task_build', 'task_lint']);
		expect(plan.finish).toBeNull();
	});
});
