/**
 * @module loop-share
 * How a node's event loop is shared between taking a tool's output in and writing events out.
 * The tools a node runs share its core: every millisecond the hub spends writing to watchers is
 * one a tool printing flat out waits on its full pipe. So while a tool's output is coming in, the
 * hub's write turns take a short slice of each loop turn instead of their full one: the tool runs
 * at nearly the speed it has with nobody watching, and the watchers get its lines a little later,
 * in larger batches. Producers that send output over the network are not counted: they do not
 * share the core, and their lines are answered as soon as they are stored.
 *
 * ```ts
 * const share = new LoopShare();
 * runTool(spec, { onRead: () => share.toolInput(), … });
 * new WriteTurns({ sliceMs: () => share.writeSliceMs() });
 * ```
 */
import { DEFAULT_WRITE_SLICE_MS } from './hub/write-turns';

/**
 * The write turns' slice while a tool's output comes in, against the feed's 4 ms (pipe-feed.ts).
 * A 20,000-line tool watched by 1,000 clients took 1.43–1.55× its unwatched time with it, 2.02–2.19×
 * without (`npm run bench -- peers 0`, the two builds run alternately); its watchers had every
 * line as soon as before.
 */
export const INPUT_WRITE_SLICE_MS = 1;

/**
 * How long after a tool's last read its output still counts as coming in: a tool blocked on its
 * full pipe is read again within a few loop turns.
 */
export const INPUT_QUIET_MS = 20;

export class LoopShare {
	#lastInputAt = -Infinity;
	#now: () => number;

	/** `now`: ms, monotonic (tests) */
	constructor(now: () => number = () => performance.now()) {
		this.#now = now;
	}

	/** A tool's pipe was read. */
	toolInput(): void {
		this.#lastInputAt = this.#now();
	}

	/** The time the hub's writes may take in this loop turn. */
	writeSliceMs(): number {
		return this.#now() - this.#lastInputAt < INPUT_QUIET_MS ? INPUT_WRITE_SLICE_MS : DEFAULT_WRITE_SLICE_MS;
	}
}
