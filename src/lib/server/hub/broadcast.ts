/**
 * @module hub/broadcast
 * Takes numbered events from the stream's source, keeps them in history and hands them to the
 * channels of the clients that want them (channels.ts). An event is serialised once and matched
 * once per channel, however many clients there are. The position (`epoch` + `seq`) is the stream offset
 * clients resume from; `seq` here is the newest event broadcast on this node.
 */
import type { AnyDomainEvent } from '../../protocol/events';
import type { Logger } from '../logger';
import type { HubCounters } from './counters';
import {
	createEntry,
	type EventSource,
	type HistoryEntry,
	type HistorySource,
	type StreamPosition
} from './stream';

export { createEpoch, type StreamPosition } from './stream';

/** Where the broadcaster hands each entry: the channels of the clients that want it (channels.ts). */
export interface Recipients {
	/** returns how many clients will get the event */
	publish(entry: HistoryEntry, event: AnyDomainEvent): number;
}

export interface BroadcasterOptions {
	source: EventSource;
	recipients: Recipients;
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

	/** Keeps event `seq` and hands it to every client that wants it; returns how many that is. */
	publish(seq: number, event: AnyDomainEvent): number {
		const { counters, logger, recipients, history } = this.#options;
		this.#seq = seq;
		counters.eventsByType[event.type] = (counters.eventsByType[event.type] ?? 0) + 1;
		const entry = createEntry(seq, event);
		history.append(entry);
		try {
			return recipients.publish(entry, event);
		} catch (err) {
			// the event stays in history: a client that misses it live can still resume it
			counters.errors += 1;
			logger.error({ err, type: event.type, seq }, 'broadcast failed');
			return 0;
		}
	}
}
