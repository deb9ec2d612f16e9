/**
 * @module hub/rate-limit
 * A token bucket per client (rate per second, burst) plus a strike count: a message beyond the
 * bucket is refused ("throttled"), and a client refused more than `maxViolations` times within
 * one window is told to go ("close", 4003). A client that slows down recovers; one that keeps
 * flooding does not get to cost the server more than its bucket.
 */

export const RATE_LIMIT_WINDOW_MS = 10_000;

export interface RateLimitOptions {
	perSecond: number;
	burst: number;
	maxViolations: number;
	windowMs?: number;
}

export type RateDecision = 'ok' | 'throttled' | 'close';

export class RateLimiter {
	#options: Required<RateLimitOptions>;
	#tokens: number;
	#refilledAt: number;
	#windowStart = 0;
	#violations = 0;

	constructor(options: RateLimitOptions, now: number) {
		this.#options = { windowMs: RATE_LIMIT_WINDOW_MS, ...options };
		this.#tokens = options.burst;
		this.#refilledAt = now;
	}

	/** refusals in the current window */
	get violations(): number {
		return this.#violations;
	}

	/**
	 * Charges `tokens` more for a message taken already that costs more than most (a large
	 * subscription): the messages after it wait for the bucket to refill.
	 */
	spend(tokens: number): void {
		this.#tokens -= tokens;
	}

	/** Takes a token for one message; `first` is true for the window's first refusal (to report once). */
	take(now: number): { decision: RateDecision; first: boolean } {
		const { perSecond, burst, maxViolations, windowMs } = this.#options;
		this.#tokens = Math.min(burst, this.#tokens + ((now - this.#refilledAt) * perSecond) / 1000);
		this.#refilledAt = now;
		if (this.#tokens >= 1) {
			this.#tokens -= 1;
			return { decision: 'ok', first: false };
		}
		if (now - this.#windowStart >= windowMs) {
			this.#windowStart = now;
			this.#violations = 0;
		}
		this.#violations += 1;
		const first = this.#violations === 1;
		return { decision: this.#violations > maxViolations ? 'close' : 'throttled', first };
	}
}
