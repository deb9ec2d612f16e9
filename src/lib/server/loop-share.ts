/**
 * @module loop-share
 * How a node's event loop is shared between taking a tool's output in and writing events out.
 * The tools a node runs share its core: every millisecond the hub spends writing to watchers is
 * one a tool printing flat out waits on its full pipe. So while a tool floods, the hub's writes
 * take a short slice of each loop turn instead of their full one: the tool runs at nearly the
 * speed it has with nobody watching, and the watchers get its lines a little later, in larger
 * batches. Not while a client reads from the older half of history, though: falling further
 * behind would cost it output (writer.ts sheds in the oldest quarter). Producers that send
 * output over the network are not counted: they do not share the core.
 *
 * The pipe feeds of the node's tools share one budget per loop turn, so however many tools flood
 * at once, a turn hands their output over for about {@link FEED_TURN_MS}: twice that at most
 * (the budget is renewed in the loop's check phase, so a read in the poll phase before it has
 * one of its own), and each feed takes at least one slice when its turn comes. The feeds take
 * their turns in the order they queued, so the one that takes the budget is last next time.
 *
 * ```ts
 * const share = new LoopShare();
 * createOrchestrator({ …, feedShare: share }); // the pipe feeds (pipe-feed.ts)
 * createHub({ …, writeShare: share }); // write turns, channels, writers
 * share.close(); // at shutdown
 * ```
 */
import { DEFAULT_WRITE_SLICE_MS, type WriteShare } from './hub/write-turns';
import { FEED_TURN_MS, type FeedShare } from './orchestrator/pipe-feed';

/**
 * The writes' slice while a tool floods, against the feeds' 4 ms. A 20,000-line tool watched by
 * 1,000 clients took 1.05–1.55× its unwatched time with it (five runs), 2.02–2.79× without (four;
 * `npm run bench -- peers 0`, the two builds run alternately); its watchers had every line as
 * soon as before.
 */
export const FLOOD_WRITE_SLICE_MS = 1;

/**
 * How long after a tool's last flooding read, or a client's last read far behind, each still
 * counts: a tool blocked on its full pipe is read again within a few loop turns.
 */
export const SHARE_HOLD_MS = 20;

export class LoopShare implements FeedShare, WriteShare {
	#floodAt = -Infinity;
	#farBehindAt = -Infinity;
	#feedUntil: number | null = null;
	/** the next loop turn's budget: ends this one's */
	#renew: NodeJS.Immediate | null = null;
	#closed = false;
	#now: () => number;

	/** `now`: ms, monotonic (tests) */
	constructor(now: () => number = () => performance.now()) {
		this.#now = now;
	}

	toolFlooding(): void {
		this.#floodAt = this.#now();
	}

	readerFarBehind(): void {
		this.#farBehindAt = this.#now();
	}

	writeSliceMs(): number {
		const now = this.#now();
		const flooding = now - this.#floodAt < SHARE_HOLD_MS;
		const farBehind = now - this.#farBehindAt < SHARE_HOLD_MS;
		return flooding && !farBehind ? FLOOD_WRITE_SLICE_MS : DEFAULT_WRITE_SLICE_MS;
	}

	feedDeadline(): number {
		if (this.#closed) return this.#now() + FEED_TURN_MS;
		if (this.#feedUntil === null) {
			this.#feedUntil = this.#now() + FEED_TURN_MS;
			this.#renew = setImmediate(() => {
				this.#renew = null;
				this.#feedUntil = null;
			});
		}
		return this.#feedUntil;
	}

	/** Drops the pending renewal (the node is closing). Idempotent. */
	close(): void {
		this.#closed = true;
		if (this.#renew) clearImmediate(this.#renew);
		this.#renew = null;
	}
}
