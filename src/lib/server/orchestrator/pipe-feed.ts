/**
 * @module orchestrator/pipe-feed
 * Hands a tool's pipe to its line splitter a few slices at a time, for at most a few
 * milliseconds per event-loop turn. Left flowing, libuv reads a flooding pipe many times per
 * turn, and one read is up to 64 KB (thousands of short lines), so a tool printing as fast as it
 * can would starve every other request; paused between turns, the tool waits on a full pipe
 * instead, as it would on a slow terminal. While the consumer is behind (`pressure`), the next
 * slice waits for it: a tool printing faster than its lines can be stored waits, instead of its
 * output piling up in memory. The node's feeds share one budget per loop turn, and a read that
 * shows the tool printing flat out is reported: the node's writes to clients give way to it
 * meanwhile (`share`, loop-share.ts).
 *
 * Chunks are handed over in the order they were read, whole: Node resumes a child's pipes when it
 * exits, so another chunk may come while one is still being cut; it waits its turn.
 */

/** Bytes of a pipe's output handed over at once: a few hundred short lines. */
export const PIPE_SLICE_BYTES = 16 * 1024;

/**
 * Time one event-loop turn may spend handing slices over, as long as what was read lasts: as long
 * as the write turns' full slice (write-turns.ts). With one slice per turn, a read of 64 KB took
 * four turns, each of which also ran the hub's writes.
 */
export const FEED_TURN_MS = 4;

/** What a node's pipe feeds share (loop-share.ts). */
export interface FeedShare {
	/** a tool prints flat out: a read of a slice or more (a trickle, or a progress bar's redraws, is not) */
	toolFlooding(): void;
	/** when the feeds' time in this loop turn runs out (ms, on the feed's `now` clock) */
	feedDeadline(): number;
}

export interface PipeFeedOptions {
	/** the consumer of the bytes (a line splitter) */
	write: (chunk: Buffer) => void;
	/** a promise while the consumer is behind: the next slice waits for it */
	pressure?: () => Promise<void> | null;
	/** the node's feeds' budget and word of a flood; by default {@link FEED_TURN_MS} per turn of its own */
	share?: FeedShare;
	sliceBytes?: number;
	/** ms, monotonic (tests) */
	now?: () => number;
}

export class PipeFeed {
	#stream: NodeJS.ReadableStream;
	#write: (chunk: Buffer) => void;
	#pressure: () => Promise<void> | null;
	#sliceBytes: number;
	#share: FeedShare;
	#now: () => number;
	/** chunks read and not yet handed over, in order */
	#unfed: Buffer[] = [];
	#feeding = false;
	#stopped = false;
	#immediate: NodeJS.Immediate | null = null;
	#idle: (() => void)[] = [];
	#next = () => {
		if (!this.#stopped) this.#immediate = setImmediate(this.#turn);
	};
	#turn = () => {
		this.#immediate = null;
		if (this.#stopped) return;
		if (this.#unfed.length > 0) return this.#feed();
		this.#feeding = false;
		this.#stream.resume();
		for (const fn of this.#idle.splice(0)) fn();
	};

	constructor(stream: NodeJS.ReadableStream, options: PipeFeedOptions) {
		this.#stream = stream;
		this.#write = options.write;
		this.#pressure = options.pressure ?? (() => null);
		this.#sliceBytes = options.sliceBytes ?? PIPE_SLICE_BYTES;
		const now = (this.#now = options.now ?? (() => performance.now()));
		this.#share = options.share ?? { toolFlooding: () => {}, feedDeadline: () => now() + FEED_TURN_MS };
		stream.on('data', (chunk: Buffer) => {
			stream.pause();
			if (this.#stopped) return;
			if (chunk.length >= this.#sliceBytes) this.#share.toolFlooding();
			this.#unfed.push(chunk);
			if (this.#feeding) return;
			this.#feeding = true;
			this.#feed();
		});
	}

	/** whether a chunk read is still being handed over (or waits for the consumer) */
	get feeding(): boolean {
		return this.#feeding && !this.#stopped;
	}

	/** Calls `fn` once every chunk read so far has been handed over (now, if none waits). */
	whenFed(fn: () => void): void {
		if (!this.#feeding || this.#stopped) fn();
		else this.#idle.push(fn);
	}

	/** Stops handing anything over and drops what waits (the consumer is gone). Idempotent. */
	stop(): void {
		this.#stopped = true;
		this.#unfed.length = 0;
		if (this.#immediate) clearImmediate(this.#immediate);
		this.#immediate = null;
		for (const fn of this.#idle.splice(0)) fn();
	}

	/**
	 * Hands slices over until the turn's time is spent (at least one: a feed whose turn came is not
	 * passed over), nothing read waits or the consumer is behind.
	 */
	#feed(): void {
		const until = this.#share.feedDeadline();
		for (;;) {
			this.#feedSlice();
			if (this.#stopped) return;
			const pressure = this.#pressure();
			if (pressure) return void pressure.then(this.#next, this.#next);
			if (this.#unfed.length === 0 || this.#now() >= until) return this.#next();
		}
	}

	#feedSlice(): void {
		const chunk = this.#unfed[0]!;
		let slice = chunk;
		if (chunk.length > this.#sliceBytes) {
			slice = chunk.subarray(0, this.#sliceBytes);
			this.#unfed[0] = chunk.subarray(this.#sliceBytes);
		} else this.#unfed.shift();
		try {
			this.#write(slice);
		} catch {
			// a consumer that throws loses that slice, not the rest of the pipe nor the run's end
		}
	}
}
