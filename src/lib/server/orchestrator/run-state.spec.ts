import { describe, expect, it } from 'vitest';
import type { Task, TaskStatus, WorkflowRun } from '../../protocol';
import {
	createRunState,
	INTERRUPTED_REASON,
	runEndPatch,
	runProgress,
	weightedProgress,
	type RunState
} from './run-state';
import type { WorkflowDef } from './workflow-file';

const workflow: WorkflowDef = {
	name: 'w',
	description: null,
	file: '/w.yml',
	tasks: [
		{ key: 'setup', name: 'setup', needs: [], optional: false, weight: 1, steps: [] },
		{ key: 'build', name: 'build', needs: ['setup'], optional: false, weight: 3, steps: [] },
		{ key: 'lint', name: 'lint', needs: [], optional: true, weight: 1, steps: [] }
	]
};

const run = { id: 'run_1', total_weight: 5, started_at: '2026-01-01T00:00:00.000Z' } as WorkflowRun;

function state(
	statuses: Record<string, TaskStatus>,
	blocked: string[] = [],
	progress: Record<string, number> = {}
): RunState {
	const tasks = workflow.tasks.map(
		(def) =>
			({ id: `task_${def.key}`, key: def.key, status: 'queued', progress: progress[def.key] ?? 0 }) as Task
	);
	const result = createRunState(run, workflow, tasks);
	for (const [key, status] of Object.entries(statuses)) result.tasks.get(key)!.status = status;
	for (const key of blocked) result.tasks.get(key)!.blocked = true;
	return result;
}

describe('runProgress', () => {
	it('counts finished weight for succeeded, failed and cancelled tasks', () => {
		expect(runProgress(state({})).finished).toBe(0);
		expect(runProgress(state({ setup: 'succeeded', build: 'running' })).finished).toBe(1);
		expect(runProgress(state({ setup: 'succeeded', build: 'failed', lint: 'cancelled' })).finished).toBe(5);
		expect(runProgress(state({ setup: 'interrupted' })).finished).toBe(0);
	});

	it('moves with the progress of running tasks, each weighted', () => {
		expect(runProgress(state({})).progress).toBe(0);
		// set up at 67 %: 0.67 of weight 1 out of 5
		expect(runProgress(state({ setup: 'running' }, [], { setup: 67 })).progress).toBe(13.4);
		// set up done, build (weight 3) half way: (1 + 1.5) / 5
		expect(runProgress(state({ setup: 'succeeded', build: 'running' }, [], { build: 50 })).progress).toBe(50);
	});

	it('shows how far a failed run got rather than a full bar', () => {
		// build failed at 20 %: (1 + 0.6) / 5, plus the optional lint that failed counts whole
		const failed = state({ setup: 'succeeded', build: 'failed', lint: 'failed' }, [], { build: 20 });
		expect(runProgress(failed).progress).toBe(52);
		// a task that failed at once, before any progress: nothing
		expect(runProgress(state({ setup: 'failed', build: 'failed' }, ['build'])).progress).toBe(0);
		// a blocked task counts nothing even if its record says otherwise
		expect(runProgress(state({ setup: 'failed', build: 'failed' }, ['build'], { build: 90 })).progress).toBe(
			0
		);
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
			runEndPatch(state({ setup: 'succeeded', build: 'succeeded', lint: 'failed' }), 'succeeded', now)
		).toEqual({
			status: 'succeeded',
			progress: 100,
			finished_weight: 5,
			finished_at: now.toISOString(),
			duration_ms: 2500,
			error: null
		});
	});

	it('names the task that failed by itself rather than its dependants', () => {
		const patch = runEndPatch(
			state({ setup: 'failed', build: 'failed', lint: 'succeeded' }, ['build']),
			'failed',
			now
		);
		expect(patch.error).toBe("task 'setup' failed");
	});

	it('says cancelled or interrupted when the run was stopped, unless everything had succeeded', () => {
		const cancelled = state({ setup: 'cancelled', build: 'cancelled', lint: 'cancelled' });
		cancelled.stopping = 'cancelled';
		expect(runEndPatch(cancelled, 'cancelled', now)).toMatchObject({
			status: 'cancelled',
			error: 'cancelled'
		});
		const interrupted = state({ setup: 'succeeded', build: 'interrupted', lint: 'failed' });
		interrupted.stopping = 'interrupted';
		expect(runEndPatch(interrupted, 'interrupted', now)).toMatchObject({
			status: 'interrupted',
			error: INTERRUPTED_REASON
		});
		const late = state({ setup: 'succeeded', build: 'succeeded', lint: 'succeeded' });
		late.stopping = 'cancelled';
		expect(runEndPatch(late, 'succeeded', now).status).toBe('succeeded');
	});
});
