/**
 * @module realtime/reconnecting-socket
 * Keeps one WebSocket to the hub open: opens it, drops one that is not established in time,
 * reconnects after a close as the close-code table says (close-policy: at once, soon after a
 * restart, with full-jitter backoff, with a longer one, or not at all), waits while the
 * network is down, and tries at once when there is a reason to (the network is back, the page
 * became visible, someone asked). It holds the figures an indicator shows. Plain TypeScript,
 * the same in the browser and in Node; it knows nothing of the protocol: its owner reads the
 * frames and calls {@link ReconnectingSocket.established} when the server's welcome arrives.
 */
import type { ClientMessage } from '../protocol/messages';
import {
	DEFAULT_RESTART_DELAY,
	DEFAULT_RESTART_WINDOW_MS,
	reconnectPlan,
	type ReconnectPlan
} from './close-policy';
import type {
	CloseInfo,
	ConnectionState,
	OfflineReason,
	SocketOptions,
	WebSocketLike
} from './connection-types';
import { RetrySchedule, type ScheduleOptions } from './retry-schedule';
import { SessionTimers } from './session-timers';

/** A connection that stayed up this long counts as good: the backoff starts over. */
export const DEFAULT_STABLE_AFTER_MS = 5_000;
/** An open socket that sends no `welcome` within this time is dropped and retried. */
export const DEFAULT_WELCOME_TIMEOUT_MS = 10_000;
const WS_OPEN = 1;
/** Close code this client uses when it drops a silent socket itself (4000–4499: reconnect). */
const CLIENT_DROP_CODE = 4000;
/**
 * Heartbeats in a row the hub may leave without a word back before the socket counts as dead
 * (the hub answers each at once): a network that drops the connection without a reset (a VM
 * killed, a NAT or VPN timing out) is noticed in a few heartbeats instead of TCP's 15 minutes.
 * More than one, so a tab paused in a debugger or frozen, whose timers may run before the
 * messages that came meanwhile, is not dropped for it.
 */
export const MAX_UNANSWERED_HEARTBEATS = 3;

/** What the owner hears from the socket. */
export interface SocketListener {
	onText(raw: string): void;
	onStateChange(state: ConnectionState, previous: ConnectionState): void;
	/** any figure changed (attempt, next retry, last close, …); called after onStateChange */
	onChange?(): void;
	/** the URL each attempt opens, made from the configured one (e.g. with subscriptions added) */
	urlFor?(url: string): string;
}

export class ReconnectingSocket {
	readonly #options: SocketOptions;
	readonly #listener: SocketListener;
	readonly #isOnline: () => boolean;
	readonly #now: () => number;
	readonly #timers = new SessionTimers();
	readonly #retry: RetrySchedule;
	#state: ConnectionState;
	#offlineReason: OfflineReason | null = null;
	#lastClose: CloseInfo | null = null;
	#hasConnected: boolean;
	#socket: WebSocketLike | null = null;
	/** until when retries come soon (a restart close), epoch ms */
	#soonUntil = 0;
	/** heartbeats sent since the socket last heard anything */
	#unanswered = 0;
	#started = false;
	#destroyed = false;

