/**
 * @module realtime/backoff
 * Reconnect delays: exponential backoff with full jitter (delay = random(0, min(cap, base·2^n))),
 * which spreads a crowd of clients over the whole window instead of letting them return together
 * after a server restart. Pure apart from the injected `random`.
 *
 * The cap is short on purpose: a client that has backed off to the cap comes back on average
 * half a cap after the server does, and a few thousand attempts a second are nothing to refuse.
 */

export const DEFAULT_BACKOFF_BASE_MS = 500;
export const DEFAULT_BACKOFF_CAP_MS = 5_000;

export interface BackoffOptions {
	/** the window of the first attempt */
	baseMs?: number;
	/** the largest window */
	capMs?: number;
	/** attempts before giving up; Infinity (the default) never gives up */
	maxAttempts?: number;
	/** returns a number in [0, 1); Math.random by default */
	random?: () => number;
}

/** The upper bound of the delay before attempt `attempt` (0-based). */
export function backoffWindow(
	attempt: number,
	baseMs = DEFAULT_BACKOFF_BASE_MS,
	capMs = DEFAULT_BACKOFF_CAP_MS
): number {
	// 2 ** attempt overflows to Infinity for huge attempts, which min() turns into the cap
	return Math.min(capMs, baseMs * 2 ** Math.max(0, attempt));
}

/** One full-jitter delay for attempt `attempt` (0-based), in whole milliseconds. */
export function fullJitterDelay(attempt: number, options: BackoffOptions = {}): number {
	const random = options.random ?? Math.random;
	const window = backoffWindow(attempt, options.baseMs, options.capMs);
	return Math.floor(random() * window);
}

/** Counts attempts and hands out their delays until the limit; `reset()` after a good connection. */
export class Backoff {
	readonly #options: Required<BackoffOptions>;
	#attempt = 0;

	constructor(options: BackoffOptions = {}) {
		this.#options = {
			baseMs: DEFAULT_BACKOFF_BASE_MS,
			capMs: DEFAULT_BACKOFF_CAP_MS,
			maxAttempts: Number.POSITIVE_INFINITY,
			random: Math.random,
			...options
		};
	}

	/** attempts handed out since the last reset */
	get attempt(): number {
		return this.#attempt;
	}

	get maxAttempts(): number {
		return this.#options.maxAttempts;
	}

	get exhausted(): boolean {
		return this.#attempt >= this.#options.maxAttempts;
	}

	/** The delay before the next attempt, or null once the attempt limit is reached. */
	next(): number | null {
		if (this.exhausted) return null;
		const delay = fullJitterDelay(this.#attempt, this.#options);
		this.#attempt++;
		return delay;
	}

	reset(): void {
		this.#attempt = 0;
	}
}
