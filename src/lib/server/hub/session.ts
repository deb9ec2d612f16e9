/**
 * @module hub/session
 * One connected client: its socket, id, subscriptions and liveness marks. Sending on a
 * closing socket is a no-op, `close()` is idempotent, and the socket always has an `'error'`
 * listener (without one, a socket error would crash the process).
 */
import { WebSocket, type RawData } from 'ws';
import type { AnyDomainEvent } from '../../protocol/events';
import { matchesFilter } from '../../protocol/filter';
import { CloseCode } from '../../protocol/close-codes';
import { DEFAULT_MAX_BUFFERED_BYTES } from '../config';
import { MAX_SUBSCRIPTIONS, type EventFilter } from '../../protocol/messages';
import type { Logger } from '../logger';
import type { HubCounters } from './counters';
import { HubError } from './hub-error';

/** A close frame's reason may hold at most 123 bytes (RFC 6455 §5.5). */
const MAX_CLOSE_REASON_BYTES = 123;

export type SessionState = 'open' | 'closing' | 'closed';

/** The parts of a `ws` WebSocket a session uses (narrow, so specs can pass a fake). */
export type SessionSocket = Pick<
	WebSocket,
	'readyState' | 'bufferedAmount' | 'send' | 'ping' | 'close' | 'terminate' | 'on'
>;

export interface SessionOptions {
	id: string;
	socket: SessionSocket;
	counters: HubCounters;
	logger: Logger;
	/** called for every inbound frame, after the idle mark is refreshed */
	onMessage: (session: Session, data: RawData, isBinary: boolean) => void;
	/** called once, when the socket has closed */
	onClose: (session: Session, code: number, reason: string) => void;
	maxSubscriptions?: number;
	/** unread bytes allowed before the slow-consumer close (see DEFAULT_MAX_BUFFERED_BYTES) */
	maxBufferedBytes?: number;
	now?: () => number;
}

export class Session {
	readonly id: string;
	readonly connectedAt: number;
	#socket: SessionSocket;
	#counters: HubCounters;
	#logger: Logger;
	#now: () => number;
	#maxSubscriptions: number;
	#maxBufferedBytes: number;
	#state: SessionState = 'open';
	#lastSeenAt: number;
	#awaitingPong = false;
	#subscriptions = new Map<string, EventFilter>();
	#closed: Promise<void>;

	constructor(options: SessionOptions) {
		this.id = options.id;
		this.#socket = options.socket;
		this.#counters = options.counters;
		this.#logger = options.logger;
		this.#now = options.now ?? Date.now;
		this.#maxSubscriptions = options.maxSubscriptions ?? MAX_SUBSCRIPTIONS;
		this.#maxBufferedBytes = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
		this.connectedAt = this.#now();
		this.#lastSeenAt = this.connectedAt;

		let resolveClosed!: () => void;
		this.#closed = new Promise((resolve) => (resolveClosed = resolve));
		const socket = this.#socket;
		socket.on('error', (err: Error) => {
			this.#counters.errors += 1;
			this.#logger.debug({ err, client_id: this.id }, 'socket error');
		});
		socket.on('message', (data: RawData, isBinary: boolean) => {
			this.#lastSeenAt = this.#now();
			this.#counters.messagesReceived += 1;
			this.#counters.bytesReceived += rawByteLength(data);
			options.onMessage(this, data, isBinary);
		});
		socket.on('pong', () => {
			this.#awaitingPong = false;
		});
		socket.on('close', (code: number, reason: Buffer) => {
			this.#state = 'closed';
			this.#subscriptions.clear();
			options.onClose(this, code, reason.toString());
			resolveClosed();
		});
	}

	get state(): SessionState {
		return this.#state;
	}

	/** when the client last sent a frame (ms since the epoch); pongs do not count */
	get lastSeenAt(): number {
		return this.#lastSeenAt;
	}

	/** a ping went out and its pong has not come back */
	get awaitingPong(): boolean {
		return this.#awaitingPong;
	}

