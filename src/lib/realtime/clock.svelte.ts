/**
 * @module realtime/clock
 * A ticking "now" for durations of things still running; one per page, started in onMount.
 */
export const DEFAULT_TICK_MS = 1_000;

export class Clock {
	#now = $state(Date.now());
	#timer: ReturnType<typeof setInterval> | null = null;

	get now(): number {
		return this.#now;
	}

	start(intervalMs = DEFAULT_TICK_MS): void {
		if (this.#timer) return;
		this.#now = Date.now();
		this.#timer = setInterval(() => (this.#now = Date.now()), intervalMs);
	}

	stop(): void {
		if (this.#timer) clearInterval(this.#timer);
		this.#timer = null;
	}
}
