/**
 * @module hub/outbox
 * One client's bounded outbound queue. It holds events (with their priority) and control
 * replies in the order they are to be written; the session drains it in batches.
 *
 * When it is full (too many live events, or too many bytes counting what the socket itself
 * still buffers):
 * 1. a `task.progress`/`workflow.progress` replaces the queued one of the same task or run
 *    (latest value wins; "coalesced");
 * 2. else the oldest queued low-priority events are dropped to make room, and the drops are
 *    summed up in one `dropped {count, from_seq, to_seq}` notice written before the next frame;
 * 3. else a low-priority event is dropped itself, and a normal or high one is refused
 *    ("overflow"): the session closes with 4002 so the client resumes from history, because
 *    such an event must never be lost silently.
 * The wire order stays the seq order: a client resumes from the newest seq it has seen, so an
 * event written ahead of an older one would hide the older one from its resume.
 * Replayed events do not count against the bounds: they are references to history frames,
 * whose memory history already bounds.
 */
import type { Priority } from '../../protocol/events';

export interface EventItem {
	kind: 'event';
	seq: number;
	priority: Priority;
	frame: Buffer;
	/** performance.now() when the hub took the event from the bus */
	at: number;
	/** events with the same key replace each other under pressure (progress), null for others */
	coalesceKey: string | null;
	replay: boolean;
	dead?: boolean;
}

export interface ControlItem {
	kind: 'control';
	frame: string | Buffer;
	dead?: boolean;
}

export type OutItem = EventItem | ControlItem;

export type PushResult = 'queued' | 'coalesced' | 'dropped' | 'overflow';

export interface DroppedRange {
	count: number;
	from_seq: number;
	to_seq: number;
}

export interface OutboxOptions {
	maxMessages: number;
	maxBytes: number;
}

function sizeOf(item: OutItem): number {
	return typeof item.frame === 'string' ? Buffer.byteLength(item.frame) : item.frame.length;
}

export class Outbox {
	#options: OutboxOptions;
	#items: OutItem[] = [];
	#head = 0;
	#length = 0;
	#live = 0;
	#bytes = 0;
	/** bytes of queued replayed events, which the bounds leave out */
	#replayBytes = 0;
	#coalescable = new Map<string, EventItem>();
	#dropped: DroppedRange | null = null;
	#droppedTotal = 0;

	constructor(options: OutboxOptions) {
		this.#options = options;
	}

	/** items waiting (events and control replies) */
	get length(): number {
		return this.#length;
	}

	/** live events waiting, the figure the message bound applies to */
	get liveEvents(): number {
		return this.#live;
	}

	get bytes(): number {
		return this.#bytes;
	}

	/** events dropped since the outbox was made */
	get droppedTotal(): number {
		return this.#droppedTotal;
	}

	/** Queues a live event; `socketBytes` is what the socket still buffers (bufferedAmount). */
	push(item: EventItem, socketBytes: number): PushResult {
		const size = item.frame.length;
		const full = () =>
			this.#live >= this.#options.maxMessages ||
			this.#bytes - this.#replayBytes + socketBytes + size > this.#options.maxBytes;
		if (!full()) {
			this.#append(item);
			return 'queued';
		}
		const previous = item.coalesceKey === null ? undefined : this.#coalescable.get(item.coalesceKey);
		if (previous && !previous.dead) {
			this.#kill(previous);
			this.#append(item);
			return 'coalesced';
		}
		while (full()) {
			const victim = this.#oldestLow();
			if (!victim) break;
			this.#kill(victim);
			this.#recordDrop(victim.seq);
		}
		if (!full()) {
			this.#append(item);
			return 'queued';
		}
		if (item.priority === 'low') {
			this.#recordDrop(item.seq);
			return 'dropped';
		}
		return 'overflow';
	}

	/** Queues a control reply; replies are few and client-driven (rate limited), so not bounded here. */
	pushControl(frame: string | Buffer): void {
		this.#append({ kind: 'control', frame });
	}

	/** Merges replayed events (ascending seq) into the queue by seq, ahead of newer queued events. */
	insertReplay(items: EventItem[]): void {
		if (items.length === 0) return;
		const merged: OutItem[] = [];
		let r = 0;
		for (let i = this.#head; i < this.#items.length; i++) {
			const item = this.#items[i]!;
			if (item.dead) continue;
			if (item.kind === 'event') {
				while (r < items.length && items[r]!.seq < item.seq) merged.push(items[r++]!);
			}
			merged.push(item);
		}
		while (r < items.length) merged.push(items[r++]!);
		for (const item of items) {
			this.#length += 1;
			this.#bytes += sizeOf(item);
			this.#replayBytes += sizeOf(item);
		}
		this.#items = merged;
		this.#head = 0;
	}

	/** The next item to write, without taking it. */
	peek(): OutItem | undefined {
		this.#skipDead();
		return this.#items[this.#head];
	}

	shift(): OutItem | undefined {
		this.#skipDead();
		const item = this.#items[this.#head];
		if (!item) return undefined;
		this.#items[this.#head] = undefined as unknown as OutItem;
		this.#head += 1;
		this.#forget(item);
		if (this.#head === this.#items.length) {
			this.#items = [];
			this.#head = 0;
		}
		return item;
	}

	/** The drops since the last call, summed up for one notice, or null if none. */
	takeDropped(): DroppedRange | null {
		const dropped = this.#dropped;
		this.#dropped = null;
		return dropped;
	}

	clear(): void {
		this.#items = [];
		this.#head = 0;
		this.#length = 0;
		this.#live = 0;
		this.#bytes = 0;
		this.#replayBytes = 0;
		this.#coalescable.clear();
		this.#dropped = null;
	}

	#append(item: OutItem): void {
		this.#items.push(item);
		this.#length += 1;
		this.#bytes += sizeOf(item);
		if (item.kind === 'event') {
			if (!item.replay) this.#live += 1;
			if (item.coalesceKey !== null) this.#coalescable.set(item.coalesceKey, item);
		}
	}

	#kill(item: OutItem): void {
		item.dead = true;
		this.#forget(item);
	}

	#forget(item: OutItem): void {
		this.#length -= 1;
		this.#bytes -= sizeOf(item);
		if (item.kind !== 'event') return;
		if (!item.replay) this.#live -= 1;
		else this.#replayBytes -= sizeOf(item);
		if (item.coalesceKey !== null && this.#coalescable.get(item.coalesceKey) === item) {
			this.#coalescable.delete(item.coalesceKey);
		}
	}

	#skipDead(): void {
		while (this.#head < this.#items.length && this.#items[this.#head]!.dead) this.#head += 1;
	}

	#oldestLow(): EventItem | undefined {
		for (let i = this.#head; i < this.#items.length; i++) {
			const item = this.#items[i]!;
			if (!item.dead && item.kind === 'event' && !item.replay && item.priority === 'low') return item;
		}
		return undefined;
	}

	#recordDrop(seq: number): void {
		this.#droppedTotal += 1;
		const d = this.#dropped;
		if (!d) this.#dropped = { count: 1, from_seq: seq, to_seq: seq };
		else {
			d.count += 1;
			d.from_seq = Math.min(d.from_seq, seq);
			d.to_seq = Math.max(d.to_seq, seq);
		}
	}
}
