/**
 * @module hub/frames
 * Builds the JSON frames the hub sends. Events are encoded once into a Buffer so the same
 * bytes go to every recipient; control messages are small and per-client.
 */
import type { AnyDomainEvent } from '../../protocol/events';
import type {
	ControlDataMap,
	ControlMessage,
	ControlType,
	EventEnvelope,
	WelcomeData
} from '../../protocol/messages';

export function encodeControl<T extends ControlType>(
	type: T,
	data: ControlDataMap[T],
	now = new Date()
): string {
	const message: ControlMessage<T> = { type, timestamp: now.toISOString(), data };
	return JSON.stringify(message);
}

/** The fields of `welcome` that are the same for every client of a hub. */
export type WelcomeConstants = Omit<WelcomeData, 'client_id' | 'epoch' | 'seq'>;

/**
 * Encodes `welcome` as {@link encodeControl} does, byte for byte, with the fields every client
 * shares serialised once: each handshake only writes its client id, epoch and position.
 */
export function welcomeEncoder(
	constants: WelcomeConstants
): (clientId: string, epoch: string, seq: number, now?: Date) => string {
	const { protocol, heartbeat_interval_ms, idle_timeout_ms, limits, ...rest } = constants;
	// spread in WelcomeData's order after seq, so the text is what JSON.stringify gives
	const tail = JSON.stringify({ protocol, heartbeat_interval_ms, idle_timeout_ms, limits, ...rest }).slice(1);
	return (clientId, epoch, seq, now = new Date()) =>
		`{"type":"welcome","timestamp":"${now.toISOString()}","data":{"client_id":${JSON.stringify(clientId)},` +
		`"epoch":${JSON.stringify(epoch)},"seq":${JSON.stringify(seq)},${tail}}`;
}

/** Bytes of each slab small frames are cut from. */
const SLAB_BYTES = 64 * 1024;
/** Frames up to this size come from a slab; bigger ones get their own memory. */
const SLAB_MAX_FRAME = SLAB_BYTES / 8;

/**
 * Memory for small frames, cut from 64 KiB slabs. Every event and batch frame is a few hundred
 * bytes to a few KB, made thousands of times a second under a flood; Node's own pool is 8 KiB, so
 * most of them cost a new ArrayBuffer, a measurable share of a line's cost. A slab stays alive
 * while any frame cut from it does, so frames that live alike share slabs: event frames (kept in
 * the replay history, evicted oldest first, so a slab goes when its last event does) apart from
 * batch and wire frames (gone once written), or one kept event would hold a slab of them.
 */
class FrameSlabs {
	#slab: Buffer = Buffer.alloc(0);
	#at = 0;

	/** `size` bytes, contents undefined */
	alloc(size: number): Buffer {
		if (size > SLAB_MAX_FRAME) return Buffer.allocUnsafe(size);
		this.#reserve(size);
		return this.#cut(size);
	}

	/**
	 * `text` as UTF-8. Written straight into the slab where its longest possible encoding fits (3
	 * bytes per UTF-16 unit), so it is read once: measuring it first (`Buffer.byteLength`) and then
	 * writing it made a 300-byte event's encoding a seventh dearer (1.30 against 1.14 µs). A slab
	 * may end up to SLAB_MAX_FRAME bytes short of full for it (an eighth at most).
	 */
	text(text: string): Buffer {
		const most = text.length * 3;
		if (most > SLAB_MAX_FRAME) {
			const out = this.alloc(Buffer.byteLength(text));
			out.write(text, 0);
			return out;
		}
		this.#reserve(most);
		return this.#cut(this.#slab.write(text, this.#at));
	}

	/** a new slab unless `size` bytes fit in this one's rest */
	#reserve(size: number): void {
		if (this.#at + size > this.#slab.length) {
			this.#slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
			this.#at = 0;
		}
	}

	/** the next `size` bytes of the slab, the one after starting 8-byte aligned */
	#cut(size: number): Buffer {
		const out = this.#slab.subarray(this.#at, this.#at + size);
		this.#at = (this.#at + size + 7) & ~7;
		return out;
	}
}

const eventSlabs = new FrameSlabs();
const wireSlabs = new FrameSlabs();

/** The seed's envelope `{type, seq, timestamp, data}`, as UTF-8 ready for the wire. */
export function encodeEvent(event: AnyDomainEvent, seq: number): Buffer {
	const envelope: EventEnvelope = { type: event.type, seq, timestamp: event.timestamp, data: event.data };
	return eventSlabs.text(JSON.stringify(envelope));
}

const BATCH_HEAD = Buffer.from('{"type":"batch","events":[');
const BATCH_TAIL = Buffer.from(']}');
const COMMA = 0x2c;
/** FIN + text opcode; with RSV1 for a compressed message */
const FIN_TEXT = 0x81;
const RSV1 = 0x40;

