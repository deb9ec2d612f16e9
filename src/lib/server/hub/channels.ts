/**
 * @module hub/channels
 * Clients whose subscriptions want the same events share a channel: an event is matched once
 * per channel (filter-index.ts), not once per client, and at the end of the tick each channel
 * cuts what it gathered into runs of frames built once (frame-cache.ts) and offers them to its
 * members. A member that is caught up and writable writes a run with one call; any other (held
 * for a resume, replies waiting, backed up, reading history) takes the events into its own
 * queue as before (writer.ts). So a thousand dashboards watching everything cost one match per
 * event and one write per client per tick.
 */
import type { EventFilter } from '../../protocol/messages';
import type { AnyDomainEvent } from '../../protocol/events';
import { FilterIndex } from './filter-index';
import { frameCounts, type FrameCache } from './frame-cache';
import type { HistoryEntry } from './stream';

/** Events per run offered at once: one write for a caught-up client. */
export const RUN_BATCHES = 16;
/** `{"type":"batch","events":[` and `]}` around a batch's events */
const BATCH_OVERHEAD = 28;

/** Consecutive events of a channel with their frames, built once for every member. */
export class SharedRun {
	readonly entries: readonly HistoryEntry[];
	/** frames in the run and how many of them are batches of several events */
	readonly frames: number;
	readonly batches: number;
	/** payload bytes before compression */
	readonly size: number;
	/** mean creation time of its events (performance.now() ms), for delivery latency */
	readonly meanAt: number;
	#cache: FrameCache;
	#batchMax: number;
	#plain: Buffer | null = null;
	#deflated: Buffer | null = null;

	constructor(entries: readonly HistoryEntry[], cache: FrameCache, batchMax: number) {
		this.entries = entries;
		this.#cache = cache;
		this.#batchMax = batchMax;
		const { frames, batches } = frameCounts(entries, batchMax);
		this.frames = frames;
		this.batches = batches;
		let size = batches * BATCH_OVERHEAD + entries.length - frames;
		let at = 0;
		for (const entry of entries) {
			size += entry.frame.length;
			at += entry.at;
		}
		this.size = size;
		this.meanAt = at / entries.length;
	}

