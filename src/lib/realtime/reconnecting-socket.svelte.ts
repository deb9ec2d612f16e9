/**
 * @module realtime/reconnecting-socket
 * Keeps one WebSocket to the hub open: opens it, drops one that is not established in time,
 * reconnects after a close as the close code says (close-policy: at once, with full-jitter
 * backoff, with a longer one, or not at all), waits while the browser is offline and tries at
 * once when it is back, and holds the state the connection indicator shows. It knows nothing of the protocol: its owner reads the frames and
 * calls {@link ReconnectingSocket.established} when the server's welcome arrives.
 */
import { WS_PATH, type ClientMessage } from '$lib/protocol';
import { reconnectPlan } from './close-policy';
import type {
	CloseInfo,
	ConnectionOptions,
	ConnectionState,
	OfflineReason,
	WebSocketLike
} from './connection-types';
import { RetrySchedule } from './retry-schedule.svelte';
import { SessionTimers } from './session-timers';

/** A connection that stayed up this long counts as good: the backoff starts over. */
export const DEFAULT_STABLE_AFTER_MS = 5_000;
/** An open socket that sends no `welcome` within this time is dropped and retried. */
export const DEFAULT_WELCOME_TIMEOUT_MS = 10_000;
const WS_OPEN = 1;
/** Close code this client uses when it drops a silent socket itself (4000–4499: reconnect). */
const CLIENT_DROP_CODE = 4000;

export type ReconnectingSocketOptions = Omit<ConnectionOptions, 'stableAfterMs' | 'welcomeTimeoutMs'> &
	Required<Pick<ConnectionOptions, 'stableAfterMs' | 'welcomeTimeoutMs'>>;

/** What the owner hears from the socket. */
export interface SocketListener {
	onText(raw: string): void;
	onStateChange(state: ConnectionState, previous: ConnectionState): void;
}

/** The hub URL for the current page: same origin, ws: or wss: by the page's protocol. */
export function defaultHubUrl(loc: Pick<Location, 'protocol' | 'host'> = location): string {
	return `${loc.protocol === 'https:' ? 'wss:' : 'ws:'}//${loc.host}${WS_PATH}`;
}

export class ReconnectingSocket {
	#state = $state<ConnectionState>('connecting');
	#offlineReason = $state<OfflineReason | null>(null);
	#lastClose = $state.raw<CloseInfo | null>(null);
	#hasConnected = $state(false);

	readonly #options: ReconnectingSocketOptions;
	readonly #listener: SocketListener;
	readonly #createSocket: (url: string) => WebSocketLike;
	readonly #isOnline: () => boolean;
	readonly #timers = new SessionTimers();
	readonly #retry: RetrySchedule;
	#socket: WebSocketLike | null = null;
	#started = false;
	#destroyed = false;

	constructor(options: ReconnectingSocketOptions, listener: SocketListener) {
		this.#options = options;
		this.#listener = listener;
		this.#createSocket = options.createSocket ?? ((url) => new WebSocket(url) as unknown as WebSocketLike);
		this.#isOnline =
			options.isOnline ?? (() => typeof navigator === 'undefined' || navigator.onLine !== false);
		this.#retry = new RetrySchedule({ backoff: options.backoff, now: options.now });
	}

	get state(): ConnectionState {
		return this.#state;
	}
	get offlineReason(): OfflineReason | null {
		return this.#offlineReason;
	}
	get lastClose(): CloseInfo | null {
		return this.#lastClose;
	}
	/** whether a connection was ever established (so later connects are REconnects) */
	get hasConnected(): boolean {
		return this.#hasConnected;
	}
	/** reconnect attempts since the last good connection */
	get attempt(): number {
		return this.#retry.attempt;
	}
	get maxAttempts(): number {
		return this.#retry.maxAttempts;
	}
	/** when the next attempt starts (epoch ms), while one is scheduled */
	get nextRetryAt(): number | null {
		return this.#retry.nextRetryAt;
	}
	/** whole seconds until the next attempt (rounded up), while one is scheduled */
	get secondsUntilRetry(): number | null {
		return this.#retry.secondsUntilRetry;
	}

