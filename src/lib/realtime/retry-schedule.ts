/**
 * @module realtime/retry-schedule
 * When the connection tries again: the backoff's next delay (or a short jittered one after a
 * restart), the one timer that ends the wait, and the figures an indicator shows (attempt,
 * when the next try starts). Plain TypeScript: the browser's reactive wrapper and the CLI read
 * the same figures; a countdown is the reader's clock against {@link RetrySchedule.nextRetryAt}.
 */
import { Backoff, type BackoffOptions } from './backoff';

export interface RetryScheduleOptions {
	backoff?: BackoffOptions;
	now?: () => number;
}

/** A delay drawn evenly from `[minMs, maxMs)`, in place of the backoff's. */
export interface DelayWindow {
	minMs: number;
	maxMs: number;
}

/** How one retry deviates from the plain backoff delay. */
export interface ScheduleOptions {
	/** retry on the next turn of the event loop (the attempt still counts) */
	immediate?: boolean;
	/** wait at least this long; the backoff's jitter is added on top */
	minDelayMs?: number;
	/** wait a delay from this window instead of the backoff's (the attempt still counts) */
	window?: DelayWindow;
}

export class RetrySchedule {
	readonly #backoff: Backoff;
	readonly #clock: () => number;
	readonly #random: () => number;
	#attempt = 0;
	#nextRetryAt: number | null = null;
	#retryTimer: ReturnType<typeof setTimeout> | null = null;

	constructor(options: RetryScheduleOptions = {}) {
		this.#backoff = new Backoff(options.backoff);
		this.#clock = options.now ?? (() => Date.now());
		this.#random = options.backoff?.random ?? Math.random;
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
		return secondsUntil(this.#nextRetryAt, this.#clock());
	}

	/**
	 * Waits the backoff's next delay (or what `options` make of it), then calls `retry`.
	 * Returns false, scheduling nothing, once the attempt limit is reached.
	 */
	schedule(retry: () => void, options: ScheduleOptions = {}): boolean {
		this.cancel();
		const jitter = this.#backoff.next();
		if (jitter === null) return false;
		let delay = (options.minDelayMs ?? 0) + jitter;
		if (options.window) {
			const { minMs, maxMs } = options.window;
			delay = Math.floor(minMs + this.#random() * Math.max(0, maxMs - minMs));
		}
		if (options.immediate) delay = 0;
		this.#attempt = this.#backoff.attempt;
		this.#nextRetryAt = this.#clock() + delay;
		this.#retryTimer = setTimeout(() => {
			this.cancel();
			retry();
		}, delay);
		return true;
	}

	/** Stops the waiting retry, if any. */
	cancel(): void {
		if (this.#retryTimer) clearTimeout(this.#retryTimer);
		this.#retryTimer = null;
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

/** Whole seconds from `now` until `at` (rounded up, never negative), or null without `at`. */
export function secondsUntil(at: number | null, now: number): number | null {
	if (at === null) return null;
	return Math.max(0, Math.ceil((at - now) / 1000));
}