/** Bytes of a server-to-client frame header (no mask) for a payload of `length` bytes. */
export function wireHeadLength(length: number): number {
	return length < 126 ? 2 : length < 65536 ? 4 : 10;
}

function writeHead(out: Buffer, length: number, compressed: boolean): number {
	out[0] = compressed ? FIN_TEXT | RSV1 : FIN_TEXT;
	if (length < 126) {
		out[1] = length;
		return 2;
	}
	if (length < 65536) {
		out[1] = 126;
		out.writeUInt16BE(length, 2);
		return 4;
	}
	out[1] = 127;
	out.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
	out.writeUInt32BE(length >>> 0, 6);
	return 10;
}

/**
 * A whole WebSocket text frame (header and payload) ready for the socket, so the same bytes can
 * be written to every client without ws framing them again per client. `compressed`: the payload
 * is a permessage-deflate message (RSV1 set).
 */
export function wireFrame(payload: Buffer | string, compressed = false): Buffer {
	const length = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
	const out = wireSlabs.alloc(wireHeadLength(length) + length);
	const at = writeHead(out, length, compressed);
	if (typeof payload === 'string') out.write(payload, at);
	else payload.copy(out, at);
	return out;
}

/** The payloads of whole frames written back to back (views, not copies). */
export function payloadsOf(wire: Buffer): Buffer[] {
	const out: Buffer[] = [];
	for (let at = 0; at < wire.length;) {
		let length = wire[at + 1]! & 0x7f;
		let head = 2;
		if (length === 126) {
			length = wire.readUInt16BE(at + 2);
			head = 4;
		} else if (length === 127) {
			length = wire.readUInt32BE(at + 6) + wire.readUInt32BE(at + 2) * 2 ** 32;
			head = 10;
		}
		out.push(wire.subarray(at + head, at + head + length));
		at += head + length;
	}
	return out;
}

/** The length of a `batch` payload of these encoded envelopes. */
function batchLength(items: readonly { frame: Buffer }[]): number {
	let size = BATCH_HEAD.length + BATCH_TAIL.length + items.length - 1;
	for (const item of items) size += item.frame.length;
	return size;
}

function writeBatch(out: Buffer, at: number, items: readonly { frame: Buffer }[]): void {
	at += BATCH_HEAD.copy(out, at);
	for (let i = 0; i < items.length; i++) {
		if (i > 0) out[at++] = COMMA;
		at += items[i]!.frame.copy(out, at);
	}
	BATCH_TAIL.copy(out, at);
}

/** A `batch` payload from already encoded envelopes, copied once into one buffer, never parsed again. */
export function encodeBatch(items: readonly { frame: Buffer }[]): Buffer {
	const out = Buffer.allocUnsafe(batchLength(items));
	writeBatch(out, 0, items);
	return out;
}

/** A whole `batch` frame (header and payload) in one buffer: one allocation, one copy per event. */
export function batchWireFrame(items: readonly { frame: Buffer }[]): Buffer {
	const length = batchLength(items);
	const out = wireSlabs.alloc(wireHeadLength(length) + length);
	writeBatch(out, writeHead(out, length, false), items);
	return out;
}

/** The length of a `batch` payload of items[from, to). */
function rangeBatchLength(items: readonly { frame: Buffer }[], from: number, to: number): number {
	let size = BATCH_HEAD.length + BATCH_TAIL.length + (to - from) - 1;
	for (let i = from; i < to; i++) size += items[i]!.frame.length;
	return size;
}

/**
 * Whole frames of `items` in one buffer, cut at `ends` (each the index after a frame's last
 * item): an item alone as its own envelope, several as a `batch`. One copy per event, for frames
 * nobody else gets (a replay): no buffer per frame, no concatenation. Built at the start of `into`
 * (and a view of it returned) when given; a RangeError if they do not fit in it.
 */
export function framesWire(
	items: readonly { frame: Buffer }[],
	ends: readonly number[],
	into?: Buffer
): Buffer {
	const lengths: number[] = [];
	let total = 0;
	let from = 0;
	for (const end of ends) {
		const length = end - from === 1 ? items[from]!.frame.length : rangeBatchLength(items, from, end);
		lengths.push(length);
		total += wireHeadLength(length) + length;
		from = end;
	}
	if (into && into.length < total)
		throw new RangeError(`${total} bytes of frames do not fit in ${into.length}`);
	const out = into ? into.subarray(0, total) : Buffer.allocUnsafe(total);
	let at = 0;
	from = 0;
	for (let k = 0; k < ends.length; k++) {
		const end = ends[k]!;
		at += writeHead(out.subarray(at), lengths[k]!, false);
		if (end - from === 1) at += items[from]!.frame.copy(out, at);
		else {
			at += BATCH_HEAD.copy(out, at);
			for (let i = from; i < end; i++) {
				if (i > from) out[at++] = COMMA;
				at += items[i]!.frame.copy(out, at);
			}
			at += BATCH_TAIL.copy(out, at);
		}
		from = end;
	}
	return out;
}
