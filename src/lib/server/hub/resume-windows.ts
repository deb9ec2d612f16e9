/**
 * @module hub/resume-windows
 * Ends the sessions' resume windows (see session.ts) on one timer. Every window lasts the same
 * `ms`, so windows end in the order they opened: a FIFO of sessions and their deadlines, and one
 * timer for the oldest, instead of a timer made (and nearly always cleared) per subscribing client.
 * Bounded: a session opens its window once, and leaves the queue by its deadline at the latest,
 * whether its window ended earlier (ending it again is a no-op) or it closed meanwhile.
 *
 * @example
 * const windows = new ResumeWindows(config.batchFlushMs);
 * windows.open(session); // session.endResumeWindow() runs `ms` later unless it ran before
 * windows.stop();
 */
import { Deque } from './outbox';

export interface WindowHolder {
	/** idempotent */
	endResumeWindow(): void;
}

export class ResumeWindows {
	readonly #ms: number;
	readonly #now: () => number;
	readonly #holders = new Deque<WindowHolder>();
	readonly #deadlines = new Deque<number>();
	#timer: NodeJS.Timeout | null = null;
	#fire = () => this.#endDue();

	/** `now` is monotonic (ms): a wall clock set back would hold the windows open */
	constructor(ms: number, now: () => number = () => performance.now()) {
		this.#ms = ms;
		this.#now = now;
	}

	/** windows waiting to end */
	get size(): number {
		return this.#holders.length;
	}

	/** `holder.endResumeWindow()` runs `ms` from now (unref'd: it keeps no process alive). */
	open(holder: WindowHolder): void {
		this.#holders.push(holder);
		this.#deadlines.push(this.#now() + this.#ms);
		if (!this.#timer) this.#arm(this.#ms);
	}

	/** Forgets every waiting window and the timer. Idempotent. */
	stop(): void {
		if (this.#timer) clearTimeout(this.#timer);
		this.#timer = null;
		this.#holders.clear();
		this.#deadlines.clear();
	}

	#arm(ms: number): void {
		this.#timer = setTimeout(this.#fire, Math.max(1, Math.ceil(ms)));
		this.#timer.unref();
	}

	#endDue(): void {
		this.#timer = null;
		const now = this.#now();
		try {
			for (let at = this.#deadlines.peek(); at !== undefined && at <= now; at = this.#deadlines.peek()) {
				this.#deadlines.shift();
				this.#holders.shift()!.endResumeWindow();
			}
		} finally {
			// the later windows still end, whatever one of them threw
			const next = this.#deadlines.peek();
			if (next !== undefined && !this.#timer) this.#arm(next - now);
		}
	}
}
