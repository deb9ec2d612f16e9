/**
 * @module store/queue
 * The work-sharing seam: tasks of workflow runs wait in the store until a node with a free slot
 * claims them, so every node sharing a database shares the work, and adding a node adds capacity.
 *
 * - A run's bookkeeping (which tasks may start, which can never run, progress, the run's end) is
 *   planned under the run's lock by whichever node touches the run, with a pure planner
 *   (orchestrator/run-state) applied in the same transaction.
 * - A node claims ready tasks (`FOR UPDATE SKIP LOCKED` on PostgreSQL), holding each with a lease
 *   it renews; the claim (node + attempt) guards every later write, so a node that lost a task
 *   cannot overwrite what another node does with it.
 * - Tasks whose lease ran out (their node died) are released: started again where the workflow
 *   allows retries, marked interrupted otherwise.
 * - Signals (PostgreSQL NOTIFY, in-process for SQLite) tell every node that work is ready or that
 *   a task is to be cancelled, so a cancel reaches the node running the tool within a second.
 *   A signal can be lost (the listening connection is reconnecting, or silently dead), so a stop
 *   is stored as well: the holder's next renew reports it.
 *
 * SQLite implements the same seam in process (one node; no leases), so both modes schedule alike.
 */
import type { Execution, Task, TaskStatus, WorkflowRun } from '../../protocol';
import type { NewRun, NewTask, RunPatch, TaskPatch } from './types';

export type StopReason = 'cancelled' | 'interrupted';

/** a task of a run, with what any node needs to run it */
export interface NewRunTask extends NewTask {
	/** the task's definition (steps), kept with the task so any node can run it */
	spec: unknown;
	/** times the task may start again after its node died or shut down */
	retries: number;
}

/** what the planner sees of a run */
export interface RunPlanInput {
	run: WorkflowRun;
	stopping: StopReason | null;
	/** in workflow order; `ready`: already claimable */
	tasks: { task: Task; ready: boolean }[];
}

/** what the planner decides; the store applies it in the same transaction */
export interface RunPlan {
	/** queued tasks that may be claimed now */
	ready: string[];
	/** queued tasks that will never run (blocked, cancelled, interrupted) and how they end */
	end: { id: string; status: TaskStatus; error: string }[];
	/** new progress, or null when it did not change */
	progress: RunPatch | null;
	/** the run's end, or null while tasks remain */
	finish: RunPatch | null;
}

/** pure and synchronous: SQLite applies it inside a synchronous transaction */
export type RunPlanner = (input: RunPlanInput) => RunPlan;

export interface RunPlanResult {
	/** tasks the plan ended, as stored */
	ended: Task[];
	/** the run after its progress changed (null: unchanged) */
	progressed: WorkflowRun | null;
	/** the run after it ended (null: still open) */
	finished: WorkflowRun | null;
}

/** who holds a task: a node, in one attempt */
export interface Claim {
	node: string;
	attempt: number;
}

/** a task a node runs, in the attempt its runner's claim holds */
export interface RenewedClaim {
	id: string;
	attempt: number;
}

/** a task a node holds, in which attempt, and whether it was asked to stop */
export interface HeldTask {
	id: string;
	attempt: number;
	/** a stop asked of the task (stopTask) or of its run (stopRun); null: keep running */
	stopping: StopReason | null;
}

export interface ClaimedTask {
	task: Task;
	spec: unknown;
	claim: Claim;
	/** times the task may start again; while `claim.attempt` is at most this, a release queues it again */
	retries: number;
}

export interface ReleasedTask {
	/** the task as stored after its release (queued again, or interrupted) */
	task: Task;
	/** its executions that were running, now interrupted */
	executions: Execution[];
	requeued: boolean;
	/** the node that held it */
	node: string | null;
}

export type QueueSignal = { kind: 'work' } | { kind: 'cancel'; task_id: string; reason: StopReason };

export interface NodeInfo {
	id: string;
	url: string | null;
	started_at: string;
	seen_at: string;
	figures: unknown;
}

export interface TaskQueue {
	/** whether several nodes share the store (leases, signals between processes) */
	readonly shared: boolean;
	/** creates a run (running) and its tasks (queued, not yet ready) in one transaction */
	createRun(run: NewRun, tasks: NewRunTask[]): Promise<{ run: WorkflowRun; tasks: Task[] }>;
	/** plans the run under its lock; null when the run is unknown or already over */
	planRun(runId: string, planner: RunPlanner): Promise<RunPlanResult | null>;
	/** asks a run to wind down; returns its running tasks (to stop), null when unknown or over */
	stopRun(runId: string, reason: StopReason): Promise<{ id: string; node: string | null }[] | null>;
	/**
	 * Asks the node holding a running task to stop it: stored (its holder's renew reports it, so
	 * a lost signal only delays the stop) and signalled. False when the task is not running.
	 */
	stopTask(taskId: string, reason: StopReason): Promise<boolean>;
	/** ends a queued task of a run as cancelled; null when it is not queued (any more) */
	cancelQueued(taskId: string, error: string): Promise<Task | null>;
	/** the status and holder of a task of a run; null for an unknown or stand-alone task */
	holder(taskId: string): Promise<{ status: Task['status']; node: string | null; run_id: string } | null>;
	/** claims up to `limit` ready tasks for `node`, leased for `leaseMs` (null: no lease) */
	claim(node: string, limit: number, leaseMs: number | null): Promise<ClaimedTask[]>;
	/**
	 * Renews the leases of `tasks` (each in the attempt its runner holds) that `node` still holds
	 * in that attempt; returns those, with any stop asked of each or its run. A task missing from
	 * the answer is no longer this runner's (released, taken over, or claimed again as a later
	 * attempt). Only the tasks named are renewed: one the node holds but runs nothing for (the
	 * claim committed but its answer was lost) is left to run out, and the expired-lease release
	 * starts it again or marks it interrupted. `timeoutMs`: how long its answer is waited for at
	 * most (never longer than any statement's), then it fails as the database not answering.
	 */
	renew(
		node: string,
		leaseMs: number,
		tasks: readonly RenewedClaim[],
		options?: { timeoutMs?: number }
	): Promise<HeldTask[]>;
	/** updates a task only while `claim` still holds it; null when the claim is gone */
	updateClaimed(taskId: string, claim: Claim, patch: TaskPatch): Promise<Task | null>;
	/**
	 * Releases running tasks: those of `node`, or those whose lease expired. Each is queued again
	 * when its attempts allow and it was not asked to stop, otherwise marked interrupted with
	 * `reason`; its running executions are marked interrupted. One transaction per call; locked
	 * rows are skipped.
	 */
	release(which: { node: string } | { expired: true }, reason: string): Promise<ReleasedTask[]>;
	/**
	 * Open runs older than `ageMs` with no task running or ready: their planning was lost (the
	 * node that started them died between storing and planning); planning them again moves them on.
	 */
	stalledRuns(ageMs: number): Promise<string[]>;
	/** tells every node (this one too) */
	signal(signal: QueueSignal): Promise<void>;
	/** listens to signals; returns the unsubscribe */
	onSignal(listener: (signal: QueueSignal) => void): () => void;
	/** records that `node` is alive (with its figures); returns the nodes seen within `aliveMs` */
	heartbeat(node: string, url: string | null, figures: unknown, aliveMs: number): Promise<NodeInfo[]>;
	/** removes a node that shuts down from the registry */
	leave(node: string): Promise<void>;
}
