/**
 * @module bus/redis/codec
 * How an event travels through the stream. The publisher stores `{type, timestamp, data}` as
 * JSON; a reader gets the event back and the hub's wire envelope (`{type, seq, timestamp,
 * data}`, the same bytes `hub/frames.encodeEvent` makes) by splicing the seq in, so no node
 * serialises an event a second time.
 */
import type { AnyDomainEvent } from '../../../protocol/events';

/** One entry of the shared stream as a reader sees it. */
export interface StreamEntry {
	seq: number;
	epoch: string;
	/** Redis's time when it was appended, ms */
	time: number;
	/** null for the marker that opens an epoch */
	payload: string | null;
}

/** What a node delivers: the event, its global seq and its encoded envelope. */
export interface NumberedEvent {
	seq: number;
	event: AnyDomainEvent;
	frame: Buffer;
}

export function encodePayload(event: AnyDomainEvent): string {
	return JSON.stringify({ type: event.type, timestamp: event.timestamp, data: event.data });
}

const TIMESTAMP_KEY = ',"timestamp":';

/** The event and its envelope; throws on a payload that is not an event (a corrupt entry). */
export function decodePayload(payload: string, seq: number): NumberedEvent {
	const event = JSON.parse(payload) as AnyDomainEvent;
	if (typeof event?.type !== 'string' || typeof event.timestamp !== 'string' || event.data === undefined) {
		throw new TypeError(`stream entry ${seq} is not an event`);
	}
	const cut = payload.indexOf(TIMESTAMP_KEY);
	const frame = Buffer.from(`${payload.slice(0, cut)},"seq":${seq}${payload.slice(cut)}`);
	return { seq, event, frame };
}

/** The seq of a stream id `<seq>-0`. */
export function seqOfId(id: string): number {
	const dash = id.indexOf('-');
	return Number(dash === -1 ? id : id.slice(0, dash));
}

/** An entry from XREAD/XRANGE's `[id, [field, value, …]]`. */
export function parseEntry(raw: [string, string[]]): StreamEntry {
	const [id, fields] = raw;
	let epoch = '';
	let time = 0;
	let payload: string | null = null;
	for (let i = 0; i + 1 < fields.length; i += 2) {
		const value = fields[i + 1]!;
		switch (fields[i]) {
			case 'e':
				epoch = value;
				break;
			case 't':
				time = Number(value);
				break;
			case 'd':
				payload = value;
				break;
		}
	}
	return { seq: seqOfId(id), epoch, time, payload };
}
