/**
 * @module realtime/stream-position
 * Where this client stands in the hub's event stream: the history's `epoch` and the newest `seq`
 * seen. It drops events a replay repeats, decides on each welcome where to ask the server to
 * resume from, and unpacks the frames the stream arrives in.
 */
import {
	isEventEnvelope,
	type AnyControlMessage,
	type AnyEventEnvelope,
	type ServerMessage,
	type WelcomeData
} from '../protocol';

/** What one text frame carried: its events in order (a batch unpacked) or one control message. */
export interface DecodedFrame {
	events: AnyEventEnvelope[];
	control: AnyControlMessage | null;
}

/**
 * Splits a text frame into its messages; null when the frame is not a JSON message (an object
 * with a `type`). A batch keeps only what is an event (an object with a numbered `seq`).
 */
export function decodeFrame(raw: string): DecodedFrame | null {
	let message: unknown;
	try {
		message = JSON.parse(raw);
	} catch {
		return null;
	}
	if (!isMessage(message)) return null;
	if (message.type === 'batch') {
		const events: unknown = (message as { events?: unknown }).events;
		return { events: Array.isArray(events) ? events.filter(isEvent) : [], control: null };
	}
	if (isEventEnvelope(message)) return { events: [message], control: null };
	return { events: [], control: message as AnyControlMessage };
}

function isMessage(value: unknown): value is ServerMessage {
	return (
		typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string'
	);
}

function isEvent(value: unknown): value is AnyEventEnvelope {
	return isMessage(value) && isEventEnvelope(value);
}

export class StreamPosition {
	#epoch: string | null = null;
	#seq = 0;

	get epoch(): string | null {
		return this.#epoch;
	}
	/** the newest event seq seen */
	get seq(): number {
		return this.#seq;
	}

	/** Whether the event is new to this client; a new one moves the position on. */
	advance(event: AnyEventEnvelope): boolean {
		// a replay after `resume` may repeat what this client already saw
		if (this.#seq > 0 && event.seq <= this.#seq) return false;
		this.#seq = event.seq;
		return true;
	}

	/**
	 * A welcome arrived. On a reconnect returns the position to resume from: the server answers
	 * `resumed` or, when its history cannot cover the gap (a new epoch after a restart, say),
	 * `reset` with how much was missed. A new epoch's events count from the server's position at
	 * once, so they are not mistaken for ones already seen. On the first connect takes the
	 * server's position and returns null.
	 */
	welcome(
		data: Pick<WelcomeData, 'epoch' | 'seq'>,
		isReconnect: boolean
	): { epoch: string; seq: number } | null {
		const from = isReconnect && this.#epoch !== null ? { epoch: this.#epoch, seq: this.#seq } : null;
		if (!from || from.epoch !== data.epoch) this.moveTo(data.epoch, data.seq);
		return from;
	}

	/**
	 * Takes the position the server names (a welcome, or a `reset` after a gap it could not
	 * replay). Within one epoch it never moves back: events seen meanwhile stay seen.
	 */
	moveTo(epoch: string, seq: number): void {
		if (epoch === this.#epoch && seq < this.#seq) return;
		this.#epoch = epoch;
		this.#seq = seq;
	}
}
