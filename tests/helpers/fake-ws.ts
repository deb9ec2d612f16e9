/**
 * @module tests/helpers/fake-ws
 * A stand-in for a server-side `ws` WebSocket in unit specs: records what is sent, pinged and
 * closed, and lets the spec play the peer (`receive`, `pong`, `finishClose`).
 */
import { EventEmitter } from 'node:events';
import { WebSocket } from 'ws';

export interface SentFrame {
	data: string | Buffer;
	binary: boolean | undefined;
}

export class FakeWebSocket extends EventEmitter {
	readyState: number = WebSocket.OPEN;
	bufferedAmount = 0;
	readonly sent: SentFrame[] = [];
	readonly closeCalls: { code: number | undefined; reason: string | undefined }[] = [];
	pings = 0;
	terminated = false;

	send(data: string | Buffer, options?: { binary?: boolean }): void {
		this.sent.push({ data, binary: options?.binary });
	}

	ping(): void {
		this.pings += 1;
	}

	close(code?: number, reason?: string): void {
		this.closeCalls.push({ code, reason });
		this.readyState = WebSocket.CLOSING;
	}

	terminate(): void {
		this.terminated = true;
		this.finishClose(1006, '');
	}

	/** The peer sends a frame. */
	receive(data: string | Buffer, isBinary = false): void {
		this.emit('message', typeof data === 'string' ? Buffer.from(data) : data, isBinary);
	}

	pong(): void {
		this.emit('pong', Buffer.alloc(0));
	}

	/** The closing handshake completes (or the socket drops) with this code. */
	finishClose(
		code = this.closeCalls.at(-1)?.code ?? 1005,
		reason = this.closeCalls.at(-1)?.reason ?? ''
	): void {
		if (this.readyState === WebSocket.CLOSED) return;
		this.readyState = WebSocket.CLOSED;
		this.emit('close', code, Buffer.from(reason));
	}

	/** Sent frames parsed as JSON (text frames only). */
	json<T = { type: string; data?: Record<string, unknown> }>(): T[] {
		return this.sent.map((f) => JSON.parse(f.data.toString()) as T);
	}
}
