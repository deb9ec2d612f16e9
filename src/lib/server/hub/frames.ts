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
const BATCH_COMMA = Buffer.from(',');
const BATCH_TAIL = Buffer.from(']}');

/** A `batch` frame from already encoded envelopes, without parsing or serialising them again. */
export function encodeBatch(frames: readonly Buffer[]): Buffer {
	const parts: Buffer[] = [BATCH_HEAD];
	frames.forEach((frame, i) => {
		if (i > 0) parts.push(BATCH_COMMA);
		parts.push(frame);
	});
	parts.push(BATCH_TAIL);
	return Buffer.concat(parts);
}
