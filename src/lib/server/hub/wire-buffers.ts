/**
 * @module hub/wire-buffers
 * Reused memory for frames that go to one socket only (a replay's runs, built for that client
 * alone). A fresh buffer per run cost more than filling it: in the replay's profile, copying each
 * event into new memory took about 0.5 µs per event (page faults on memory the allocator had just
 * given back, and the garbage collections that external memory brings on) against about 0.13 µs
 * into memory used before. A buffer comes back once the socket reports its bytes handed to the
 * kernel (the write's callback), never earlier; one whose write never reports back is left to the
 * garbage collector. At most `keep` buffers wait between uses.
 */

/** Bytes of each buffer: a run stops within two write high-water marks (writer.ts), 64 KiB each by default. */
export const DEFAULT_WIRE_BUFFER_BYTES = 256 * 1024;
/** Buffers kept free between uses: 4 MiB at the default size. */
export const DEFAULT_WIRE_BUFFERS_KEPT = 16;

/** A buffer lent for one write; `release` once the socket is done with its bytes (again is harmless). */
export interface WireLease {
	readonly buffer: Buffer;
	release(): void;
}

export class WireBuffers {
	readonly bufferBytes: number;
	readonly keep: number;
	#free: Buffer[] = [];

	constructor(bufferBytes = DEFAULT_WIRE_BUFFER_BYTES, keep = DEFAULT_WIRE_BUFFERS_KEPT) {
		this.bufferBytes = bufferBytes;
		this.keep = keep;
	}

	/** buffers waiting to be lent */
	get free(): number {
		return this.#free.length;
	}

	/** A buffer of at least `size` bytes, or null when `size` is more than a buffer holds. */
	lease(size: number): WireLease | null {
		if (size > this.bufferBytes) return null;
		// the most recently returned first: its memory is the likeliest to be in the cache
		const buffer = this.#free.pop() ?? Buffer.allocUnsafeSlow(this.bufferBytes);
		let lent = true;
		return {
			buffer,
			release: () => {
				if (!lent) return;
				lent = false;
				if (this.#free.length < this.keep) this.#free.push(buffer);
			}
		};
	}
}
