/**
 * @module realtime/retry-schedule
 * When the connection tries again: the backoff's next delay, the timer that ends the wait, and
 * the reactive attempt count and countdown ("reconnecting in 4s") that components show.
 */
import { Backoff, type BackoffOptions } from './backoff';

/** How often the countdown refreshes while a retry waits. */
export const DEFAULT_COUNTDOWN_TICK_MS = 250;

export interface RetryScheduleOptions {
	backoff?: BackoffOptions;
	now?: () => number;
	countdownTickMs?: number;
}

/** How one retry deviates from the plain backoff delay. */
export interface ScheduleOptions {
	/** retry on the next turn of the event loop (the attempt still counts) */
	immediate?: boolean;
	/** wait at least this long; the backoff's jitter is added on top */
	minDelayMs?: number;
}

export class RetrySchedule {
	#attempt = $state(0);
	#nextRetryAt = $state<number | null>(null);
	#now = $state(0);

	readonly #backoff: Backoff;
	readonly #clock: () => number;
	readonly #tickMs: number;
	#retryTimer: ReturnType<typeof setTimeout> | null = null;
	#tickTimer: ReturnType<typeof setInterval> | null = null;

	constructor(options: RetryScheduleOptions = {}) {
		this.#backoff = new Backoff(options.backoff);
		this.#clock = options.now ?? (() => Date.now());
		this.#tickMs = options.countdownTickMs ?? DEFAULT_COUNTDOWN_TICK_MS;
	}

	/** attempts since the last good connection, as of the latest scheduled retry */
	get attempt(): number {
		return this.#attempt;
	}
	get maxAttempts(): number {
		return this.#backoff.maxAttempts;
	}
	/** whether the attempt limit is reached */
	get exhausted(): boolean {
		return this.#backoff.exhausted;
	}
	/** when the waiting retry starts (epoch ms), or null when none waits */
	get nextRetryAt(): number | null {
		return this.#nextRetryAt;
	}
	/** whole seconds until the waiting retry (rounded up), or null when none waits */
	get secondsUntilRetry(): number | null {
		if (this.#nextRetryAt === null) return null;
		return Math.max(0, Math.ceil((this.#nextRetryAt - this.#now) / 1000));
	}

	/**
	 * Waits the backoff's next delay (or what `options` make of it), then ends the countdown and
	 * calls `retry`. Returns false, scheduling nothing, once the attempt limit is reached.
	 */
	schedule(retry: () => void, options: ScheduleOptions = {}): boolean {
		this.cancel();
		const jitter = this.#backoff.next();
		if (jitter === null) return false;
		const delay = options.immediate ? 0 : (options.minDelayMs ?? 0) + jitter;
		this.#attempt = this.#backoff.attempt;
		this.#now = this.#clock();
		this.#nextRetryAt = this.#now + delay;
		this.#retryTimer = setTimeout(() => {
			this.cancel();
			retry();
		}, delay);
		this.#tickTimer = setInterval(() => (this.#now = this.#clock()), this.#tickMs);
		return true;
	}

	/** Stops the waiting retry and its countdown, if any. */
	cancel(): void {
		if (this.#retryTimer) clearTimeout(this.#retryTimer);
		if (this.#tickTimer) clearInterval(this.#tickTimer);
		this.#retryTimer = this.#tickTimer = null;
		this.#nextRetryAt = null;
	}

	/**
	 * Delays start over from the shortest (the network came back, or the user asked); the attempt
	 * count shown keeps its value until the next retry is scheduled.
	 */
	restartDelays(): void {
		this.#backoff.reset();
	}

	/** The connection stayed up: delays and the attempt count start over. */
	reset(): void {
		this.#backoff.reset();
		this.#attempt = 0;
	}
}
