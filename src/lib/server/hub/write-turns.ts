/**
 * @module hub/write-turns
 * Clients with more to write than one tick takes (a reader behind the stream, a replay, a socket
 * that drained) take turns here instead of each scheduling a callback of its own: one callback
 * per event-loop turn serves them round robin for at most a slice of time, then yields to I/O.
 * However many clients are catching up, a loop turn stays short, so a tool's pipe, the store and
 * the HTTP server get the loop between slices: the fan-out lags behind a fast tool instead of
 * holding it up, and the clients still get everything (a client not served this turn is next).
 */
import { Deque } from './outbox';

/** Time the clients catching up may take in one event-loop turn before I/O gets its turn. */
export const DEFAULT_WRITE_SLICE_MS = 4;

/** How the node shares its event loop with the hub's writes (loop-share.ts). */
export interface WriteShare {
	/** ms the writes may take in this loop turn */
	writeSliceMs(): number;
	/** a client reads from the older half of history: the writes must not give way now */
	readerFarBehind(): void;
}

export interface WriteTurnsOptions {
	/** a number, or asked at each slice (shorter while a tool's output comes in: loop-share.ts) */
	sliceMs?: number | (() => number);
	/** a turn threw: the others still get theirs */
	onError?: (err: unknown) => void;
	/** ms, monotonic (tests) */
	now?: () => number;
}

export class WriteTurns {
	#queue = new Deque<() => void>();
	#sliceMs: () => number;
	#onError: (err: unknown) => void;
	#now: () => number;
	#immediate: NodeJS.Immediate | null = null;
	#closed = false;
	#serve = () => this.#serveSlice();

	constructor(options: WriteTurnsOptions = {}) {
		const sliceMs = options.sliceMs ?? DEFAULT_WRITE_SLICE_MS;
		this.#sliceMs = typeof sliceMs === 'number' ? () => sliceMs : sliceMs;
		this.#onError = options.onError ?? (() => {});
		this.#now = options.now ?? (() => performance.now());
	}

	/** turns waiting */
	get waiting(): number {
		return this.#queue.length;
	}

	/**
	 * Queues `turn` to run after pending I/O, behind the turns already waiting. The caller queues
	 * each of its turns once (a writer's `scheduled` flag); after `close()` nothing is queued.
	 */
	enqueue(turn: () => void): void {
		if (this.#closed) return;
		this.#queue.push(turn);
		this.#immediate ??= setImmediate(this.#serve);
	}

	/** Drops what waits and stops serving (the hub is closing). Idempotent. */
	close(): void {
		this.#closed = true;
		this.#queue.clear();
		if (this.#immediate) clearImmediate(this.#immediate);
		this.#immediate = null;
	}

	#serveSlice(): void {
		this.#immediate = null;
		const until = this.#now() + this.#sliceMs();
		// the turns waiting when the slice began: one queued again meanwhile (it wrote its share and
		// has more) waits for the next loop turn, when its socket may have drained
		for (let n = this.#queue.length; n > 0 && !this.#closed; n--) {
			const turn = this.#queue.shift()!;
			try {
				turn();
			} catch (err) {
				this.#onError(err);
			}
			if (this.#now() >= until) break;
		}
		if (this.#queue.length > 0 && !this.#closed) this.#immediate ??= setImmediate(this.#serve);
	}
}
