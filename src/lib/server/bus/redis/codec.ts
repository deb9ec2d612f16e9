/**
 * @module bus/redis/codec
 * How an event travels through the stream. The publisher stores `{type, timestamp, data}` as
 * JSON; a reader gets the event back and the hub's wire envelope (`{type, seq, timestamp,
 * data}`, the same bytes `hub/frames.encodeEvent` makes) by splicing the seq in, so no node
 * serialises an event a second time.
 */
import type { AnyDomainEvent } from '../../../protocol/events';

/** One entry of the shared stream as a reader sees it: a batch of consecutive seqs. */
export interface StreamEntry {
	/** the seq of its first event */
	seq: number;
	/** how many seqs it holds (1 for a marker) */
	count: number;
	epoch: string;
	/** Redis's time when it was appended, ms */
	time: number;
	/** the publisher that appended it ('' for a marker) */
	publisher: string;
	/** the events' JSON, one per line; null for the marker that opens an epoch */
	payload: string | null;
}

/** What a node delivers: the event, its global seq and its encoded envelope. */
export interface NumberedEvent {
	seq: number;
	event: AnyDomainEvent;
	frame: Buffer;
}

/** The payload lines of one batch: JSON escapes newlines, so a raw one separates events. */
export const PAYLOAD_SEPARATOR = '\n';

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
	let count = 1;
	let publisher = '';
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
			case 'n':
				count = Number(value);
				break;
			case 'p':
				publisher = value;
				break;
			case 'd':
				payload = value;
				break;
		}
	}
	return { seq: seqOfId(id), count, epoch, time, publisher, payload };
}

/**
 * The events of an entry from seq `from` on (earlier ones skipped, as when a page starts inside
 * an entry); an event whose JSON is broken is left out and counted, its seq still used.
 */
export function decodeEntry(
	entry: StreamEntry,
	from = entry.seq
): { events: NumberedEvent[]; corrupt: number } {
	const events: NumberedEvent[] = [];
	let corrupt = 0;
	if (entry.payload === null) return { events, corrupt };
	const lines = entry.payload.split(PAYLOAD_SEPARATOR);
	if (lines.length !== entry.count) corrupt += Math.abs(entry.count - lines.length);
	for (let i = Math.max(0, from - entry.seq); i < Math.min(lines.length, entry.count); i++) {
		try {
			events.push(decodePayload(lines[i]!, entry.seq + i));
		} catch {
			corrupt += 1;
		}
	}
	return { events, corrupt };
}