	constructor(options: SocketOptions, listener: SocketListener) {
		this.#options = options;
		this.#listener = listener;
		this.#isOnline = options.isOnline ?? (() => true);
		this.#now = options.now ?? (() => Date.now());
		this.#retry = new RetrySchedule({ backoff: options.backoff, now: this.#now });
		this.#hasConnected = options.reconnecting ?? false;
		this.#state = this.#hasConnected ? 'reconnecting' : 'connecting';
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
		this.#options.target?.addEventListener('online', this.#onOnline);
		this.#options.target?.addEventListener('offline', this.#onOffline);
		this.#options.visibility?.target.addEventListener('visibilitychange', this.#onVisibility);
		if (!this.#isOnline()) this.#goOffline('network');
		else this.#open();
	}

	/** Skips the wait (and starts over after giving up or a terminal close). */
	retryNow(): void {
		if (!this.#started || this.#destroyed || this.#socket) return;
		if (this.#retry.exhausted || this.#offlineReason === 'closed') this.#retry.restartDelays();
		this.#open();
	}

	/**
	 * There is a reason to believe the server is reachable now (the network came back, the page
	 * became visible): a waiting retry happens at once, with delays starting over. A server that
	 * said stop (4500–4999) is not asked again until someone presses Retry now.
	 */
	wake(): void {
		if (!this.#started || this.#destroyed || this.#socket || this.#offlineReason === 'closed') return;
		if (!this.#isOnline()) return;
		this.#retry.restartDelays();
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
		this.#unanswered = 0;
		this.#timers.welcomed({
			heartbeatMs,
			beat: () => {
				if (this.#unanswered >= MAX_UNANSWERED_HEARTBEATS) {
					this.#drop(CLIENT_DROP_CODE, 'the server stopped answering');
					return;
				}
				this.#unanswered++;
				beat();
			},
			stableAfterMs: this.#options.stableAfterMs ?? DEFAULT_STABLE_AFTER_MS,
			onStable: () => {
				this.#retry.reset();
				this.#listener.onChange?.();
			}
		});
		this.#hasConnected = true;
		this.#soonUntil = 0;
		this.#retry.cancel();
		this.#setState('connected', null);
	}

	/** Closes the socket, stops every timer and listener; the instance is done. Idempotent. */
	destroy(): void {
		if (this.#destroyed) return;
		this.#destroyed = true;
		this.#options.target?.removeEventListener('online', this.#onOnline);
		this.#options.target?.removeEventListener('offline', this.#onOffline);
		this.#options.visibility?.target.removeEventListener('visibilitychange', this.#onVisibility);
		this.#retry.cancel();
		this.#timers.clear();
		this.#detach(1000, 'client closed');
		this.#setState('offline', 'destroyed');
	}

	#open(): void {
		this.#retry.cancel();
		this.#setState(this.#hasConnected ? 'reconnecting' : 'connecting', null);
		let socket: WebSocketLike;
		try {
			socket = this.#options.createSocket(this.#listener.urlFor?.(this.#options.url) ?? this.#options.url);
		} catch (err) {
			this.#options.log?.('could not open the WebSocket', err);
			this.#handleClose(1006, 'could not open the socket');
			return;
		}
		this.#socket = socket;
		socket.onopen = () => {
			if (socket !== this.#socket) return;
			this.#timers.awaitWelcome(this.#options.welcomeTimeoutMs ?? DEFAULT_WELCOME_TIMEOUT_MS, () =>
				this.#drop(CLIENT_DROP_CODE, 'no welcome from the server')
			);
		};
		socket.onmessage = (ev) => {
			if (socket !== this.#socket) return;
			this.#unanswered = 0;
			if (typeof ev.data === 'string') this.#listener.onText(ev.data);
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
		if (plan.action === 'soon') {
			this.#soonUntil = this.#now() + (this.#options.restartWindowMs ?? DEFAULT_RESTART_WINDOW_MS);
		}
		if (plan.action === 'stop') this.#goOffline('closed');
		else if (!this.#isOnline()) this.#goOffline('network');
		else if (this.#retry.schedule(() => this.#open(), this.#scheduleFor(plan))) {
			this.#setState('reconnecting', null);
		} else this.#goOffline('gave_up');
	}

	/** How long to wait: a failure while a restarted server is expected back also comes soon. */
	#scheduleFor(plan: Exclude<ReconnectPlan, { action: 'stop' }>): ScheduleOptions {
		if (plan.action === 'now') return { immediate: true };
		if (plan.action === 'soon' || (plan.minDelayMs === 0 && this.#now() < this.#soonUntil)) {
			return { window: this.#options.restartDelay ?? DEFAULT_RESTART_DELAY };
		}
		return { minDelayMs: plan.minDelayMs };
	}

	#goOffline(reason: OfflineReason): void {
		this.#retry.cancel();
		this.#setState('offline', reason);
	}

	#setState(state: ConnectionState, offlineReason: OfflineReason | null): void {
		const previous = this.#state;
		this.#offlineReason = offlineReason;
		if (previous !== state) {
			this.#state = state;
			this.#listener.onStateChange(state, previous);
		}
		this.#listener.onChange?.();
	}

	readonly #onOnline = () => this.wake();

	// The browser knows before a TCP timeout would: stop retrying into the void and wait for `online`.
	readonly #onOffline = () => {
		if (this.#destroyed || this.#offlineReason === 'closed') return;
		this.#detach(1000, 'browser went offline');
		this.#timers.clear();
		this.#goOffline('network');
	};

	readonly #onVisibility = () => {
		if (this.#options.visibility?.isVisible()) this.wake();
	};
}