	get subscriptions(): ReadonlyMap<string, EventFilter> {
		return this.#subscriptions;
	}

	/** resolves once the socket has closed */
	get closed(): Promise<void> {
		return this.#closed;
	}

	/** Sends one text frame; returns false (and sends nothing) once the session is closing. */
	send(data: string | Buffer): boolean {
		if (this.#state !== 'open' || this.#socket.readyState !== WebSocket.OPEN) return false;
		const size = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
		// ws queues without limit while the peer does not read; a bounded buffer turns that into
		// the documented slow-consumer close, and the client resumes (or reloads) on reconnect.
		if (this.#socket.bufferedAmount + size > this.#maxBufferedBytes) {
			this.#counters.slowConsumerCloses += 1;
			this.close(CloseCode.SLOW_CONSUMER, 'client reads too slowly; reconnect and resume');
			return false;
		}
		// A Buffer is sent as text so one encoded broadcast frame can go to every client.
		this.#socket.send(data, { binary: false });
		this.#counters.messagesSent += 1;
		this.#counters.bytesSent += size;
		return true;
	}

	ping(): void {
		if (this.#state !== 'open' || this.#socket.readyState !== WebSocket.OPEN) return;
		this.#awaitingPong = true;
		this.#socket.ping();
	}

	/** Starts the closing handshake; ws destroys the socket if the peer never answers. Idempotent. */
	close(code: number, reason = ''): void {
		if (this.#state !== 'open') return;
		this.#state = 'closing';
		this.#subscriptions.clear();
		try {
			this.#socket.close(code, truncateReason(reason));
		} catch (err) {
			// ws rejects codes it considers invalid; the connection must still end.
			this.#logger.warn({ err, code, client_id: this.id }, 'close failed, terminating');
			this.#socket.terminate();
		}
	}

	/** Destroys the socket without a closing handshake (half-open TCP, shutdown fallback). */
	terminate(): void {
		if (this.#state === 'closed') return;
		this.#state = 'closing';
		this.#subscriptions.clear();
		this.#socket.terminate();
	}

	/**
	 * Adds the subscription, or replaces the filter of an existing one with the same id.
	 * @throws {HubError} `too_many_subscriptions` when a new id would exceed the limit
	 */
	subscribe(sub: string, filter: EventFilter): void {
		if (!this.#subscriptions.has(sub) && this.#subscriptions.size >= this.#maxSubscriptions) {
			throw HubError.tooManySubscriptions(this.#maxSubscriptions);
		}
		this.#subscriptions.set(sub, filter);
	}

	/**
	 * Removes one subscription, or all of them when `sub` is undefined; returns the ids removed.
	 * @throws {HubError} `unknown_subscription` when `sub` is not held
	 */
	unsubscribe(sub?: string): string[] {
		if (sub === undefined) {
			const removed = [...this.#subscriptions.keys()];
			this.#subscriptions.clear();
			return removed;
		}
		if (!this.#subscriptions.delete(sub)) {
			throw HubError.unknownSubscription(sub, [...this.#subscriptions.keys()]);
		}
		return [sub];
	}

	/** Whether any subscription wants the event; a session without subscriptions wants none. */
	wants(event: AnyDomainEvent): boolean {
		for (const filter of this.#subscriptions.values()) {
			if (matchesFilter(filter, event)) return true;
		}
		return false;
	}
}

function rawByteLength(data: RawData): number {
	if (Array.isArray(data)) return data.reduce((n, b) => n + b.length, 0);
	return data instanceof ArrayBuffer ? data.byteLength : data.length;
}

function truncateReason(reason: string): string {
	if (Buffer.byteLength(reason) <= MAX_CLOSE_REASON_BYTES) return reason;
	let out = Buffer.from(reason).subarray(0, MAX_CLOSE_REASON_BYTES).toString();
	// Cutting inside a multi-byte character leaves U+FFFD (3 bytes); drop until it fits.
	while (Buffer.byteLength(out) > MAX_CLOSE_REASON_BYTES) out = out.slice(0, -1);
	return out;
}
