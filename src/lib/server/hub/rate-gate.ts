/**
 * @module hub/rate-gate
 * A slower rate for a client that asked for one (`subscribe {max_rate}`): at most `max_rate`
 * progress updates per second per task (`task.progress`) or run (`workflow.progress`), the
 * latest value winning ("coalesced"), for events that only rate-limited subscriptions want.
 *
 * Clients resume from the newest seq they have seen, so nothing may overtake an event on the
 * wire: a held progress update is released before any later event of the client goes out, and
 * held updates leave in seq order (a run of them leaves together when the oldest is due). Only
 * progress is ever held; status changes, output lines and failures pass at once. The gate holds
 * at most one update per task or run and at most `maxHeld` in all; past that it lets everything go.
 */
import { matchesRoute } from '../../protocol/filter';
import { MIN_SUBSCRIPTION_RATE } from '../../protocol/limits';
import type { EventFilter } from '../../protocol/messages';
import type { HistoryEntry } from './stream';

/** Most updates one client's gate holds at once before it releases them all. */
export const DEFAULT_RATE_GATE_MAX_HELD = 1_000;
/** The longest interval a rate allows: a task's last update older than this holds nothing back. */
const FORGET_AFTER_MS = 1000 / MIN_SUBSCRIPTION_RATE;

export interface RateGateOptions {
	/** hands an event on to the client's queue */
	deliver: (entry: HistoryEntry) => void;
	/** a held update was replaced by a newer one of the same task or run */
	onCoalesced?: () => void;
	maxHeld?: number;
	now?: () => number;
}

/** What the gate needs of a subscription. */
export interface RatedFilter {
	filter: EventFilter;
	/** updates per second per task or run; none: every event as it happens */
	maxRate?: number;
}

interface Held {
	entry: HistoryEntry;
	key: string;
	/** when it may go (ms, the gate's clock) */
	due: number;
}

/**
 * The least interval between two progress updates of one task or run that `subscriptions` allow
 * for `entry` (ms), or null when it must go at once: it is not progress, or a subscription
 * without a rate wants it. The fastest rate among the subscriptions that want it applies.
 */
export function rateInterval(subscriptions: Iterable<RatedFilter>, entry: HistoryEntry): number | null {
	if (entry.coalesceKey === null) return null;
	let fastest = 0;
	for (const { filter, maxRate } of subscriptions) {
		if (!matchesRoute(filter, entry.route)) continue;
		if (!maxRate) return null;
		fastest = Math.max(fastest, maxRate);
	}
	return fastest > 0 ? 1000 / fastest : null;
}

export class RateGate {
	readonly #options: RateGateOptions;
	readonly #now: () => number;
	readonly #maxHeld: number;
	/** held updates in seq order */
	#held: Held[] = [];
	readonly #heldByKey = new Map<string, Held>();
	/** when each task's or run's last update left, oldest first (re-inserted at each update) */
	readonly #lastSent = new Map<string, number>();
	#timer: NodeJS.Timeout | null = null;
	#timerDue = Number.POSITIVE_INFINITY;

	constructor(options: RateGateOptions) {
		this.#options = options;
		this.#now = options.now ?? (() => performance.now());
		this.#maxHeld = options.maxHeld ?? DEFAULT_RATE_GATE_MAX_HELD;
	}

	/** updates held back now */
	get held(): number {
		return this.#held.length;
	}

	/** tasks and runs whose last update is recent enough to hold a next one back */
	get remembered(): number {
		return this.#lastSent.size;
	}

	/**
	 * Passes `entry` on, at once or when its task's interval allows (`intervalMs`, from
	 * {@link rateInterval}; null: at once, after whatever is held).
	 */
	offer(entry: HistoryEntry, intervalMs: number | null): void {
		// progress of one task or run shares a key (the same key the writer coalesces by)
		const key = intervalMs === null ? null : entry.coalesceKey;
		if (key === null || intervalMs === null) {
			this.flush();
			this.#options.deliver(entry);
			return;
		}
		const now = this.#now();
		const previous = this.#heldByKey.get(key);
		if (previous) {
			// the newer value replaces the held one and takes its turn; the order stays the seq order
			this.#held.splice(this.#held.indexOf(previous), 1);
			this.#options.onCoalesced?.();
			this.#hold({ entry, key, due: previous.due });
			return;
		}
		const due = (this.#lastSent.get(key) ?? Number.NEGATIVE_INFINITY) + intervalMs;
		if (this.#held.length === 0 && due <= now) {
			this.#send(entry, key, now);
			return;
		}
		if (this.#held.length >= this.#maxHeld) this.flush();
		this.#hold({ entry, key, due: Math.max(due, now) });
	}

	/** Lets everything held go now, in order. */
	flush(): void {
		this.#cancelTimer();
		if (this.#held.length === 0) return;
		const now = this.#now();
		const held = this.#held;
		this.#held = [];
		this.#heldByKey.clear();
		for (const { entry, key } of held) this.#send(entry, key, now);
	}

	/** Forgets what is held and stops the timer (the client went). Idempotent. */
	clear(): void {
		this.#cancelTimer();
		this.#held = [];
		this.#heldByKey.clear();
		this.#lastSent.clear();
	}

	#hold(held: Held): void {
		this.#held.push(held);
		this.#heldByKey.set(held.key, held);
		this.#arm();
	}

	#send(entry: HistoryEntry, key: string, now: number): void {
		// in the order they left, so the stale ones are at the front
		this.#lastSent.delete(key);
		this.#lastSent.set(key, now);
		this.#forgetOld(now);
		this.#options.deliver(entry);
	}

	/** Releases the held updates from the oldest on while they are due, then waits for the next. */
	#release(): void {
		this.#timer = null;
		this.#timerDue = Number.POSITIVE_INFINITY;
		const now = this.#now();
		while (this.#held.length > 0 && this.#held[0]!.due <= now) {
			const { entry, key } = this.#held.shift()!;
			this.#heldByKey.delete(key);
			this.#send(entry, key, now);
		}
		this.#arm();
	}

	#arm(): void {
		const head = this.#held[0];
		if (!head || head.due >= this.#timerDue) return;
		this.#cancelTimer();
		this.#timerDue = head.due;
		this.#timer = setTimeout(() => this.#release(), Math.max(0, head.due - this.#now()));
		this.#timer.unref();
	}

	#cancelTimer(): void {
		if (this.#timer) clearTimeout(this.#timer);
		this.#timer = null;
		this.#timerDue = Number.POSITIVE_INFINITY;
	}

	/**
	 * Tasks quiet for longer than any interval need no memory of their last update: a dashboard
	 * left open for days on a gate that never had to hold anything would otherwise keep one entry
	 * for every task that ever reported progress. Each call looks only at what it removes, and one more.
	 */
	#forgetOld(now: number): void {
		for (const [key, at] of this.#lastSent) {
			if (now - at <= FORGET_AFTER_MS) return;
			this.#lastSent.delete(key);
		}
	}
}
