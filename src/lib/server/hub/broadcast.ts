/**
 * @module hub/broadcast
 * Takes events from the bus, numbers them, keeps them in history and queues them for the
 * sessions that want them. The position (`epoch` + `seq`) is the stream offset clients resume
 * from: `seq` rises by one per event on this hub, and `epoch` is made fresh at every start
 * because nothing of the stream survives a restart. An event is serialised once and matched
 * once, through the filter index, however many sessions there are.
 */
import { randomBytes } from 'node:crypto';
import type { AnyDomainEvent } from '../../protocol/events';
import type { EventBus } from '../bus/types';
import type { Logger } from '../logger';
import type { HubCounters } from './counters';
import type { FilterIndex } from './filter-index';
import { encodeEvent } from './frames';
import type { History, HistoryEntry } from './history';
import type { Session } from './session';

export interface StreamPosition {
	epoch: string;
	/** the seq of the newest event numbered so far (0 before the first) */
	seq: number;
}

export interface BroadcasterOptions {
	bus: EventBus;
	index: FilterIndex<Session>;
	history: History;
	counters: HubCounters;
	logger: Logger;
	epoch?: string;
}

/** A new random epoch, short enough to log and compare cheaply. */
export function createEpoch(): string {
	return randomBytes(9).toString('base64url');
}

export class Broadcaster {
	readonly epoch: string;
	#options: BroadcasterOptions;
	#seq = 0;
	#unsubscribe: (() => void) | null = null;

	constructor(options: BroadcasterOptions) {
		this.#options = options;
		this.epoch = options.epoch ?? createEpoch();
	}

	get position(): StreamPosition {
		return { epoch: this.epoch, seq: this.#seq };
	}

	get seq(): number {
		return this.#seq;
	}

	start(): void {
		if (this.#unsubscribe) return;
		this.#unsubscribe = this.#options.bus.subscribe((event) => this.publish(event));
	}

	stop(): void {
		this.#unsubscribe?.();
		this.#unsubscribe = null;
	}

	/** Numbers the event, keeps it, and queues it for every session that wants it; returns the recipients. */
	publish(event: AnyDomainEvent): number {
		const { counters, logger, index, history } = this.#options;
		const seq = ++this.#seq;
		counters.eventsByType[event.type] = (counters.eventsByType[event.type] ?? 0) + 1;
		const entry: Omit<HistoryEntry, 'storedAt'> = {
			seq,
			event,
			frame: encodeEvent(event, seq),
			at: performance.now()
		};
		history.append(entry);
		let recipients = 0;
		for (const session of index.match(event)) {
			try {
				session.deliver(entry as HistoryEntry);
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
