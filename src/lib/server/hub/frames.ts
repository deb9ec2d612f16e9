/**
 * @module hub/frames
 * Builds the JSON frames the hub sends. Events are encoded once into a Buffer so the same
 * bytes go to every recipient; control messages are small and per-client.
 */
import type { AnyDomainEvent } from '../../protocol/events';
import type { ControlDataMap, ControlMessage, ControlType, EventEnvelope } from '../../protocol/messages';

export function encodeControl<T extends ControlType>(
	type: T,
	data: ControlDataMap[T],
	now = new Date()
): string {
	const message: ControlMessage<T> = { type, timestamp: now.toISOString(), data };
	return JSON.stringify(message);
}

/** The seed's envelope `{type, seq, timestamp, data}`, as UTF-8 ready for the wire. */
export function encodeEvent(event: AnyDomainEvent, seq: number): Buffer {
	const envelope: EventEnvelope = { type: event.type, seq, timestamp: event.timestamp, data: event.data };
	return Buffer.from(JSON.stringify(envelope));
}

const BATCH_HEAD = Buffer.from('{"type":"batch","events":[');
const BATCH_TAIL = Buffer.from(']}');
const COMMA = 0x2c;

/** A `batch` frame from already encoded envelopes, copied once into one buffer, never parsed again. */
export function encodeBatch(items: readonly { frame: Buffer }[]): Buffer {
	let size = BATCH_HEAD.length + BATCH_TAIL.length + items.length - 1;
	for (const item of items) size += item.frame.length;
	const out = Buffer.allocUnsafe(size);
	let at = BATCH_HEAD.copy(out, 0);
	for (let i = 0; i < items.length; i++) {
		if (i > 0) out[at++] = COMMA;
		at += items[i]!.frame.copy(out, at);
	}
	BATCH_TAIL.copy(out, at);
	return out;
}
