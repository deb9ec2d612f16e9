/**
 * @module hub/stream
 * The seams between the hub and where its stream comes from.
 * - Numbering: an {@link EventSource} hands the hub numbered events, seq rising by one within an
 *   epoch, and says where the stream stands. In one process that is {@link LocalNumbering} over
 *   the in-process bus (numbers events as they arrive, a fresh epoch per start); a shared stream
 *   (Redis) gives every node the same seq for the same event.
 * - History: a {@link HistorySource} keeps the recent stream and reads it back in pages after a
 *   seq. Replay (`resume`) and a client that fell behind its live queue both read through it as
 *   their socket drains, so neither holds a copy of what it is owed. A page may come back at
 *   once (in-memory history) or later (a Promise, e.g. XRANGE).
 *
 * @example
 * const source = new LocalNumbering(bus);
 * const stop = source.subscribe({ event: (seq, event) => broadcast(seq, event) });
 */
import { randomBytes } from 'node:crypto';
import { EVENT_PRIORITY, type AnyDomainEvent, type Priority } from '../../protocol/events';
import { routeOf, type EventRoute } from '../../protocol/filter';
import type { EventBus } from '../bus/types';
import { encodeEvent } from './frames';

export interface StreamPosition {
	epoch: string;
	/** the seq of the newest event numbered so far (0 before the first) */
	seq: number;
}

export interface SourceListener {
	/** the next event of the stream: `seq` is the previous one's plus one, within an epoch */
	event(seq: number, event: AnyDomainEvent): void;
	/**
	 * The stream went on from `position` without the events before it: a new epoch, or events
	 * that were lost (`missed` of them, null when unknown). Live clients are told to reset.
	 */
	reset?(position: StreamPosition, missed: number | null): void;
}

export interface EventSource {
	/** where the stream stands now (epoch and the newest seq numbered) */
	readonly position: StreamPosition;
	/** delivers numbered events from now on, in seq order; returns the unsubscribe function */
	subscribe(listener: SourceListener): () => void;
	/**
	 * A shared stream (Redis) that this node reads a little behind others: resolves true once
	 * this node has delivered `seq` (a client saw it on another node), false after `timeoutMs`.
	 * Absent for a source that numbers events itself: no seq ahead of it exists.
	 */
	caughtUp?(seq: number, timeoutMs: number): Promise<boolean>;
}

/**
 * One numbered event as the hub keeps it: encoded once, shared by every recipient and replay.
 * Only what filters look at is kept beside the frame, not the event's payload.
 */
export interface HistoryEntry {
	seq: number;
	route: EventRoute;
	/** the encoded envelope `{type, seq, timestamp, data}` */
	frame: Buffer;
	/** when the hub took the event (performance.now() ms), for delivery latency */
	at: number;
	/** when history kept it (Date.now() ms), for the age bound; history sets it */
	storedAt: number;
	priority: Priority;
	/** events with the same key supersede each other under pressure (progress), null for others */
	coalesceKey: string | null;
}

/** A page of history: entries after a seq, oldest first; null when history no longer holds them. */
export type HistoryPage = readonly HistoryEntry[] | null;

export interface HistoryStats {
	events: number;
	bytes: number;
	oldest_seq: number | null;
	newest_seq: number | null;
	max_events: number;
	max_bytes: number;
	max_age_ms: number;
}

export interface HistorySource {
	/** keeps the next entry; seqs follow each other by one */
	append(entry: HistoryEntry): void;
	/**
	 * Up to `max` entries with seqs after `seq`, oldest first and contiguous; `[]` when there is
	 * nothing newer (yet); null when the entry after `seq` is no longer (or never was) held.
	 */
	readAfter(seq: number, max: number): HistoryPage | Promise<HistoryPage>;
	/**
	 * The oldest seq still held (the newest + 1 when empty). May be approximate for a shared
	 * history; the hub uses it to see, without a read, that a reader fell out of the window.
	 */
	firstSeq(): number;
	/** forgets everything: the stream goes on after `seq` (a source reset) */
	restart(seq: number): void;
	stats(): HistoryStats;
}

/** A new random epoch, short enough to log and compare cheaply. */
export function createEpoch(): string {
	return randomBytes(9).toString('base64url');
}

/** The key under which progress events supersede each other (latest value wins). */
export function coalesceKeyOf(event: AnyDomainEvent): string | null {
	if (event.type === 'task.progress') return `t:${event.data.task_id}`;
	if (event.type === 'workflow.progress') return `w:${event.data.run_id}`;
	return null;
}

/** The entry for event `seq`: its frame encoded once, its priority and coalescing key looked up once. */
export function createEntry(seq: number, event: AnyDomainEvent, at = performance.now()): HistoryEntry {
	return {
		seq,
		route: routeOf(event),
		frame: encodeEvent(event, seq),
		at,
		storedAt: 0,
		priority: EVENT_PRIORITY[event.type],
		coalesceKey: coalesceKeyOf(event)
	};
}

/**
 * Numbering in one process: each event from the bus gets the next seq of this epoch. The epoch
 * is new at every start, because nothing of the stream outlives the process.
 */
export class LocalNumbering implements EventSource {
	readonly epoch: string;
	#bus: EventBus;
	#seq = 0;
	#listeners = new Set<SourceListener>();
	#unsubscribe: (() => void) | null = null;

	constructor(bus: EventBus, epoch: string = createEpoch()) {
		this.#bus = bus;
		this.epoch = epoch;
	}

	get position(): StreamPosition {
		return { epoch: this.epoch, seq: this.#seq };
	}

	subscribe(listener: SourceListener): () => void {
		this.#listeners.add(listener);
		this.#unsubscribe ??= this.#bus.subscribe((event) => {
			const seq = ++this.#seq;
			for (const l of this.#listeners) l.event(seq, event);
		});
		return () => {
			this.#listeners.delete(listener);
			if (this.#listeners.size === 0 && this.#unsubscribe) {
				this.#unsubscribe();
				this.#unsubscribe = null;
			}
		};
	}
}
