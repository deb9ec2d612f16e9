/**
 * @module hub/frame-cache
 * Whole WebSocket frames (header and payload, compressed or not) built once and written to every
 * client that needs the same bytes. A run of consecutive events is cut into `batch` frames on
 * seq boundaries (multiples of the batch size), so every client that gets those events gets the
 * same frames, whatever its position; clients that keep up flush the same run in the same tick
 * and share one buffer holding all its frames, written with one call. With compression on, each
 * frame is also compressed once (permessage-deflate without context takeover, so each message
 * stands alone). Frames hang on the entry that starts them; the newest are kept up to a byte
 * bound, older ones are rebuilt if a reader far behind needs them again.
 */
import { deflateMessage } from './deflate';
import { batchWireFrame, encodeBatch, wireFrame } from './frames';
import type { HistoryEntry } from './stream';

/** Bytes of frames kept for reuse. */
export const DEFAULT_FRAME_CACHE_BYTES = 8 * 1024 * 1024;

export interface FrameCompression {
	level: number;
	/** payloads smaller than this go uncompressed */
	thresholdBytes: number;
}

/** The frames that start at one entry: of it alone, of its batch, of a run of batches. */
interface Cached {
	entry: HistoryEntry;
	/** the plain slot a compressed one belongs to (itself for a plain one) */
	owner: Cached | null;
	evicted: boolean;
	single?: Buffer;
	batch?: Buffer;
	batchCount?: number;
	run?: Buffer;
	runCount?: number;
	/** the same, compressed */
	z?: Cached;
}

export class FrameCache {
	#maxBytes: number;
	#compression: FrameCompression | null;
	#cached = new WeakMap<HistoryEntry, Cached>();
	/** the cached entries, oldest first, for eviction */
	#order: Cached[] = [];
	#head = 0;
	#bytes = 0;

	constructor(compression: FrameCompression | null = null, maxBytes = DEFAULT_FRAME_CACHE_BYTES) {
		this.#compression = compression;
		this.#maxBytes = maxBytes;
	}

	/** bytes of frames held for reuse */
	get bytes(): number {
		return this.#bytes;
	}

	/**
	 * The frames of `entries` (ascending seqs) as one buffer: `batch` frames of at most
	 * `batchMax` events, cut on seq boundaries when the events are consecutive; compressed when
	 * `deflate`. Kept for reuse (a channel's run, written to every member).
	 */
	run(entries: readonly HistoryEntry[], batchMax: number, deflate: boolean): Buffer {
		if (!isConsecutive(entries)) return concat(this.parts(entries, batchMax, deflate));
		const slot = this.#slot(entries[0]!, deflate && this.#compression !== null);
		const n = entries.length;
		if (slot.runCount === n && slot.run) return slot.run;
		const parts = this.parts(entries, batchMax, deflate);
		if (parts.length === 1) return parts[0]!;
		const run = Buffer.concat(parts);
		const old = slot.run?.length ?? 0;
		slot.run = run;
		slot.runCount = n;
		this.#account(slot, run.length - old);
		return run;
	}

