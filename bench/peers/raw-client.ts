/**
 * @module bench/peers/raw-client
 * A minimal WebSocket client for the load generator: a raw TCP socket, the HTTP upgrade, and
 * a frame parser that hands each text frame's bytes over without copying or decoding them.
 * A full client library would spend more CPU per frame than the fastest server under test, and
 * the load generator must not be the bottleneck. No fragmented messages (the servers under test
 * send none); pings are answered; client frames are masked. With `deflate`, it offers
 * permessage-deflate with `server_no_context_takeover` and inflates each compressed message on
 * its own.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { constants, inflateRawSync } from 'node:zlib';

export interface RawClientOptions {
	host: string;
	port: number;
	/** path and query of the upgrade request */
	path: string;
	/** a text frame's payload is `data[start, end)`; do not keep `data` */
	onText(data: Buffer, start: number, end: number): void;
	onOpen?(): void;
	onClose?(code: number): void;
	/** negotiate permessage-deflate (each server message compressed on its own) */
	deflate?: boolean;
}

const TRAILER = Buffer.from([0, 0, 0xff, 0xff]);

const CRLF2 = Buffer.from('\r\n\r\n');
/**
 * Every client reads into this one buffer (Node's `onread`): a read allocates nothing, and its
 * bytes are handled before the next read, so no client keeps a view of it (partial frames are
 * copied). The default would allocate 64 KB per read and leave it to the collector.
 */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);
const OP_TEXT = 1;
const OP_BINARY = 2;
const OP_CLOSE = 8;
const OP_PING = 9;

export class RawClient {
	readonly socket: net.Socket;
	#options: RawClientOptions;
	#upgraded = false;
	#head: Buffer | null = null;
	/** the start of a frame that the previous chunk did not finish */
	#partial: Buffer | null = null;
	#closed = false;

