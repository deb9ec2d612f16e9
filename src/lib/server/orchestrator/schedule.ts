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

	// who needs each task, in definition order (built once something is blocked): a task that
	// starts to block passes it on to them
	let dependants: Map<string, ScheduledTask[]> | null = null;
	const dependantsOf = (key: string): readonly ScheduledTask[] => {
		if (!dependants) {
			dependants = new Map();
			for (const task of tasks) {
				for (const need of task.needs) {
					const list = dependants.get(need);
					if (list) list.push(task);
					else dependants.set(need, [task]);
				}
			}
		}
		return dependants.get(key) ?? [];
	};
	/**
	 * `key` blocks from now on: queued tasks that need it are checked in the next wave, and an
	 * optional task that ended without success and was forgiven so far no longer is (its own need
	 * now blocks). Values only ever go from not blocking to blocking, so the memo stays right.
	 */
	const startBlocking = (key: string, next: ScheduledTask[]): void => {
		const stack = [key];
		blocking.set(key, true);
		for (let at = stack.pop(); at !== undefined; at = stack.pop()) {
			for (const dependant of dependantsOf(at)) {
				if (status.get(dependant.key) === 'queued') next.push(dependant);
				else if (blocking.get(dependant.key) === false && NOT_SUCCEEDED.has(status.get(dependant.key)!)) {
					blocking.set(dependant.key, true);
					stack.push(dependant.key);
				}
			}
		}
	};

	// waves: the queued tasks a blocking need holds back, then the ones those hold back, and so
	// on; each task and each need is looked at a bounded number of times, whatever the order of
	// definition (a rescan of every task until nothing changed took seconds for a long chain
	// defined from its end)
	const blocked: BlockedTask[] = [];
	let wave = tasks.filter((task) => status.get(task.key) === 'queued' && task.needs.some(isBlocking));
	while (wave.length > 0) {
		const next: ScheduledTask[] = [];
		for (const task of wave) {
			if (status.get(task.key) !== 'queued') continue;
			const need = task.needs.find(isBlocking);
			if (need === undefined) continue;
			blocked.push({ key: task.key, reason: `needs '${need}', which ${PAST_TENSE[status.get(need)!]}` });
			status.set(task.key, 'failed');
			startBlocking(task.key, next);
		}
		wave = next;
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
