/**
 * @module ingest/silent-tasks
 * Silent producers across the nodes of a cluster. Each node's {@link Liveness} knows only the
 * producers it heard itself: one whose requests moved to another node (a proxy, a reconnect)
 * would be failed there as "lost contact" while it still reports, and a task whose node died
 * together with its producer would be watched by no node and stay running for ever. So the
 * store keeps when any node last heard each running stand-alone task's producer (written at
 * most every {@link heardWriteMs}), and one timer per node asks it for the tasks silent longer
 * than allowed. Each is handed to the service, which ends it only when it can claim it
 * (`store.claimSilentTask`: nobody heard the producer since, and no other node took it first).
 * While the store was away nobody could write heard times: after a start or a failed sweep, a
 * node hands nothing on until the store has answered for a whole silence, so producers that
 * report again meanwhile are heard first (as nodes wait a lease before taking over leases).
 *
 * A sweep waits only for the store's list, never for an ending: each ending waits behind its
 * task's earlier requests, and one of those may never complete (a store call or a producer's
 * request body that hangs). The tasks of a sweep are handed on at once; one whose ending has
 * not settled is kept for a later sweep rather than handed on again.
 */
import type { Store } from '../store/types';

/** the most tasks one sweep hands on; the rest wait for the next */
const SWEEP_LIMIT = 100;
const MIN_SWEEP_MS = 50;
const MAX_SWEEP_MS = 60_000;
const MAX_HEARD_WRITE_MS = 30_000;

/** how long a heard time may wait before it is written again: a quarter of the silence allowed, 30 s at most */
export function heardWriteMs(silenceMs: number): number {
	return Math.min(MAX_HEARD_WRITE_MS, Math.floor(silenceMs / 4));
}

export interface SilentTasksOptions {
	store: Pick<Store, 'noteHeard' | 'listSilentTasks'>;
	/** silent this long: lost contact; 0 never (no writes, no sweep) */
	silenceMs: number;
	/** a task silent on every node: ends it if it can claim it (or leaves it for a later sweep) */
	onSilent: (taskId: string) => Promise<void>;
	/** a write or a sweep failed (the store is away): the next one tries again */
	onError: (err: unknown, what: string) => void;
	now?: () => number;
}

export class SilentTasks {
	#options: Required<SilentTasksOptions>;
	/** when this node last wrote each running task's heard time */
	#written = new Map<string, number>();
	#timer: NodeJS.Timeout | null = null;
	#sweeping = false;
	/** tasks handed on whose ending has not settled: not handed on again until it has */
	#ending = new Set<string>();
	/** when the store began answering the sweeps (since the start or the last failure) */
	#answeringSince: number | null = null;

	constructor(options: SilentTasksOptions) {
		this.#options = { now: Date.now, ...options };
		const { silenceMs } = options;
		if (silenceMs <= 0) return;
		const every = Math.max(MIN_SWEEP_MS, Math.min(MAX_SWEEP_MS, Math.floor(silenceMs / 4)));
		this.#timer = setInterval(() => void this.#sweep(), every);
		this.#timer.unref();
	}

	/** A producer of running task `taskId` was heard from: written when the last write is old enough. */
	async heard(taskId: string): Promise<void> {
		const { store, silenceMs, now, onError } = this.#options;
		if (silenceMs <= 0 || this.#timer === null) return;
		const at = now();
		const last = this.#written.get(taskId);
		if (last !== undefined && at - last < heardWriteMs(silenceMs)) return;
		this.#written.set(taskId, at);
		try {
			await store.noteHeard(taskId);
		} catch (err) {
			this.#written.delete(taskId);
			onError(err, 'noting when a producer was heard from failed');
		}
	}

	/** the task ended: nothing more to write for it */
	forget(taskId: string): void {
		this.#written.delete(taskId);
	}

	close(): void {
		if (this.#timer) clearInterval(this.#timer);
		this.#timer = null;
		this.#written.clear();
	}

	async #sweep(): Promise<void> {
		if (this.#sweeping) return;
		this.#sweeping = true;
		const { store, silenceMs, now, onError } = this.#options;
		// a write this old is due again anyway: dropped, so tasks that ended on other nodes leave nothing here
		const at = now();
		for (const [taskId, written] of this.#written) {
			if (at - written >= heardWriteMs(silenceMs)) this.#written.delete(taskId);
		}
		// a heard time in the store may be older than the producer's last word by up to a write's wait
		const allowed = silenceMs + heardWriteMs(silenceMs);
		try {
			// as many more as are still being ended (skipped below), so those cannot crowd out the rest
			const silent = await store.listSilentTasks(allowed, SWEEP_LIMIT + this.#ending.size);
			this.#answeringSince ??= at;
			if (at - this.#answeringSince < allowed || this.#timer === null) return;
			const due = silent.filter((taskId) => !this.#ending.has(taskId)).slice(0, SWEEP_LIMIT);
			for (const taskId of due) this.#handOn(taskId);
		} catch (err) {
			this.#answeringSince = null;
			onError(err, 'looking for tasks whose producer went silent failed');
		} finally {
			this.#sweeping = false;
		}
	}

	/** ends `taskId` without waiting for it: its ending may wait behind a request that hangs */
	#handOn(taskId: string): void {
		const { onSilent, onError } = this.#options;
		this.#ending.add(taskId);
		void (async () => {
			try {
				await onSilent(taskId);
			} catch (err) {
				onError(err, 'ending a task whose producer went silent failed');
			} finally {
				this.#ending.delete(taskId);
			}
		})();
	}
}
