/**
 * @module ingest/liveness
 * Keeps watch over running ingested tasks: when each was last heard from, and whether a cancel
 * was asked for. One sweeping timer (running only while something is watched) finds the tasks
 * whose producer went silent ("lost contact") and the cancels a producer never confirmed, and
 * hands them to the service to end. Producers that have nothing to report send a `heartbeat`
 * event; `aco exec` does so every second while its command runs.
 */

export interface LivenessOptions {
	/** silent this long: lost contact; 0 never */
	silenceMs: number;
	/** a cancel not confirmed within this long is carried out without the producer; 0 never */
	cancelTimeoutMs: number;
	/** called for each task found silent or with an unconfirmed cancel; the watch is dropped first */
	onExpired: (taskId: string, why: 'silent' | 'cancel') => void;
	now?: () => number;
}

interface Watch {
	heardAt: number;
	cancelAt: number | null;
}

/** how often the sweep runs at most (a short silence in tests is swept sooner) */
const MAX_SWEEP_MS = 5_000;
const MIN_SWEEP_MS = 50;

export class Liveness {
	#options: Required<LivenessOptions>;
	#watches = new Map<string, Watch>();
	#timer: NodeJS.Timeout | null = null;
	#closed = false;

	constructor(options: LivenessOptions) {
		this.#options = { now: Date.now, ...options };
	}

	/** the producer of a running task was heard from */
	heard(taskId: string): void {
		if (this.#closed) return;
		const watch = this.#watches.get(taskId);
		if (watch) watch.heardAt = this.#options.now();
		else this.#watches.set(taskId, { heardAt: this.#options.now(), cancelAt: null });
		this.#arm();
	}

	/** a cancel was asked for: the producer's next answer says so */
	requestCancel(taskId: string): void {
		if (this.#closed) return;
		const watch = this.#watches.get(taskId) ?? { heardAt: this.#options.now(), cancelAt: null };
		watch.cancelAt ??= this.#options.now();
		this.#watches.set(taskId, watch);
		this.#arm();
	}

	cancelRequested(taskId: string): boolean {
		return (this.#watches.get(taskId)?.cancelAt ?? null) !== null;
	}

	/** the task ended: nothing more to watch */
	forget(taskId: string): void {
		this.#watches.delete(taskId);
		if (this.#watches.size === 0) this.#disarm();
	}

	close(): void {
		this.#closed = true;
		this.#watches.clear();
		this.#disarm();
	}

	#arm(): void {
		if (this.#timer) return;
		const { silenceMs, cancelTimeoutMs } = this.#options;
		const shortest = Math.min(...[silenceMs, cancelTimeoutMs].filter((ms) => ms > 0), Infinity);
		if (!Number.isFinite(shortest)) return;
		const every = Math.max(MIN_SWEEP_MS, Math.min(MAX_SWEEP_MS, Math.floor(shortest / 4)));
		this.#timer = setInterval(() => this.#sweep(), every);
		this.#timer.unref();
	}

	#disarm(): void {
		if (this.#timer) clearInterval(this.#timer);
		this.#timer = null;
	}

	#sweep(): void {
		const { silenceMs, cancelTimeoutMs, onExpired, now } = this.#options;
		const at = now();
		for (const [taskId, watch] of [...this.#watches]) {
			let why: 'silent' | 'cancel' | null = null;
			if (watch.cancelAt !== null && cancelTimeoutMs > 0 && at - watch.cancelAt >= cancelTimeoutMs)
				why = 'cancel';
			else if (silenceMs > 0 && at - watch.heardAt >= silenceMs) why = 'silent';
			if (!why) continue;
			this.forget(taskId);
			onExpired(taskId, why);
		}
	}
}
