/**
 * @module hub/broadcast
 * Takes numbered events from the stream's source, keeps them in history and hands them to the
 * sessions that want them. An event is serialised once and matched once, through the filter
 * index, however many sessions there are. The position (`epoch` + `seq`) is the stream offset
 * clients resume from; `seq` here is the newest event broadcast on this node.
 */
import type { AnyDomainEvent } from '../../protocol/events';
import type { Logger } from '../logger';
import type { HubCounters } from './counters';
import type { FilterIndex } from './filter-index';
import type { Session } from './session';
import { createEntry, type EventSource, type HistorySource, type StreamPosition } from './stream';

export { createEpoch, type StreamPosition } from './stream';

export interface BroadcasterOptions {
	source: EventSource;
	index: FilterIndex<Session>;
	history: HistorySource;
	counters: HubCounters;
	logger: Logger;
	/** the source restarted the stream at `position` (new epoch, or events lost): tell the live sessions */
	onReset?: (position: StreamPosition, missed: number | null) => void;
}

export class Broadcaster {
	#options: BroadcasterOptions;
	#epoch: string;
	#seq: number;
	#unsubscribe: (() => void) | null = null;

	constructor(options: BroadcasterOptions) {
		this.#options = options;
		const { epoch, seq } = options.source.position;
		this.#epoch = epoch;
		this.#seq = seq;
	}

	get epoch(): string {
		return this.#epoch;
	}

	get position(): StreamPosition {
		return { epoch: this.#epoch, seq: this.#seq };
	}

	/** the seq of the newest event broadcast */
	get seq(): number {
		return this.#seq;
	}

	start(): void {
		if (this.#unsubscribe) return;
		this.#unsubscribe = this.#options.source.subscribe({
			event: (seq, event) => this.publish(seq, event),
			reset: (position, missed) => {
				this.#epoch = position.epoch;
				this.#seq = position.seq;
				this.#options.history.restart(position.seq);
				this.#options.onReset?.(position, missed);
			}
		});
	}

	stop(): void {
		this.#unsubscribe?.();
		this.#unsubscribe = null;
	}

	/** Keeps event `seq` and hands it to every session that wants it; returns the recipients. */
	publish(seq: number, event: AnyDomainEvent): number {
		const { counters, logger, index, history } = this.#options;
		this.#seq = seq;
		counters.eventsByType[event.type] = (counters.eventsByType[event.type] ?? 0) + 1;
		const entry = createEntry(seq, event);
		history.append(entry);
		let recipients = 0;
		for (const session of index.match(event)) {
			try {
				session.deliver(entry);
				recipients += 1;
			} catch (err) {
				// One broken session must not keep the event from the others.
				counters.errors += 1;
				logger.error({ err, client_id: session.id, type: event.type, seq }, 'broadcast to session failed');
			}
		}
		return recipients;
	}
}