	/**
	 * The run's frames in one buffer (compressed for a client that negotiated it), built once for
	 * every member: each member writes it with one call. (A reader behind the stream takes the
	 * same batch frames from the cache as separate buffers instead, see Writer.)
	 */
	wire(deflate: boolean): Buffer {
		if (deflate) return (this.#deflated ??= this.#cache.run(this.entries, this.#batchMax, true));
		return (this.#plain ??= this.#cache.run(this.entries, this.#batchMax, false));
	}
}

/** What a channel needs of a client. */
export interface ChannelMember {
	/**
	 * takes the runs (in order): writes what it can at once, queues the rest; without `now` (the
	 * tick's slice of writing is spent) writes nothing yet
	 */
	offer(runs: readonly SharedRun[], now: boolean): void;
}

class Channel<M extends ChannelMember> {
	readonly key: string;
	readonly members = new Set<M>();
	pending: HistoryEntry[] = [];
	dirty = false;

	constructor(key: string) {
		this.key = key;
	}
}

export interface ChannelsOptions<M> {
	frames: FrameCache;
	batchMaxEvents: number;
	/** bytes of events per run (about a socket's high-water mark) */
	runBytes: number;
	/** a member failed to take its runs; the others still get theirs */
	onError?: (err: unknown, member: M) => void;
	/**
	 * ms of writing a tick's runs may take; the members after that take theirs in their turn
	 * (write-turns.ts), so a burst to many clients does not hold up the loop. Unbounded if omitted;
	 * a function is asked at each tick (shorter while a tool's output comes in: loop-share.ts).
	 */
	sliceMs?: number | (() => number);
	/** ms, monotonic (tests) */
	now?: () => number;
}

export class Channels<M extends ChannelMember> {
	#options: ChannelsOptions<M>;
	#index = new FilterIndex<Channel<M>>();
	#byKey = new Map<string, Channel<M>>();
	#of = new Map<M, { channel: Channel<M>; subscriptions: number }>();
	#subscriptions = 0;
	#dirty: Channel<M>[] = [];
	#flushing = false;
	#flush = () => this.#flushAll();

	constructor(options: ChannelsOptions<M>) {
		this.#options = options;
	}

	/** subscriptions held by all members */
	get subscriptions(): number {
		return this.#subscriptions;
	}

	/** channels in use */
	get size(): number {
		return this.#byKey.size;
	}

	/**
	 * Files `member` under the channel of its subscriptions (none: it leaves). Events still
	 * waiting for this tick's flush in the channel it leaves or joins go out first: the member
	 * gets those its old subscriptions wanted and none from before its new ones, as if the flush
	 * had come before the change (a producer's frame that publishes, then a subscribe in the same
	 * read, would otherwise lose them for good: the member's stream has moved past them).
	 */
	update(member: M, subscriptions: ReadonlyMap<string, EventFilter>): void {
		const key = channelKey(subscriptions);
		const current = this.#of.get(member);
		if (current?.channel.key === key) {
			this.#subscriptions += subscriptions.size - current.subscriptions;
			current.subscriptions = subscriptions.size;
			return;
		}
		if ((current?.channel.dirty || this.#byKey.get(key)?.dirty) && !this.#flushing) this.#flushAll();
		this.leave(member);
		if (subscriptions.size === 0) return;
		let channel = this.#byKey.get(key);
		if (!channel) {
			channel = new Channel<M>(key);
			this.#byKey.set(key, channel);
			[...new Set([...subscriptions.values()].map(canonical))].forEach((filter, i) =>
				this.#index.set(channel!, String(i), JSON.parse(filter) as EventFilter)
			);
		}
		channel.members.add(member);
		this.#of.set(member, { channel, subscriptions: subscriptions.size });
		this.#subscriptions += subscriptions.size;
	}

	leave(member: M): void {
		const current = this.#of.get(member);
		if (!current) return;
		this.#of.delete(member);
		this.#subscriptions -= current.subscriptions;
		const { channel } = current;
		channel.members.delete(member);
		if (channel.members.size === 0) {
			this.#byKey.delete(channel.key);
			this.#index.removeOwner(channel);
		}
	}

	/** Hands the event to every channel that wants it; returns how many clients that is. */
	publish(entry: HistoryEntry, event: AnyDomainEvent): number {
		let recipients = 0;
		for (const channel of this.#index.match(event)) {
			channel.pending.push(entry);
			recipients += channel.members.size;
			if (!channel.dirty) {
				channel.dirty = true;
				this.#dirty.push(channel);
				if (this.#dirty.length === 1 && !this.#flushing) queueMicrotask(this.#flush);
			}
		}
		return recipients;
	}

	#flushAll(): void {
		// flushed already, by a member changing channel
		if (this.#dirty.length === 0) return;
		this.#flushing = true;
		const { frames, batchMaxEvents, runBytes, sliceMs } = this.#options;
		const now = this.#options.now ?? (() => performance.now());
		const until =
			sliceMs === undefined ? Infinity : now() + (typeof sliceMs === 'number' ? sliceMs : sliceMs());
		let writing = true;
		const perRun = batchMaxEvents * RUN_BATCHES;
		for (let i = 0; i < this.#dirty.length; i++) {
			const channel = this.#dirty[i]!;
			const pending = channel.pending;
			channel.pending = [];
			channel.dirty = false;
			const runs: SharedRun[] = [];
			for (let from = 0; from < pending.length;) {
				// at most RUN_BATCHES batches, and about a socket's high-water mark of bytes
				let to = from;
				let bytes = 0;
				for (; to < pending.length && to - from < perRun && bytes < runBytes; to++) {
					bytes += pending[to]!.frame.length;
				}
				// and where a batch frame ends, so a reader behind that takes these events from history
				// gets the same frames (whole batches on seq boundaries, see frame-cache.ts), within one
				// more high-water mark of bytes (big events still go a few at a time)
				while (
					to < pending.length &&
					pending[to - 1]!.seq % batchMaxEvents !== 0 &&
					to - from < perRun + batchMaxEvents &&
					bytes < 2 * runBytes
				) {
					bytes += pending[to]!.frame.length;
					to++;
				}
				runs.push(new SharedRun(pending.slice(from, to), frames, batchMaxEvents));
				from = to;
			}
			for (const member of channel.members) {
				try {
					member.offer(runs, writing);
				} catch (err) {
					this.#options.onError?.(err, member);
				}
				if (writing && until !== Infinity && now() >= until) writing = false;
			}
		}
		this.#dirty.length = 0;
		this.#flushing = false;
	}
}

/** One text per set of filters, whatever their ids, order or the order of their lists. */
export function channelKey(subscriptions: ReadonlyMap<string, EventFilter>): string {
	// most clients hold one subscription: its text is the key (what the set, sort and join give)
	if (subscriptions.size === 1) for (const filter of subscriptions.values()) return canonical(filter);
	return [...new Set([...subscriptions.values()].map(canonical))].sort().join('|');
}

/** The text of a filter that wants every event (no list, or only empty ones). */
const ANY_EVENT = '{}';

function canonical(filter: EventFilter): string {
	if (
		!filter.task_ids?.length &&
		!filter.run_ids?.length &&
		!filter.types?.length &&
		!filter.statuses?.length
	) {
		return ANY_EVENT;
	}
	const list = (values: readonly string[] | undefined) => (values?.length ? [...values].sort() : undefined);
	return JSON.stringify({
		task_ids: list(filter.task_ids),
		run_ids: list(filter.run_ids),
		types: list(filter.types),
		statuses: list(filter.statuses)
	});
}
