/**
 * @module hub/history
 * The recent stream kept for `resume`: every numbered event with its encoded frame, bounded by
 * count, bytes and age (oldest evicted first). Seqs in history are contiguous, so finding where
 * a client left off is arithmetic, not a search. Recovery is all or nothing: `since()` returns
 * every event after a seq, or null when some of them are gone.
 */
import type { AnyDomainEvent } from '../../protocol/events';

export interface HistoryEntry {
	seq: number;
	event: AnyDomainEvent;
	/** the encoded envelope, shared by every recipient and every replay */
	frame: Buffer;
	/** when the hub took the event from the bus (performance.now() ms), for delivery latency */
	at: number;
	/** when it was stored (Date.now() ms), for the age bound */
	storedAt: number;
}

export interface HistoryOptions {
	maxEvents: number;
	maxBytes: number;
	maxAgeMs: number;
	now?: () => number;
}

export interface HistoryStats {
	events: number;
	bytes: number;
	oldest_seq: number | null;
	newest_seq: number | null;
	max_events: number;
	max_bytes: number;
	max_age_ms: number;
}

/** Per-entry bookkeeping beyond the frame bytes, so many tiny events still count against the byte cap. */
const ENTRY_OVERHEAD_BYTES = 64;

export class History {
	#options: HistoryOptions;
	#now: () => number;
	/** a deque: live entries are #entries[#head..] */
	#entries: HistoryEntry[] = [];
	#head = 0;
	#bytes = 0;
	/** the newest seq ever appended, even if evicted since */
	#newest = 0;

	constructor(options: HistoryOptions) {
		this.#options = options;
		this.#now = options.now ?? Date.now;
	}

	get size(): number {
		return this.#entries.length - this.#head;
	}

	get bytes(): number {
		return this.#bytes;
	}

	/** Appends the next event; `seq` must follow the previous one by exactly 1. */
	append(entry: Omit<HistoryEntry, 'storedAt'>): void {
		if (this.#newest !== 0 && entry.seq !== this.#newest + 1) {
			throw new RangeError(`history seq ${entry.seq} does not follow ${this.#newest}`);
		}
		this.#newest = entry.seq;
		if (this.#options.maxEvents === 0) return;
		this.#entries.push({ ...entry, storedAt: this.#now() });
		this.#bytes += entry.frame.length + ENTRY_OVERHEAD_BYTES;
		this.trim();
	}

	/** Evicts entries beyond the count and byte bounds and those older than the age bound. */
	trim(now = this.#now()): void {
		const { maxEvents, maxBytes, maxAgeMs } = this.#options;
		while (this.size > 0) {
			const oldest = this.#entries[this.#head]!;
			const over =
				this.size > maxEvents || this.#bytes > maxBytes || (maxAgeMs > 0 && now - oldest.storedAt > maxAgeMs);
			if (!over) break;
			this.#bytes -= oldest.frame.length + ENTRY_OVERHEAD_BYTES;
			this.#head += 1;
		}
		// compact now and then, so the array does not grow with everything ever evicted
		if (this.#head > 1024 && this.#head * 2 > this.#entries.length) {
			this.#entries = this.#entries.slice(this.#head);
			this.#head = 0;
		}
	}

	/**
	 * Every entry with a seq above `seq`, oldest first, or null when history no longer holds all
	 * of them (or `seq` is beyond the newest: the client speaks of a stream this is not).
	 */
	since(seq: number): HistoryEntry[] | null {
		this.trim();
		if (seq > this.#newest) return null;
		if (seq === this.#newest) return [];
		const oldest = this.size > 0 ? this.#entries[this.#head]!.seq : this.#newest + 1;
		if (seq + 1 < oldest) return null;
		return this.#entries.slice(this.#head + (seq + 1 - oldest));
	}

	stats(): HistoryStats {
		const { maxEvents, maxBytes, maxAgeMs } = this.#options;
		return {
			events: this.size,
			bytes: this.#bytes,
			oldest_seq: this.size ? this.#entries[this.#head]!.seq : null,
			newest_seq: this.size ? this.#newest : null,
			max_events: maxEvents,
			max_bytes: maxBytes,
			max_age_ms: maxAgeMs
		};
	}
}