	constructor(options: RawClientOptions) {
		this.#options = options;
		this.socket = net.connect({
			host: options.host,
			port: options.port,
			onread: {
				buffer: READ_BUFFER,
				callback: (n) => {
					this.#onData(READ_BUFFER.subarray(0, n));
					return true;
				}
			}
		});
		this.socket.setNoDelay(true);
		this.socket.on('connect', () => {
			const key = randomBytes(16).toString('base64');
			this.socket.write(
				`GET ${options.path} HTTP/1.1\r\nHost: ${options.host}:${options.port}\r\nUpgrade: websocket\r\n` +
					`Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
					(options.deflate
						? 'Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover\r\n'
						: '') +
					'\r\n'
			);
		});
		this.socket.on('error', () => this.#onEnd(1006));
		this.socket.on('close', () => this.#onEnd(1006));
	}

	get open(): boolean {
		return this.#upgraded && !this.#closed;
	}

	/** Sends a masked text frame. */
	send(text: string): void {
		if (this.#closed) return;
		const payload = Buffer.from(text);
		const len = payload.length;
		const headLen = len < 126 ? 2 : len < 65536 ? 4 : 10;
		const frame = Buffer.allocUnsafe(headLen + 4 + len);
		frame[0] = 0x80 | OP_TEXT;
		if (len < 126) frame[1] = 0x80 | len;
		else if (len < 65536) {
			frame[1] = 0x80 | 126;
			frame.writeUInt16BE(len, 2);
		} else {
			frame[1] = 0x80 | 127;
			frame.writeUInt32BE(0, 2);
			frame.writeUInt32BE(len, 6);
		}
		const mask = randomBytes(4);
		mask.copy(frame, headLen);
		for (let i = 0; i < len; i++) frame[headLen + 4 + i] = payload[i]! ^ mask[i & 3]!;
		this.socket.write(frame);
	}

	pause(): void {
		this.socket.pause();
	}

	resume(): void {
		this.socket.resume();
	}

	close(): void {
		this.#closed = true;
		this.socket.destroy();
	}

	#onEnd(code: number): void {
		if (this.#closed) return;
		this.#closed = true;
		this.#options.onClose?.(code);
	}

	#onData(chunk: Buffer): void {
		if (!this.#upgraded) {
			const head = this.#head ? Buffer.concat([this.#head, chunk]) : chunk;
			const end = head.indexOf(CRLF2);
			if (end < 0) {
				this.#head = Buffer.from(head);
				return;
			}
			this.#head = null;
			const status = head.subarray(0, head.indexOf('\r\n')).toString();
			if (!/^HTTP\/1\.1 101/.test(status)) {
				this.#onEnd(1002);
				this.socket.destroy();
				return;
			}
			this.#upgraded = true;
			this.#options.onOpen?.();
			if (end + 4 === head.length) return;
			chunk = head.subarray(end + 4);
		}
		let offset = 0;
		if (this.#partial) {
			// complete the frame the previous chunk began, copying only that frame
			const partial = this.#partial;
			const need = frameLength(partial, 0, partial.length);
			if (need < 0) {
				this.#partial = Buffer.concat([partial, chunk]);
				const whole = frameLength(this.#partial, 0, this.#partial.length);
				if (whole < 0 || whole > this.#partial.length) return;
				chunk = this.#partial;
				this.#partial = null;
			} else {
				const missing = need - partial.length;
				if (missing > chunk.length) {
					this.#partial = Buffer.concat([partial, chunk]);
					return;
				}
				const frame = Buffer.concat([partial, chunk.subarray(0, missing)]);
				this.#partial = null;
				this.#frame(frame, 0);
				offset = missing;
			}
		}
		while (offset < chunk.length) {
			const length = frameLength(chunk, offset, chunk.length);
			if (length < 0 || offset + length > chunk.length) {
				this.#partial = Buffer.from(chunk.subarray(offset));
				return;
			}
			this.#frame(chunk, offset);
			offset += length;
		}
	}

	/** Handles the whole frame at `data[at]`. */
	#frame(data: Buffer, at: number): void {
		const opcode = data[at]! & 0x0f;
		let len = data[at + 1]! & 0x7f;
		let head = 2;
		if (len === 126) {
			len = data.readUInt16BE(at + 2);
			head = 4;
		} else if (len === 127) {
			len = data.readUInt32BE(at + 6) + data.readUInt32BE(at + 2) * 2 ** 32;
			head = 10;
		}
		const start = at + head;
		if ((opcode === OP_TEXT || opcode === OP_BINARY) && data[at]! & 0x40) {
			const inflated = inflateRawSync(Buffer.concat([data.subarray(start, start + len), TRAILER]), {
				finishFlush: constants.Z_SYNC_FLUSH
			});
			this.#options.onText(inflated, 0, inflated.length);
		} else if (opcode === OP_TEXT || opcode === OP_BINARY) this.#options.onText(data, start, start + len);
		else if (opcode === OP_PING) this.#control(0x8a, data.subarray(start, start + len));
		else if (opcode === OP_CLOSE) {
			const code = len >= 2 ? data.readUInt16BE(start) : 1005;
			this.#onEnd(code);
			this.socket.end();
		}
	}

	/** A masked control frame (pong). */
	#control(first: number, payload: Buffer): void {
		const frame = Buffer.alloc(6 + payload.length);
		frame[0] = first;
		frame[1] = 0x80 | payload.length;
		// a zero mask leaves the payload as it is
		payload.copy(frame, 6);
		this.socket.write(frame);
	}
}

/** The byte length of the frame at `data[at]`, or -1 when its header is not all there yet. */
function frameLength(data: Buffer, at: number, end: number): number {
	if (end - at < 2) return -1;
	const len = data[at + 1]! & 0x7f;
	if (len < 126) return 2 + len;
	if (len === 126) return end - at < 4 ? -1 : 4 + data.readUInt16BE(at + 2);
	if (end - at < 10) return -1;
	return 10 + data.readUInt32BE(at + 6) + data.readUInt32BE(at + 2) * 2 ** 32;
}
