/**
 * @module hub/pool
 * The registry of connected sessions by client id, with the connection limit and its
 * figures. Admission is decided before the WebSocket handshake: a refused upgrade gets a
 * plain HTTP response (503 with `Retry-After`), so clients and proxies see an ordinary
 * "try later" rather than a socket that opens and closes at once.
 */
import http from 'node:http';
import type { Duplex } from 'node:stream';
import type { ApiErrorBody } from '../../protocol/models';
import type { HubError } from './hub-error';
import type { Session } from './session';

/** Seconds a refused client is told to wait before trying again. */
export const DEFAULT_RETRY_AFTER_S = 5;

export interface PoolStats {
	active: number;
	total_created: number;
	rejected: number;
	max: number;
}

export class SessionPool {
	readonly max: number;
	#sessions = new Map<string, Session>();
	#totalCreated = 0;
	#rejected = 0;

	constructor(maxConnections: number) {
		if (!Number.isInteger(maxConnections) || maxConnections < 1) {
			throw new RangeError(`maxConnections must be an integer ≥ 1, got ${maxConnections}`);
		}
		this.max = maxConnections;
	}

	get size(): number {
		return this.#sessions.size;
	}

	/**
	 * Whether one more connection fits. ws completes a handshake synchronously when there is
	 * no `verifyClient`, so checking here and adding in the upgrade callback cannot race.
	 */
	hasCapacity(): boolean {
		return this.#sessions.size < this.max;
	}

	add(session: Session): void {
		if (this.#sessions.has(session.id)) throw new Error(`duplicate client id ${session.id}`);
		this.#sessions.set(session.id, session);
		this.#totalCreated += 1;
	}

	/** Removes the session if it is still registered; returns whether it was. */
	remove(session: Session): boolean {
		if (this.#sessions.get(session.id) !== session) return false;
		return this.#sessions.delete(session.id);
	}

	get(id: string): Session | undefined {
		return this.#sessions.get(id);
	}

	values(): IterableIterator<Session> {
		return this.#sessions.values();
	}

	/** Counts a refused upgrade. */
	recordRejected(): void {
		this.#rejected += 1;
	}

	stats(): PoolStats {
		return {
			active: this.#sessions.size,
			total_created: this.#totalCreated,
			rejected: this.#rejected,
			max: this.max
		};
	}
}

/**
 * Answers an upgrade request with a plain HTTP error instead of the handshake and closes the
 * socket. The body is the REST API's error shape.
 */
export function refuseUpgrade(socket: Duplex, status: number, error: HubError, retryAfterS?: number): void {
	const body = JSON.stringify({ error: { code: error.code, message: error.message } } satisfies ApiErrorBody);
	const headers = [
		`HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? 'Error'}`,
		'Connection: close',
		'Content-Type: application/json; charset=utf-8',
		`Content-Length: ${Buffer.byteLength(body)}`,
		...(retryAfterS === undefined ? [] : [`Retry-After: ${retryAfterS}`])
	];
	// The peer may already be gone; a write error must not become an uncaught exception.
	socket.on('error', () => socket.destroy());
	if (!socket.writable) {
		socket.destroy();
		return;
	}
	socket.once('finish', () => socket.destroy());
	socket.end(`${headers.join('\r\n')}\r\n\r\n${body}`);
}