	/**
	 * The same frames as {@link run}, each its own buffer (the batch frames are shared with every
	 * client that gets those events), for a writer that writes them corked: no copy into one buffer.
	 */
	parts(entries: readonly HistoryEntry[], batchMax: number, deflate: boolean): Buffer[] {
		const n = entries.length;
		const z = deflate && this.#compression !== null;
		const parts: Buffer[] = [];
		if (!isConsecutive(entries)) {
			// a filtered client's own mix of events: nobody else gets these frames
			for (let i = 0; i < n;) {
				const end = cut(entries, i, batchMax, false);
				parts.push(this.#build(entries.slice(i, end), z));
				i = end;
			}
			return parts;
		}
		for (let i = 0; i < n;) {
			const end = cut(entries, i, batchMax, true);
			parts.push(this.#batch(entries, i, end, z));
			i = end;
		}
		return parts;
	}

	/** A control reply's frame (compressed when `deflate` and big enough). */
	control(payload: string | Buffer, deflate: boolean): Buffer {
		if (!deflate || !this.#compression) return wireFrame(payload);
		const bytes = typeof payload === 'string' ? Buffer.from(payload) : payload;
		return this.#compressed(bytes) ?? wireFrame(bytes);
	}

	/** The frame of entries[from, to): one event alone or a batch. */
	#batch(entries: readonly HistoryEntry[], from: number, to: number, z: boolean): Buffer {
		const slot = this.#slot(entries[from]!, z);
		const n = to - from;
		if (n === 1) {
			if (!slot.single) {
				slot.single = this.#build([entries[from]!], z);
				this.#account(slot, slot.single.length);
			}
			return slot.single;
		}
		if (slot.batchCount !== n || !slot.batch) {
			const old = slot.batch?.length ?? 0;
			slot.batch = this.#build(entries.slice(from, to), z);
			slot.batchCount = n;
			this.#account(slot, slot.batch.length - old);
		}
		return slot.batch;
	}

	#slot(entry: HistoryEntry, z: boolean): Cached {
		let cached = this.#cached.get(entry);
		if (!cached) {
			cached = { entry, owner: null, evicted: false };
			this.#cached.set(entry, cached);
			this.#order.push(cached);
		}
		if (!z) return cached;
		return (cached.z ??= { entry, owner: cached, evicted: false });
	}

	/** Counts `delta` more bytes held by `slot`, then evicts the oldest slots past the bound. */
	#account(slot: Cached, delta: number): void {
		if ((slot.owner ?? slot).evicted) return;
		this.#bytes += delta;
		while (this.#bytes > this.#maxBytes && this.#head < this.#order.length) {
			const oldest = this.#order[this.#head]!;
			this.#order[this.#head++] = undefined as unknown as Cached;
			oldest.evicted = true;
			this.#cached.delete(oldest.entry);
			this.#bytes -= sizeOf(oldest) + (oldest.z ? sizeOf(oldest.z) : 0);
		}
		if (this.#head > 1024 && this.#head * 2 > this.#order.length) {
			this.#order = this.#order.slice(this.#head);
			this.#head = 0;
		}
	}

	#build(entries: readonly HistoryEntry[], z: boolean): Buffer {
		if (z) {
			const payload = entries.length === 1 ? entries[0]!.frame : encodeBatch(entries);
			const compressed = this.#compressed(payload);
			if (compressed) return compressed;
		}
		return entries.length === 1 ? wireFrame(entries[0]!.frame) : batchWireFrame(entries);
	}

	/** The payload as a compressed frame, or null when it is under the threshold. */
	#compressed(payload: Buffer): Buffer | null {
		const c = this.#compression!;
		if (payload.length < c.thresholdBytes) return null;
		return wireFrame(deflateMessage(payload, c.level), true);
	}
}

function concat(parts: Buffer[]): Buffer {
	return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

function isConsecutive(entries: readonly HistoryEntry[]): boolean {
	return entries[entries.length - 1]!.seq - entries[0]!.seq === entries.length - 1;
}

/**
 * Where the frame that starts at entries[i] ends: after `batchMax` events, and for consecutive
 * events also at the next multiple of `batchMax` in seq, so everyone's frames line up.
 */
function cut(entries: readonly HistoryEntry[], i: number, batchMax: number, consecutive: boolean): number {
	const room = consecutive ? batchMax - ((entries[i]!.seq - 1) % batchMax) : batchMax;
	return Math.min(entries.length, i + room);
}

/** How many frames `run()` makes of `entries`, and how many of them are batches of several events. */
export function frameCounts(
	entries: readonly HistoryEntry[],
	batchMax: number
): { frames: number; batches: number } {
	const n = entries.length;
	const consecutive = entries[n - 1]!.seq - entries[0]!.seq === n - 1;
	let frames = 0;
	let batches = 0;
	for (let i = 0; i < n;) {
		const end = cut(entries, i, batchMax, consecutive);
		frames += 1;
		if (end - i > 1) batches += 1;
		i = end;
	}
	return { frames, batches };
}

/** Where each frame `run()` makes of `entries` ends (the index after its last entry). */
export function frameEnds(entries: readonly HistoryEntry[], batchMax: number): number[] {
	const n = entries.length;
	const consecutive = entries[n - 1]!.seq - entries[0]!.seq === n - 1;
	const ends: number[] = [];
	for (let i = 0; i < n; i = ends[ends.length - 1]!) ends.push(cut(entries, i, batchMax, consecutive));
	return ends;
}

function sizeOf(cached: Cached): number {
	return (cached.single?.length ?? 0) + (cached.batch?.length ?? 0) + (cached.run?.length ?? 0);
}
