/**
 * @module hub/broadcast
 * Takes events off the bus, numbers them, and sends each to the sessions that want it.
 * The position (`epoch` + `seq`) is the stream offset clients resume from: `seq` rises by
 * one per event on this hub, and `epoch` is made fresh at every start because nothing of the
 * stream survives a restart. An event is serialised once, however many sessions receive it.
 */
import { randomBytes } from 'node:crypto';
import type { AnyDomainEvent } from '../../protocol/events';
import type { EventBus } from '../bus/types';
import type { Logger } from '../logger';
import type { HubCounters } from './counters';
import { encodeEvent } from './frames';
import type { Session } from './session';

export interface StreamPosition {
	epoch: string;
	/** the seq of the newest event numbered so far (0 before the first) */
	seq: number;
}

export interface BroadcasterOptions {
	bus: EventBus;
	sessions: () => Iterable<Session>;
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

	start(): void {
		if (this.#unsubscribe) return;
		this.#unsubscribe = this.#options.bus.subscribe((event) => this.publish(event));
	}

	stop(): void {
		this.#unsubscribe?.();
		this.#unsubscribe = null;
	}

	/** Numbers the event and sends it to every session that wants it; returns the recipients. */
	publish(event: AnyDomainEvent): number {
		const { counters, logger } = this.#options;
		const seq = ++this.#seq;
		counters.eventsByType[event.type] = (counters.eventsByType[event.type] ?? 0) + 1;
		let frame: Buffer | null = null;
		let recipients = 0;
		for (const session of this.#options.sessions()) {
			try {
				if (!session.wants(event)) continue;
				frame ??= encodeEvent(event, seq);
				if (session.send(frame)) recipients += 1;
			} catch (err) {
				// One broken session must not keep the event from the others.
				counters.errors += 1;
				logger.error({ err, client_id: session.id, type: event.type, seq }, 'broadcast to session failed');
			}
		}
		return recipients;
	}
}
