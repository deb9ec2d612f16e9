/**
 * @module hub/resume-windows
 * Ends the sessions' resume windows (see session.ts) on one timer. Every window lasts the same
 * `ms`, so windows end in the order they opened: a FIFO of sessions and their deadlines, and one
 * timer that ticks every `ms / 10` while any window is open (re-armed with `refresh()`, never
 * made anew), instead of a timer made (and nearly always cleared) per subscribing client. A
 * window therefore ends between `ms` and `ms + ms / 10` after it opened, never before.
 * Bounded: a session opens its window once, and leaves the queue by its deadline plus a tick at
 * the latest, whether its window ended earlier (ending it again is a no-op) or it closed meanwhile.
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
	readonly #tickMs: number;
	readonly #now: () => number;
	readonly #holders = new Deque<WindowHolder>();
	readonly #deadlines = new Deque<number>();
	/** pending whenever a window waits (made once, then re-armed with `refresh()`) */
	#timer: NodeJS.Timeout | null = null;
	#fire = () => this.#endDue();

	/** `now` is monotonic (ms): a wall clock set back would hold the windows open */
	constructor(ms: number, now: () => number = () => performance.now()) {
		this.#ms = ms;
		this.#tickMs = Math.max(1, Math.ceil(ms / 10));
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
		// the first window waiting: the timer was idle
		if (this.#deadlines.length === 1) this.#arm();
	}

	/** Forgets every waiting window and the timer. Idempotent. */
	stop(): void {
		if (this.#timer) clearTimeout(this.#timer);
		this.#timer = null;
		this.#holders.clear();
		this.#deadlines.clear();
	}

	#arm(): void {
		if (this.#timer) {
			this.#timer.refresh();
			return;
		}
		this.#timer = setTimeout(this.#fire, this.#tickMs);
		this.#timer.unref();
	}

	#endDue(): void {
		const now = this.#now();
		try {
			for (let at = this.#deadlines.peek(); at !== undefined && at <= now; at = this.#deadlines.peek()) {
				this.#deadlines.shift();
				this.#holders.shift()!.endResumeWindow();
			}
		} finally {
			// the later windows still end, whatever one of them threw
			if (this.#deadlines.length > 0) this.#arm();
		}
	}
}
