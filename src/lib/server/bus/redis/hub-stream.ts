/**
 * @module bus/redis/hub-stream
 * The shared stream behind the hub's two seams (hub/stream.ts):
 * - {@link SharedEventSource}: the numbered events every node reads from Redis, in the global
 *   seq order, and the resets (a new epoch, events trimmed before this node read them). The hub
 *   numbers nothing itself.
 * - {@link SharedReplayHistory}: what a client resuming on this node (or reading behind its
 *   live queue) is owed. The recent stream is kept in memory, as on one node, so readers close to
 *   live never wait on Redis; older seqs — events from before this node started, or beyond its
 *   memory window — are read from the shared stream in pages.
 */
import type { HubConfig } from '../../config';
import type { RedisBus } from './redis-bus';
import { History, type HistoryOptions } from '../../hub/history';
import {
	createEntry,
	type EventSource,
	type HistoryPage,
	type HistorySource,
	type HistoryStats,
	type HistoryEntry,
	type SourceListener,
	type StreamPosition
} from '../../hub/stream';

export class SharedEventSource implements EventSource {
	#bus: RedisBus;

	constructor(bus: RedisBus) {
		this.#bus = bus;
	}

	get position(): StreamPosition {
		return this.#bus.stream.position;
	}

	subscribe(listener: SourceListener): () => void {
		return this.#bus.stream.listen({
			event: (numbered) => listener.event(numbered.seq, numbered.event),
			reset: (position, missed) => listener.reset?.(position, missed)
		});
	}

	/** A client saw `seq` on another node: true once this node has delivered it too. */
	caughtUp(seq: number, timeoutMs: number): Promise<boolean> {
		return this.#bus.stream.caughtUp(seq, timeoutMs);
	}
}

export class SharedReplayHistory implements HistorySource {
	#bus: RedisBus;
	#local: History;

	constructor(bus: RedisBus, options: HistoryOptions) {
		this.#bus = bus;
		this.#local = new History(options);
		// memory holds what this node reads from now on; everything before is in Redis only
		this.#local.restart(bus.stream.position.seq);
	}

	append(entry: HistoryEntry): void {
		this.#local.append(entry);
	}

	readAfter(seq: number, max: number): HistoryPage | Promise<HistoryPage> {
		const localFirst = this.#local.firstSeq();
		if (seq + 1 >= localFirst) return this.#local.readAfter(seq, max);
		// older than this node holds: read the shared stream up to where memory takes over
		const { epoch, seq: head } = this.#bus.stream.position;
		return this.#bus.stream
			.page({ epoch, after: seq, upTo: Math.min(localFirst - 1, head), limit: max })
			.then(
				(page) => (page ? page.events.map((n) => createEntry(n.seq, n.event)) : null),
				// Redis unreachable: the client is told to reset rather than left waiting
				() => null
			);
	}

	/**
	 * The oldest seq the shared stream still holds, as last seen (at most a few seconds old); a
	 * read finds out exactly (null when it is gone).
	 */
	firstSeq(): number {
		return Math.min(this.#local.firstSeq(), this.#bus.stream.oldestSeq ?? 1);
	}

	restart(seq: number): void {
		this.#local.restart(seq);
	}

	/** this node's memory window, except that the oldest seq is the shared stream's */
	stats(): HistoryStats {
		const local = this.#local.stats();
		const shared = this.#bus.stream.oldestSeq;
		return shared === null ? local : { ...local, oldest_seq: Math.min(shared, local.oldest_seq ?? shared) };
	}
}

/** What `createHub` takes to run on the shared stream: `createHub({ bus, ...sharedStream(redis, config.hub), … })`. */
export function sharedStream(
	redis: RedisBus,
	config: Pick<HubConfig, 'historyMaxEvents' | 'historyMaxBytes' | 'historyMaxAgeMs'>
): { source: SharedEventSource; history: SharedReplayHistory } {
	return {
		source: new SharedEventSource(redis),
		history: new SharedReplayHistory(redis, {
			maxEvents: config.historyMaxEvents,
			maxBytes: config.historyMaxBytes,
			maxAgeMs: config.historyMaxAgeMs
		})
	};
}
