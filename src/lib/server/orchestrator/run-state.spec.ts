import { describe, expect, it } from 'vitest';
import type { Task, TaskStatus, WorkflowRun } from '../../protocol';
import { createRunState, INTERRUPTED_REASON, runEndPatch, runProgress, type RunState } from './run-state';
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

function state(statuses: Record<string, TaskStatus>, blocked: string[] = []): RunState {
	const tasks = workflow.tasks.map(
		(def) => ({ id: `task_${def.key}`, key: def.key, status: 'queued' }) as Task
	);
	const result = createRunState(run, workflow, tasks);
	for (const [key, status] of Object.entries(statuses)) result.tasks.get(key)!.status = status;
	for (const key of blocked) result.tasks.get(key)!.blocked = true;
	return result;
}

describe('runProgress', () => {
	it('counts the weight of succeeded, failed and cancelled tasks', () => {
		expect(runProgress(state({}))).toEqual({ finished: 0, progress: 0 });
		expect(runProgress(state({ setup: 'succeeded', build: 'running' }))).toEqual({
			finished: 1,
			progress: 20
		});
		expect(runProgress(state({ setup: 'succeeded', build: 'failed', lint: 'cancelled' }))).toEqual({
			finished: 5,
			progress: 100
		});
		expect(runProgress(state({ setup: 'interrupted' })).finished).toBe(0);
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