	/** Opens the socket (once); later calls do nothing. */
	connect(): void {
		if (this.#started || this.#destroyed) return;
		this.#started = true;
		const target = this.#target();
		target?.addEventListener('online', this.#onOnline);
		target?.addEventListener('offline', this.#onOffline);
		if (!this.#isOnline()) this.#goOffline('network');
		else this.#open();
	}

	/** Skips the wait (and starts over after giving up or a terminal close). */
	retryNow(): void {
		if (!this.#started || this.#destroyed || this.#socket) return;
		if (this.#retry.exhausted || this.#offlineReason === 'closed') this.#retry.restartDelays();
		this.#open();
	}

	/** Sends when the socket is open; returns whether it did. */
	send(message: ClientMessage): boolean {
		const socket = this.#socket;
		if (!socket || socket.readyState !== WS_OPEN) return false;
		socket.send(JSON.stringify(message));
		return true;
	}

	/** The server's welcome arrived: the state becomes `connected` and `beat` runs every `heartbeatMs`. */
	established(heartbeatMs: number, beat: () => void): void {
		this.#timers.welcomed({
			heartbeatMs,
			beat,
			stableAfterMs: this.#options.stableAfterMs,
			onStable: () => this.#retry.reset()
		});
		this.#hasConnected = true;
		this.#retry.cancel();
		this.#setState('connected', null);
	}

	/** Closes the socket, stops every timer and listener; the instance is done. Idempotent. */
	destroy(): void {
		if (this.#destroyed) return;
		this.#destroyed = true;
		const target = this.#target();
		target?.removeEventListener('online', this.#onOnline);
		target?.removeEventListener('offline', this.#onOffline);
		this.#retry.cancel();
		this.#timers.clear();
		this.#detach(1000, 'client closed');
		this.#setState('offline', 'destroyed');
	}

	#target(): EventTarget | undefined {
		return this.#options.target ?? (typeof window === 'undefined' ? undefined : window);
	}

	#open(): void {
		this.#retry.cancel();
		this.#setState(this.#hasConnected ? 'reconnecting' : 'connecting', null);
		let socket: WebSocketLike;
		try {
			socket = this.#createSocket(this.#options.url ?? defaultHubUrl());
		} catch (err) {
			console.error('aco: could not open the WebSocket', err);
			this.#handleClose(1006, 'could not open the socket');
			return;
		}
		this.#socket = socket;
		socket.onopen = () => {
			if (socket !== this.#socket) return;
			this.#timers.awaitWelcome(this.#options.welcomeTimeoutMs, () =>
				this.#drop(CLIENT_DROP_CODE, 'no welcome from the server')
			);
		};
		socket.onmessage = (ev) => {
			if (socket === this.#socket && typeof ev.data === 'string') this.#listener.onText(ev.data);
		};
		socket.onclose = (ev) => {
			if (socket !== this.#socket) return;
			this.#socket = null;
			this.#handleClose(ev.code, ev.reason);
		};
		// an error is always followed by close, which decides what happens next
		socket.onerror = () => {};
	}

	/** Drops the current socket on the client's own initiative and handles it like a close. */
	#drop(code: number, reason: string): void {
		if (!this.#socket) return;
		this.#detach(code, reason);
		this.#handleClose(code, reason);
	}

	#detach(code: number, reason: string): void {
		const socket = this.#socket;
		if (!socket) return;
		this.#socket = null;
		socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
		try {
			socket.close(code, reason);
		} catch {
			// closing a socket that never opened can throw in some browsers; it is gone either way
		}
	}

	#handleClose(code: number, reason: string): void {
		this.#timers.clear();
		this.#lastClose = { code, reason };
		if (this.#destroyed) return;
		const plan = reconnectPlan(code, {
			attempt: this.#retry.attempt,
			slowDownDelayMs: this.#options.slowDownDelayMs
		});
		if (plan.action === 'stop') this.#goOffline('closed');
		else if (!this.#isOnline()) this.#goOffline('network');
		else if (
			this.#retry.schedule(() => this.#open(), {
				immediate: plan.action === 'now',
				minDelayMs: plan.action === 'backoff' ? plan.minDelayMs : 0
			})
		)
			this.#setState('reconnecting', null);
		else this.#goOffline('gave_up');
	}

	#goOffline(reason: OfflineReason): void {
		this.#retry.cancel();
		this.#setState('offline', reason);
	}

	#setState(state: ConnectionState, offlineReason: OfflineReason | null): void {
		const previous = this.#state;
		this.#offlineReason = offlineReason;
		if (previous === state) return;
		this.#state = state;
		this.#listener.onStateChange(state, previous);
	}

	// a server that said stop (4500–4999) is not asked again until the user presses Retry now
	readonly #onOnline = () => {
		if (this.#destroyed || this.#socket || this.#offlineReason === 'closed') return;
		this.#retry.restartDelays();
		this.#open();
	};

	// The browser knows before a TCP timeout would: stop retrying into the void and wait for `online`.
	readonly #onOffline = () => {
		if (this.#destroyed || this.#offlineReason === 'closed') return;
		this.#detach(1000, 'browser went offline');
		this.#timers.clear();
		this.#goOffline('network');
	};
}
