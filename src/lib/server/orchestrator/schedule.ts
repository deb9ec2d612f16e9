/**
 * @module orchestrator/schedule
 * Pure scheduling: from a run's task definitions and their current statuses, which tasks may
 * start now, which can never run because a need did not succeed, and whether the run is over.
 * No I/O and no clock, so every rule is tested directly.
 */
import type { RunStatus, TaskStatus } from '../../protocol';

export interface ScheduledTask {
	key: string;
	needs: readonly string[];
	optional: boolean;
}

export interface BlockedTask {
	key: string;
	/** e.g. "needs 'build', which failed" */
	reason: string;
}

export interface SchedulePlan {
	/** queued tasks whose needs are met, in definition order, at most `slots` of them */
	ready: string[];
	/** queued tasks that can never run; the caller marks them failed with `reason` */
	blocked: BlockedTask[];
	/** true when every task has ended (counting the blocked ones as failed) */
	finished: boolean;
	/** the run's status when `finished`, else null */
	status: RunStatus | null;
}

const NOT_SUCCEEDED: ReadonlySet<TaskStatus> = new Set(['failed', 'cancelled', 'interrupted']);

const PAST_TENSE: Record<string, string> = {
	failed: 'failed',
	cancelled: 'was cancelled',
	interrupted: 'was interrupted'
};

/**
 * Plans the next step of a run.
 * @param statuses the current status of every task by key (a missing one counts as queued)
 * @param slots how many more tasks may start now (the concurrency left)
 * @example
 * planSchedule(tasks, { setup: 'succeeded', build: 'queued' }, 2) // { ready: ['build'], … }
 */
export function planSchedule(
	tasks: readonly ScheduledTask[],
	statuses: Readonly<Record<string, TaskStatus>>,
	slots: number
): SchedulePlan {
	const byKey = new Map(tasks.map((task) => [task.key, task]));
	const status = new Map(tasks.map((task) => [task.key, statuses[task.key] ?? ('queued' as TaskStatus)]));
	const blocking = new Map<string, boolean>();

	/**
	 * A need blocks its dependants when it ended without success and is not optional, or when
	 * it is optional but was itself failed for want of its own needs: an optional task is
	 * forgiven its own failure, not the failure of the work it depends on.
	 */
	const isBlocking = (key: string): boolean => {
		const known = blocking.get(key);
		if (known !== undefined) return known;
		const task = byKey.get(key);
		const ended = NOT_SUCCEEDED.has(status.get(key)!);
		const result = !!task && ended && (!task.optional || task.needs.some(isBlocking));
		blocking.set(key, result);
		return result;
	};

	const blocked: BlockedTask[] = [];
	// definition order is not always dependency order, so repeat until nothing new is blocked
	for (let changed = true; changed;) {
		changed = false;
		for (const task of tasks) {
			if (status.get(task.key) !== 'queued') continue;
			const need = task.needs.find(isBlocking);
			if (need === undefined) continue;
			blocked.push({ key: task.key, reason: `needs '${need}', which ${PAST_TENSE[status.get(need)!]}` });
			status.set(task.key, 'failed');
			blocking.clear();
			changed = true;
		}
	}

	const isMet = (need: string): boolean => {
		const needStatus = status.get(need)!;
		if (needStatus === 'succeeded') return true;
		return NOT_SUCCEEDED.has(needStatus) && !isBlocking(need);
	};
	const ready: string[] = [];
	for (const task of tasks) {
		if (ready.length >= slots) break;
		if (status.get(task.key) === 'queued' && task.needs.every(isMet)) ready.push(task.key);
	}

	const finished = tasks.every(
		(task) => status.get(task.key) !== 'queued' && status.get(task.key) !== 'running'
	);
	return { ready, blocked, finished, status: finished ? runStatus(tasks, status) : null };
}

/** The run's outcome: the worst status among its non-optional tasks. */
function runStatus(tasks: readonly ScheduledTask[], status: ReadonlyMap<string, TaskStatus>): RunStatus {
	const outcomes = new Set(tasks.filter((task) => !task.optional).map((task) => status.get(task.key)));
	if (outcomes.has('interrupted')) return 'interrupted';
	if (outcomes.has('failed')) return 'failed';
	if (outcomes.has('cancelled')) return 'cancelled';
	return 'succeeded';
}
