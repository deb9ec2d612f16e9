/**
 * @module hub/history
 * The recent stream kept in memory: every numbered event with its encoded frame, bounded by
 * count, bytes and age (oldest evicted first). It serves replay on `resume` and clients reading
 * behind their live queue, a page at a time. Seqs in history are contiguous, so finding where a
 * reader left off is arithmetic, not a search. Recovery is all or nothing: `readAfter()` returns
 * null once the entry after a seq is gone.
 */
import type { HistoryEntry, HistoryPage, HistorySource, HistoryStats } from './stream';

export type { HistoryEntry, HistoryStats } from './stream';

export interface HistoryOptions {
	maxEvents: number;
	maxBytes: number;
	maxAgeMs: number;
	now?: () => number;
}

/** Per-entry bookkeeping beyond the frame bytes, so many tiny events still count against the byte cap. */
const ENTRY_OVERHEAD_BYTES = 64;
/** Evicted slots are cut off the array once there are this many and they are half of it. */
const COMPACT_AFTER = 1024;

export class History implements HistorySource {
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
	append(entry: HistoryEntry): void {
		if (this.#newest !== 0 && entry.seq !== this.#newest + 1) {
			throw new RangeError(`history seq ${entry.seq} does not follow ${this.#newest}`);
		}
		this.#newest = entry.seq;
		if (this.#options.maxEvents === 0) return;
		const now = this.#now();
		entry.storedAt = now;
		this.#entries.push(entry);
		this.#bytes += entry.frame.length + ENTRY_OVERHEAD_BYTES;
		this.trim(now);
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
			this.#entries[this.#head] = undefined as unknown as HistoryEntry;
			this.#head += 1;
		}
		// compact now and then, so the array does not grow with everything ever evicted
		if (this.#head > COMPACT_AFTER && this.#head * 2 > this.#entries.length) {
			this.#entries = this.#entries.slice(this.#head);
			this.#head = 0;
		}
	}

	firstSeq(): number {
		return this.size > 0 ? this.#entries[this.#head]!.seq : this.#newest + 1;
	}

	/**
	 * Up to `max` entries after `seq`, oldest first; `[]` for a reader that is up to date; null
	 * when history no longer holds the next one (or `seq` is beyond the newest: the reader
	 * speaks of a stream this is not).
	 */
	readAfter(seq: number, max: number): HistoryPage {
		this.trim();
		if (seq > this.#newest) return null;
		if (seq === this.#newest) return [];
		const first = this.firstSeq();
		if (seq + 1 < first) return null;
		const from = this.#head + (seq + 1 - first);
		return this.#entries.slice(from, Math.min(from + max, this.#entries.length));
	}

	restart(seq: number): void {
		this.#entries = [];
		this.#head = 0;
		this.#bytes = 0;
		this.#newest = seq;
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
