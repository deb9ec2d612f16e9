/**
 * @module hub/flush-pacer
 * How soon the hub writes live events again after it last wrote: the fan-out rests as long as
 * it wrote (`restRatio` 1), at most `maxRestMs`. While writing is cheap (a few clients, or
 * events far apart) the rest is below a millisecond and events go out in the tick they were
 * published. Once a flush costs milliseconds (a thousand clients, each one system call), events
 * published during the rest wait for the next flush and go out together: one write per client
 * carries several of them instead of one each, so the write count stops growing with the event
 * rate, and the loop keeps at least half of its time for reading pipes, the store and HTTP.
 * Centrifugo's `write_delay` makes the same trade with a fixed delay; this one is zero until
 * writing is what the loop spends its time on.
 */

/** The longest an event waits for the fan-out to rest after a flush, ms. */
export const DEFAULT_MAX_REST_MS = 20;
/** Rests shorter than this are not waited for: the next flush goes in the tick (a timer's ms). */
const MIN_REST_MS = 1;

export interface FlushPacerOptions {
	/** ms of rest per ms of writing (default 1: writing takes at most about half the loop) */
	restRatio?: number;
	/** the longest rest, ms (default {@link DEFAULT_MAX_REST_MS}) */
	maxRestMs?: number;
	/** ms, monotonic (tests) */
	now?: () => number;
}

export class FlushPacer {
	#restRatio: number;
	#maxRestMs: number;
	#now: () => number;
	/** when the next flush may start */
	#restUntil = -Infinity;

	constructor(options: FlushPacerOptions = {}) {
		this.#restRatio = options.restRatio ?? 1;
		this.#maxRestMs = options.maxRestMs ?? DEFAULT_MAX_REST_MS;
		this.#now = options.now ?? (() => performance.now());
	}

	/** ms the next flush should wait (0: flush in this tick). */
	wait(): number {
		const rest = this.#restUntil - this.#now();
		return rest >= MIN_REST_MS ? rest : 0;
	}

	/** The fan-out just spent `ms` writing: it rests for as long (times the ratio). */
	wrote(ms: number): void {
		const now = this.#now();
		const rest = Math.max(this.#restUntil, now) + ms * this.#restRatio;
		this.#restUntil = Math.min(rest, now + this.#maxRestMs);
	}
}
