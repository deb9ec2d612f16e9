/**
 * @module hub/outbox
 * One client's live queue: the events it was handed while caught up (references to the shared
 * entries, seq ascending, at most `maxEvents`) and its control replies, each reply tagged with
 * the stream position it must follow (`afterSeq`: every event up to it goes first, none after it).
 * Every operation is O(1); nothing is marked dead and kept. A client whose live queue would
 * pass its bound stops using it and reads history instead (see writer.ts): the bound measures
 * how much a client holds, never what it is owed.
 */
import type { HistoryEntry } from './stream';

export interface ControlItem {
	frame: string | Buffer;
	/** the reply goes out once every event up to this seq is written or passed over */
	afterSeq: number;
	size: number;
}

/** Slots of a deque's first ring. */
const FIRST_RING = 16;
/** The ring of every deque that has held nothing yet: never written (a push grows it first). */
const NO_RING: never[] = [];

/**
 * A FIFO on a ring buffer that doubles when full; push, peek and shift are O(1). The ring is made
 * at the first push: most clients never queue anything, and a ring per queue per client was a
 * share of each handshake's garbage.
 */
export class Deque<T> {
	#ring: (T | undefined)[] = NO_RING;
	#mask = 0;
	#head = 0;
	#length = 0;

	get length(): number {
		return this.#length;
	}

	push(item: T): void {
		if (this.#length === this.#ring.length) this.#grow();
		this.#ring[(this.#head + this.#length) & this.#mask] = item;
		this.#length += 1;
	}

	peek(): T | undefined {
		return this.#length ? this.#ring[this.#head] : undefined;
	}

	shift(): T | undefined {
		if (this.#length === 0) return undefined;
		const item = this.#ring[this.#head];
		this.#ring[this.#head] = undefined;
		this.#head = (this.#head + 1) & this.#mask;
		this.#length -= 1;
		return item;
	}

	clear(): void {
		if (this.#ring.length > FIRST_RING) {
			this.#ring = NO_RING;
			this.#mask = 0;
		} else if (this.#length > 0) this.#ring.fill(undefined);
		this.#head = 0;
		this.#length = 0;
	}

	#grow(): void {
		const ring = new Array<T | undefined>(Math.max(FIRST_RING, this.#ring.length * 2));
		for (let i = 0; i < this.#length; i++) ring[i] = this.#ring[(this.#head + i) & this.#mask];
		this.#ring = ring;
		this.#mask = ring.length - 1;
		this.#head = 0;
	}
}

export class Outbox {
	#events = new Deque<HistoryEntry>();
	#controls = new Deque<ControlItem>();
	#eventBytes = 0;
	#controlBytes = 0;

	/** live events waiting */
	get events(): number {
		return this.#events.length;
	}

	/** control replies waiting */
	get controls(): number {
		return this.#controls.length;
	}

	/** items held, events and replies */
	get slots(): number {
		return this.#events.length + this.#controls.length;
	}

	/** bytes of the frames held */
	get bytes(): number {
		return this.#eventBytes + this.#controlBytes;
	}

	get controlBytes(): number {
		return this.#controlBytes;
	}

	pushEvent(entry: HistoryEntry): void {
		this.#events.push(entry);
		this.#eventBytes += entry.frame.length;
	}

	peekEvent(): HistoryEntry | undefined {
		return this.#events.peek();
	}

	shiftEvent(): HistoryEntry | undefined {
		const entry = this.#events.shift();
		if (entry) this.#eventBytes -= entry.frame.length;
		return entry;
	}

	/** Forgets the live events (the client reads them from history from now on). */
	clearEvents(): void {
		this.#events.clear();
		this.#eventBytes = 0;
	}

	pushControl(frame: string | Buffer, afterSeq: number): void {
		const size = typeof frame === 'string' ? Buffer.byteLength(frame) : frame.length;
		this.#controls.push({ frame, afterSeq, size });
		this.#controlBytes += size;
	}

	peekControl(): ControlItem | undefined {
		return this.#controls.peek();
	}

	shiftControl(): ControlItem | undefined {
		const item = this.#controls.shift();
		if (item) this.#controlBytes -= item.size;
		return item;
	}

	clear(): void {
		this.clearEvents();
		this.#controls.clear();
		this.#controlBytes = 0;
	}
}
