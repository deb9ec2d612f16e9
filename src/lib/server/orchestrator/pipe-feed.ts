/**
 * @module orchestrator/pipe-feed
 * Hands a tool's pipe to its line splitter a slice at a time, each slice in an event-loop turn
 * of its own. Left flowing, libuv reads a flooding pipe many times per turn, and one read is up
 * to 64 KB (thousands of short lines), so a tool printing as fast as it can would starve every
 * other request; paused between slices, the tool waits on a full pipe instead, as it would on a
 * slow terminal. While the consumer is behind (`pressure`), the next slice waits for it: a tool
 * printing faster than its lines can be stored waits, instead of its output piling up in memory.
 *
 * Chunks are handed over in the order they were read, whole: Node resumes a child's pipes when it
 * exits, so another chunk may come while one is still being cut; it waits its turn.
 */

/** Bytes of a pipe's output handed over per event-loop turn: a few hundred short lines. */
export const PIPE_SLICE_BYTES = 16 * 1024;

export interface PipeFeedOptions {
	/** the consumer of the bytes (a line splitter) */
	write: (chunk: Buffer) => void;
	/** a promise while the consumer is behind: the next slice waits for it */
	pressure?: () => Promise<void> | null;
	sliceBytes?: number;
}

export class PipeFeed {
	#stream: NodeJS.ReadableStream;
	#write: (chunk: Buffer) => void;
	#pressure: () => Promise<void> | null;
	#sliceBytes: number;
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
		stream.on('data', (chunk: Buffer) => {
			stream.pause();
			if (this.#stopped) return;
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

	#feed(): void {
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
		if (this.#stopped) return;
		const pressure = this.#pressure();
		if (pressure) void pressure.then(this.#next, this.#next);
		else this.#next();
	}
}
