/**
 * @module orchestrator/fence
 * When a node that cannot renew its hold on a running task stops the task's tool ("fences" it),
 * so that the tool is down before another node can start the task again.
 *
 * A node cannot tell a partition (only it lost PostgreSQL: the others see its leases run out and
 * take its tasks over) from an outage every node sees (nobody takes anything over; see the
 * orchestrator's reaping, which waits a lease after one). So it fences only what a takeover would
 * start again: a task with a retry left. A task without one keeps running through any outage, as
 * the README promises: another node would only mark it interrupted, and nothing runs twice.
 *
 * The lease a renewal (or the claim) sets lasts from when PostgreSQL ran it, which is after this
 * node sent it: measured from the send (on the monotonic clock) it lasts at least `leaseMs`.
 */

/** the error the execution of a fenced task's step is left with (its tool stopped for this) */
export const FENCED_REASON =
	'this node could not reach the database to renew its hold on the task; its tool was stopped so that another node can start the task again';

/** kept between the fenced tool's last moment (past its kill grace) and the lease's end, for timer lag */
export const FENCE_MARGIN_MS = 1_000;

export interface FenceConfig {
	/** how long a hold lasts unless renewed (renewed every third of it) */
	leaseMs: number;
	/** how long a tool has between SIGTERM and SIGKILL */
	killGraceMs: number;
}

/** a task this node runs, as the rule sees it */
export interface FenceCandidate {
	/** when this node last sent a claim or renewal of the task that succeeded (performance.now()) */
	heldSince: number;
	/** the attempt this node holds */
	attempt: number;
	/** times the task may start again (a release queues it again while attempt <= retries) */
	retries: number;
	/** fenced already */
	fenced: boolean;
}

/**
 * How long after its last successful renewal was sent a task with a retry left is fenced.
 *
 * The tool must be gone (SIGTERM, then SIGKILL after the kill grace) before the lease can run out
 * elsewhere, with a margin for the timer's lag and the signal: `leaseMs - killGraceMs - 1 s`. But
 * never before two thirds of the lease: renewals go out every third of it, and one that fails is
 * tried again after `renewRetryMs` (not a third later), so a database that answers again within
 * about a third of a lease of the failed renewal (a blip, a failover's reconnect) renews the hold
 * before this deadline and stops no deploy. A renewal that hangs uses up at most half that room
 * (`renewTimeoutMs`); the deadline holds whatever a renewal still on its way would answer. Where the grace does not fit between
 * the two (a kill grace above a third of the lease less the margin), a tool that takes its whole
 * grace may outlive the lease; a longer ACO_LEASE_MS or a shorter ACO_KILL_GRACE_MS fits it (the
 * README says so).
 */
export function fenceAfterMs({ leaseMs, killGraceMs }: FenceConfig): number {
	return Math.max(Math.ceil((leaseMs * 2) / 3), leaseMs - killGraceMs - FENCE_MARGIN_MS);
}

/** whether a release of the task would queue it again (see TaskQueue.release) */
export function wouldStartAgain({ attempt, retries }: Pick<FenceCandidate, 'attempt' | 'retries'>): boolean {
	return attempt <= retries;
}

/**
 * When (performance.now()) `candidate` is to be fenced: `fenceAfterMs` after its last successful
 * renewal was sent; null when it never is (no retry left, or fenced already). The orchestrator
 * sets a timer for the earliest, so a fence comes at its deadline, not a check interval later.
 */
export function fenceDeadline(candidate: FenceCandidate, config: FenceConfig): number | null {
	if (candidate.fenced || !wouldStartAgain(candidate)) return null;
	return candidate.heldSince + fenceAfterMs(config);
}

/** whether `candidate` is to be fenced at `now` (performance.now()) */
export function mustFence(candidate: FenceCandidate, now: number, config: FenceConfig): boolean {
	const deadline = fenceDeadline(candidate, config);
	return deadline !== null && now >= deadline;
}

/**
 * How soon after a renewal that failed was sent it is tried again (at once, should its failure
 * have taken longer): a twelfth of a lease, 1 s at most (50 ms at least). Waiting the usual third
 * would send the next one at about the fence's deadline, and so would timing it from the failure
 * of a renewal that hung until its timeout.
 */
export function renewRetryMs({ leaseMs }: Pick<FenceConfig, 'leaseMs'>): number {
	return Math.max(50, Math.min(1_000, Math.floor(leaseMs / 12)));
}

/**
 * How long a renewal's answer is waited for (the store waits no longer than for any statement's):
 * a sixth of a lease. One sent a third of a lease after the last that succeeded and left without
 * an answer so fails half a lease after it, and the retry still has a sixth before the fence.
 * 250 ms at least: shorter leases are for tests, whose loaded machine may well take that long.
 */
export function renewTimeoutMs({ leaseMs }: Pick<FenceConfig, 'leaseMs'>): number {
	return Math.max(250, Math.floor(leaseMs / 6));
}
