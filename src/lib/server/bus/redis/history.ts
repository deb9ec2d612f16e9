/**
 * @module bus/redis/history
 * The shared stream read as replay history: pages of numbered events after a seq, for a client
 * resuming on any node. Recovery is all or nothing, as in Centrifugo: a page either continues
 * exactly where the client left off, in the client's epoch, or the answer is null (trimmed by
 * the count, age or byte bound, or another epoch began) and the client resets.
 *
 * Bounds are kept by the publish script (`MAXLEN ~`, so at least that many entries) and by
 * `trim()`, which any node may run now and then (age by `MINID`, bytes by Redis's own count).
 */
import { decodeEntry, parseEntry, type NumberedEvent } from './codec';
import type { ScriptedRedis, StreamKeys } from './scripts';

export const DEFAULT_PAGE_SIZE = 1_000;
/** entries read per page: `limit / this` (entries hold one to MAX_EVENTS_PER_ENTRY events) */
const ENTRIES_PER_PAGE_DIVISOR = 10;

export interface HistoryPageRequest {
	epoch: string;
	/** the last seq the client has (exclusive) */
	after: number;
	/** the newest seq to return (this node's position, so a replay never runs ahead of live) */
	upTo: number;
	limit?: number;
}

export interface HistoryPage {
	events: NumberedEvent[];
	/** the seq to ask after next; equals `upTo` when the page reached it */
	next: number;
	/** entries of the range that were not events (corrupt), skipped */
	skipped: number;
}

export interface SharedHistoryStats {
	entries: number;
	oldest_seq: number | null;
	newest_seq: number | null;
	bytes: number | null;
}

export class SharedHistory {
	#client: ScriptedRedis;
	#keys: StreamKeys;

	constructor(client: ScriptedRedis, keys: StreamKeys) {
		this.#client = client;
		this.#keys = keys;
	}

	/**
	 * Up to `limit` events after `after`, through `upTo`; null when history cannot continue from
	 * `after` in `epoch`. Rejects when Redis cannot be reached (the caller resets the client).
	 */
	async page({
		epoch,
		after,
		upTo,
		limit = DEFAULT_PAGE_SIZE
	}: HistoryPageRequest): Promise<HistoryPage | null> {
		if (after >= upTo) return { events: [], next: after, skipped: 0 };
		const stream = this.#keys.stream;
		// the entry holding after + 1 starts at or before it
		const [head] = (await this.#client.xrevrange(stream, `${after + 1}-0`, '-', 'COUNT', 1)) as [
			string,
			string[]
		][];
		if (!head) return null;
		const raw = (await this.#client.xrange(
			stream,
			head[0],
			`${upTo}-0`,
			'COUNT',
			Math.max(1, Math.ceil(limit / ENTRIES_PER_PAGE_DIVISOR))
		)) as [string, string[]][];
		const events: NumberedEvent[] = [];
		let next = after;
		let skipped = 0;
		for (const item of raw) {
			const entry = parseEntry(item);
			const end = entry.seq + entry.count - 1;
			// all or nothing: a page continues exactly from `after`, in the client's epoch
			if (entry.epoch !== epoch || entry.seq > next + 1 || end <= next) return null;
			const decoded = decodeEntry(entry, next + 1);
			const room = limit - events.length;
			const taken = decoded.events.filter((n) => n.seq <= upTo).slice(0, room);
			events.push(...taken);
			skipped += decoded.corrupt;
			const last = Math.min(end, upTo);
			next = taken.length < room ? last : taken.at(-1)!.seq;
			if (events.length >= limit || next >= upTo) break;
		}
		if (next === after) return null;
		return { events, next, skipped };
	}

	/** The oldest seq the stream still holds (null when it is empty). */
	async oldestSeq(): Promise<number | null> {
		const [first] = (await this.#client.xrange(this.#keys.stream, '-', '+', 'COUNT', 1)) as [
			string,
			string[]
		][];
		return first ? parseEntry(first).seq : null;
	}

	/** Applies the age and byte bounds now; returns how many entries went. */
	trim(maxAgeMs: number, maxBytes: number): Promise<number> {
		return this.#client.acoTrim(this.#keys.stream, maxAgeMs, maxBytes);
	}

	async stats(): Promise<SharedHistoryStats> {
		const [len, first, last, bytes] = (await this.#client
			.multi()
			.xlen(this.#keys.stream)
			.xrange(this.#keys.stream, '-', '+', 'COUNT', 1)
			.xrevrange(this.#keys.stream, '+', '-', 'COUNT', 1)
			.memory('USAGE', this.#keys.stream)
			.exec())!.map(([err, value]) => (err ? null : value)) as [
			number | null,
			[string, string[]][] | null,
			[string, string[]][] | null,
			number | null
		];
		return {
			entries: len ?? 0,
			oldest_seq: first?.[0] ? parseEntry(first[0]).seq : null,
			newest_seq: last?.[0] ? parseEntry(last[0]).seq : null,
			bytes: bytes ?? null
		};
	}
}
