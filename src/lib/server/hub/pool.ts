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

/** Why an upgrade was refused (`auth`: no, wrong or expired credentials, or a role that may not). */
export type RejectReason = 'capacity' | 'per_ip' | 'origin' | 'host' | 'auth' | 'shutting_down';

export interface PoolStats {
	active: number;
	total_created: number;
	rejected: number;
	rejected_by_reason: Record<RejectReason, number>;
	max: number;
	max_per_ip: number;
	/** distinct remote addresses connected */
	addresses: number;
}

export class SessionPool {
	readonly max: number;
	readonly maxPerIp: number;
	#sessions = new Map<string, Session>();
	#perIp = new Map<string, number>();
	#totalCreated = 0;
	#rejected: Record<RejectReason, number> = {
		capacity: 0,
		per_ip: 0,
		origin: 0,
		host: 0,
		auth: 0,
		shutting_down: 0
	};

	constructor(maxConnections: number, maxPerIp = maxConnections) {
		if (!Number.isInteger(maxConnections) || maxConnections < 1) {
			throw new RangeError(`maxConnections must be an integer ≥ 1, got ${maxConnections}`);
		}
		if (!Number.isInteger(maxPerIp) || maxPerIp < 1) {
			throw new RangeError(`maxPerIp must be an integer ≥ 1, got ${maxPerIp}`);
		}
		this.max = maxConnections;
		this.maxPerIp = maxPerIp;
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

	/** Whether one more connection from this remote address fits. */
	hasCapacityFor(address: string): boolean {
		return (this.#perIp.get(address) ?? 0) < this.maxPerIp;
	}

	/** connections open from this remote address */
	countFor(address: string): number {
		return this.#perIp.get(address) ?? 0;
	}

	add(session: Session): void {
		if (this.#sessions.has(session.id)) throw new Error(`duplicate client id ${session.id}`);
		this.#sessions.set(session.id, session);
		this.#perIp.set(session.remoteAddress, (this.#perIp.get(session.remoteAddress) ?? 0) + 1);
		this.#totalCreated += 1;
	}

	/** Removes the session if it is still registered; returns whether it was. */
	remove(session: Session): boolean {
		if (this.#sessions.get(session.id) !== session) return false;
		const left = (this.#perIp.get(session.remoteAddress) ?? 1) - 1;
		if (left > 0) this.#perIp.set(session.remoteAddress, left);
		else this.#perIp.delete(session.remoteAddress);
		return this.#sessions.delete(session.id);
	}

	get(id: string): Session | undefined {
		return this.#sessions.get(id);
	}

	values(): IterableIterator<Session> {
		return this.#sessions.values();
	}

	/** Counts a refused upgrade. */
	recordRejected(reason: RejectReason): void {
		this.#rejected[reason] += 1;
	}

	stats(): PoolStats {
		const byReason = { ...this.#rejected };
		return {
			active: this.#sessions.size,
			total_created: this.#totalCreated,
			rejected: Object.values(byReason).reduce((a, b) => a + b, 0),
			rejected_by_reason: byReason,
			max: this.max,
			max_per_ip: this.maxPerIp,
			addresses: this.#perIp.size
		};
	}
}

/**
 * Answers an upgrade request with a plain HTTP error instead of the handshake and closes the
 * socket. The body is the REST API's error shape.
 */
export function refuseUpgrade(
	socket: Duplex,
	status: number,
	error: HubError,
	retryAfterS?: number,
	extraHeaders: Record<string, string> = {}
): void {
	const body = JSON.stringify({ error: { code: error.code, message: error.message } } satisfies ApiErrorBody);
	const headers = [
		`HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? 'Error'}`,
		'Connection: close',
		'Content-Type: application/json; charset=utf-8',
		`Content-Length: ${Buffer.byteLength(body)}`,
		...(retryAfterS === undefined ? [] : [`Retry-After: ${retryAfterS}`]),
		// header values come from our own code, never from the request (no header injection)
		...Object.entries(extraHeaders).map(([name, value]) => `${name}: ${value.replace(/[\r\n]/g, ' ')}`)
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
