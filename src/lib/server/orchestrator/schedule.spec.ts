import { describe, expect, it } from 'vitest';
import type { TaskStatus } from '../../protocol';
import { planSchedule, type ScheduledTask } from './schedule';

const task = (key: string, needs: string[] = [], optional = false): ScheduledTask => ({
	key,
	needs,
	optional
});

/** runs a workflow to its end, every started task ending as `outcome(key)`; returns the start waves */
function simulate(
	tasks: ScheduledTask[],
	outcome: (key: string) => TaskStatus,
	slots = Infinity
): { waves: string[][]; statuses: Record<string, TaskStatus>; status: string | null } {
	const statuses: Record<string, TaskStatus> = {};
	const waves: string[][] = [];
	for (let guard = 0; guard < 100; guard++) {
		const plan = planSchedule(tasks, statuses, slots);
		for (const { key } of plan.blocked) statuses[key] = 'failed';
		if (plan.finished) return { waves, statuses, status: plan.status };
		waves.push(plan.ready);
		for (const key of plan.ready) statuses[key] = outcome(key);
	}
	throw new Error('the schedule never finished');
}

describe('planSchedule', () => {
	it('starts tasks without needs first, then each as soon as its needs succeed', () => {
		const tasks = [
			task('package', ['build', 'test']),
			task('build', ['setup']),
			task('test', ['setup']),
			task('setup')
		];
		expect(simulate(tasks, () => 'succeeded').waves).toEqual([['setup'], ['build', 'test'], ['package']]);
	});

	it('runs the join of a diamond only after both sides succeed', () => {
		const tasks = [
			task('top'),
			task('left', ['top']),
			task('right', ['top']),
			task('bottom', ['left', 'right'])
		];
		const statuses: Record<string, TaskStatus> = { top: 'succeeded', left: 'succeeded', right: 'running' };
		expect(planSchedule(tasks, statuses, 4).ready).toEqual([]);
		expect(planSchedule(tasks, { ...statuses, right: 'succeeded' }, 4).ready).toEqual(['bottom']);
	});

	it('fails the dependants of a failed task, transitively, naming the need', () => {
		const tasks = [task('setup'), task('build', ['setup']), task('package', ['build']), task('docs')];
		const plan = planSchedule(tasks, { setup: 'failed', docs: 'running' }, 4);
		expect(plan.blocked).toEqual([
			{ key: 'build', reason: "needs 'setup', which failed" },
			{ key: 'package', reason: "needs 'build', which failed" }
		]);
		expect(plan.ready).toEqual([]);
		expect(plan.finished).toBe(false);
	});

	it('fails the dependants of a cancelled task', () => {
		const tasks = [task('a'), task('b', ['a'])];
		expect(planSchedule(tasks, { a: 'cancelled' }, 1).blocked).toEqual([
			{ key: 'b', reason: "needs 'a', which was cancelled" }
		]);
	});

	it('blocks dependants declared before the task that failed', () => {
		const tasks = [task('c', ['b']), task('b', ['a']), task('a')];
		expect(planSchedule(tasks, { a: 'failed' }, 1).blocked.map((b) => b.key)).toEqual(['b', 'c']);
	});

	it('blocks the whole of a long chain defined from its end, each task naming the one before', () => {
		const length = 5_000;
		const tasks = Array.from({ length }, (_, i) =>
			task(`t${length - 1 - i}`, i === length - 1 ? [] : [`t${length - 2 - i}`])
		);
		const plan = planSchedule(tasks, { t0: 'failed' }, 4);
		expect(plan.blocked).toHaveLength(length - 1);
		expect(plan.blocked[0]).toEqual({ key: 't1', reason: "needs 't0', which failed" });
		expect(plan.blocked.at(-1)).toEqual({
			key: `t${length - 1}`,
			reason: `needs 't${length - 2}', which failed`
		});
		expect(plan).toMatchObject({ ready: [], finished: true, status: 'failed' });
	});

	it('stops forgiving an optional task that ended once a need it waited for is blocked', () => {
		// 'lint' was cancelled before it ran, while 'build' still waited for 'setup'
		const tasks = [
			task('setup'),
			task('build', ['setup']),
			task('lint', ['build'], true),
			task('package', ['lint'])
		];
		const plan = planSchedule(tasks, { setup: 'failed', lint: 'cancelled' }, 4);
		expect(plan.blocked).toEqual([
			{ key: 'build', reason: "needs 'setup', which failed" },
			{ key: 'package', reason: "needs 'lint', which was cancelled" }
		]);
	});

	it('blocks the same tasks as checking every task again until nothing changes, on random workflows', () => {
		const statusesToPick: TaskStatus[] = [
			'queued',
			'queued',
			'queued',
			'succeeded',
			'failed',
			'cancelled',
			'running'
		];
		let seed = 7;
		const random = (n: number) => {
			seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
			return seed % n;
		};
		for (let round = 0; round < 300; round++) {
			const size = 2 + random(12);
			const keys = Array.from({ length: size }, (_, i) => `k${i}`);
			// needs only on tasks of a lower number (no cycles), defined in a shuffled order
			const tasks = keys.map((key, i) =>
				task(
					key,
					keys.slice(0, i).filter(() => random(3) === 0),
					random(3) === 0
				)
			);
			for (let i = tasks.length - 1; i > 0; i--) {
				const j = random(i + 1);
				[tasks[i], tasks[j]] = [tasks[j], tasks[i]];
			}
			const statuses = Object.fromEntries(
				keys.map((key) => [key, statusesToPick[random(statusesToPick.length)]])
			);
			const plan = planSchedule(tasks, statuses, 100);
			expect(new Set(plan.blocked.map((b) => b.key)), JSON.stringify({ tasks, statuses })).toEqual(
				blockedByRescanning(tasks, statuses)
			);
		}
	});

	it('ends a run with a failed non-optional task as failed once nothing runs', () => {
		const tasks = [task('setup'), task('build', ['setup']), task('lint')];
		const result = simulate(tasks, (key) => (key === 'setup' ? 'failed' : 'succeeded'));
		expect(result.statuses).toEqual({ setup: 'failed', build: 'failed', lint: 'succeeded' });
		expect(result.status).toBe('failed');
	});

	it('lets an optional task fail without failing its dependants or the run', () => {
		const tasks = [task('lint', [], true), task('package', ['lint'])];
		const result = simulate(tasks, (key) => (key === 'lint' ? 'failed' : 'succeeded'));
		expect(result.statuses).toEqual({ lint: 'failed', package: 'succeeded' });
		expect(result.status).toBe('succeeded');
	});

	it('does not forgive an optional task that failed because its own need failed', () => {
		const tasks = [task('build'), task('lint', ['build'], true), task('package', ['lint'])];
		const plan = planSchedule(tasks, { build: 'failed' }, 4);
		expect(plan.blocked.map((b) => b.key)).toEqual(['lint', 'package']);
		expect(plan.ready).toEqual([]);
	});

	it('never starts more tasks than there are slots, in definition order', () => {
		const tasks = [task('a'), task('b'), task('c'), task('d')];
		expect(planSchedule(tasks, {}, 2).ready).toEqual(['a', 'b']);
		expect(planSchedule(tasks, { a: 'running', b: 'running' }, 0).ready).toEqual([]);
		expect(simulate(tasks, () => 'succeeded', 3).waves).toEqual([['a', 'b', 'c'], ['d']]);
	});

	it('is not finished while a task runs or waits', () => {
		const tasks = [task('a'), task('b')];
		expect(planSchedule(tasks, { a: 'succeeded', b: 'running' }, 1)).toMatchObject({
			finished: false,
			status: null
		});
		expect(planSchedule(tasks, { a: 'succeeded' }, 0)).toMatchObject({ finished: false, ready: [] });
	});

	it('reports cancelled and interrupted runs', () => {
		const tasks = [task('a'), task('b')];
		expect(planSchedule(tasks, { a: 'succeeded', b: 'cancelled' }, 1).status).toBe('cancelled');
		expect(planSchedule(tasks, { a: 'failed', b: 'interrupted' }, 1).status).toBe('interrupted');
		expect(planSchedule(tasks, { a: 'succeeded', b: 'succeeded' }, 1).status).toBe('succeeded');
	});
});

/** the rule stated plainly: rescan every queued task until none is newly held back by a need that blocks */
function blockedByRescanning(tasks: ScheduledTask[], given: Record<string, TaskStatus>): Set<string> {
	const status = new Map(tasks.map((t) => [t.key, given[t.key] ?? 'queued']));
	const byKey = new Map(tasks.map((t) => [t.key, t]));
	const blocks = (key: string): boolean => {
		const t = byKey.get(key)!;
		const ended = ['failed', 'cancelled', 'interrupted'].includes(status.get(key)!);
		return ended && (!t.optional || t.needs.some(blocks));
	};
	const blocked = new Set<string>();
	for (let changed = true; changed;) {
		changed = false;
		for (const t of tasks) {
			if (status.get(t.key) !== 'queued' || !t.needs.some(blocks)) continue;
			status.set(t.key, 'failed');
			blocked.add(t.key);
			changed = true;
		}
	}
	return blocked;
}
