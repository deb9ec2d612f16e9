/**
 * @module tests/helpers/ws-flood
 * A WebSocket attacker for tests and benchmarks: an upgrade, then one unfinished text message
 * continued by thousands of 1-byte frames, never finished. Written with raw sockets, since no
 * WebSocket client sends that; the bytes are built once and shared by every attacker (the
 * process also hosts the healthy clients whose latency is measured).
 */
import fs from 'node:fs';
import net from 'node:net';
import { randomBytes } from 'node:crypto';

function maskedFrame(opcode: number, fin: boolean, payload: Buffer): Buffer {
	const mask = randomBytes(4);
	const masked = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]));
	return Buffer.concat([Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | payload.length]), mask, masked]);
}

/** An unfinished text message followed by `count` 1-byte continuation frames. */
export function floodBytes(count: number): Buffer {
	const continuation = maskedFrame(0x0, false, Buffer.from(' '));
	const out = Buffer.allocUnsafe(continuation.length * count);
	for (let i = 0; i < count; i += 1) continuation.copy(out, i * continuation.length);
	return Buffer.concat([maskedFrame(0x1, false, Buffer.from('{')), out]);
}

/**
 * One attacker: upgrades (with `headers`, e.g. a token), sends `flood` and resolves with the close
 * code the server sent (null when the socket ended without a close frame) once it is closed.
 */
export function fragmentFlood(
	port: number,
	flood: Buffer,
	headers: Record<string, string> = {}
): Promise<number | null> {
	return new Promise((resolve, reject) => {
		const socket = net.connect(port, '127.0.0.1');
		let buffer = Buffer.alloc(0);
		let upgraded = false;
		socket.on('connect', () => {
			socket.write(
				[
					'GET /ws HTTP/1.1',
					`Host: 127.0.0.1:${port}`,
					'Upgrade: websocket',
					'Connection: Upgrade',
					`Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
					'Sec-WebSocket-Version: 13',
					...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
					'',
					''
				].join('\r\n')
			);
		});
		socket.on('data', (chunk: Buffer) => {
			buffer = Buffer.concat([buffer, chunk]);
			if (upgraded) return;
			const end = buffer.indexOf('\r\n\r\n');
			if (end === -1) return;
			if (!buffer.subarray(0, 12).toString().includes('101')) {
				reject(new Error(`upgrade refused: ${buffer.subarray(0, end).toString()}`));
				socket.destroy();
				return;
			}
			upgraded = true;
			buffer = buffer.subarray(end + 4);
			socket.write(flood, () => {});
		});
		socket.on('error', () => {});
		socket.on('close', () => resolve(closeCodeIn(buffer)));
	});
}

/** The code of the first close frame in what the server sent, skipping the frames before it. */
function closeCodeIn(buffer: Buffer): number | null {
	let offset = 0;
	while (offset + 2 <= buffer.length) {
		const opcode = buffer[offset] & 0x0f;
		let length = buffer[offset + 1] & 0x7f;
		let header = 2;
		if (length === 126) {
			length = buffer.readUInt16BE(offset + 2);
			header = 4;
		} else if (length === 127) {
			length = Number(buffer.readBigUInt64BE(offset + 2));
			header = 10;
		}
		if (opcode === 0x8) return length >= 2 ? buffer.readUInt16BE(offset + header) : null;
		offset += header + length;
	}
	return null;
}

/** A process's peak resident memory so far (VmHWM), in bytes (Linux). */
export function peakRss(pid: number): number {
	const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
	return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) * 1024;
}
