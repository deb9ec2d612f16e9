/**
 * @module realtime/connection
 * The browser's one WebSocket to the hub: connects, says hello with heartbeats, remembers
 * subscriptions and re-sends them after every reconnect, reconnects with full-jitter backoff
 * unless the close code forbids it, and tells stores when they may have missed something so
 * they reload over REST. Components read its getters; nothing else touches the socket.
 */
import {
	DEFAULT_HEARTBEAT_INTERVAL_MS,
	WS_PATH,
	isEventEnvelope,
	shouldReconnect,
	type AnyControlMessage,
	type AnyEventEnvelope,
	type ClientMessage,
	type ControlDataMap,
	type ControlMessage,
	type ControlType,
	type EventFilter,
	type ServerMessage,
	type WelcomeData
} from '$lib/protocol';
import { Backoff, type BackoffOptions } from './backoff';
import { Emitter } from './emitter';

/** A connection that stayed up this long counts as good: the backoff starts over. */
export const DEFAULT_STABLE_AFTER_MS = 5_000;
/** An open socket that sends no `welcome` within this time is dropped and retried. */
export const DEFAULT_WELCOME_TIMEOUT_MS = 10_000;
/** How often the "reconnecting in Ns" countdown refreshes. */
const COUNTDOWN_TICK_MS = 250;
const WS_OPEN = 1;
/** Close code this client uses when it drops a silent socket itself (4000–4499: reconnect). */
const CLIENT_DROP_CODE = 4000;

export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'offline';
/** why the state is 'offline': the browser has no network, the attempts ran out, the server said stop, or destroy() */
export type OfflineReason = 'network' | 'gave_up' | 'closed' | 'destroyed';
/** why stores should reload: a reconnect, or the server could not replay the gap */
export type ResyncReason = 'reconnect' | 'reset';

export interface CloseInfo {
	code: number;
	reason: string;
}

/** The part of the DOM WebSocket this class uses, so tests can hand in a fake. */
export interface WebSocketLike {
	readonly readyState: number;
	onopen: ((ev: unknown) => void) | null;
	onclose: ((ev: { code: number; reason: string }) => void) | null;
	onmessage: ((ev: { data: unknown }) => void) | null;
	onerror: ((ev: unknown) => void) | null;
	send(data: string): void;
	close(code?: number, reason?: string): void;
}

export interface ConnectionOptions {
	/** ws:// or wss:// URL; the page's own origin + /ws by default */
	url?: string;
	createSocket?: (url: string) => WebSocketLike;
	backoff?: BackoffOptions;
	stableAfterMs?: number;
	welcomeTimeoutMs?: number;
	/** where `online`/`offline` events come from; `window` by default */
	target?: EventTarget;
	/** whether the browser believes it has a network; `navigator.onLine` by default */
	isOnline?: () => boolean;
	now?: () => number;
}

export type EventHandler = (event: AnyEventEnvelope) => void;
export type ControlHandler<T extends ControlType> = (
	data: ControlDataMap[T],
	message: ControlMessage<T>
) => void;
export type ResyncHandler = (reason: ResyncReason) => void;
export type StateHandler = (state: ConnectionState, previous: ConnectionState) => void;

/** The hub URL for the current page: same origin, ws: or wss: by the page's protocol. */
export function defaultHubUrl(loc: Pick<Location, 'protocol' | 'host'> = location): string {
	return `${loc.protocol === 'https:' ? 'wss:' : 'ws:'}//${loc.host}${WS_PATH}`;
}

export class RealtimeConnection {
	#state = $state<ConnectionState>('connecting');
	#offlineReason = $state<OfflineReason | null>(null);
	#attempt = $state(0);
	#nextRetryAt = $state<number | null>(null);
	#now = $state(0);
	#lastClose = $state.raw<CloseInfo | null>(null);
	#clientId = $state<string | null>(null);
	#hasConnected = $state(false);

	readonly #options: Required<Omit<ConnectionOptions, 'url' | 'target' | 'backoff'>> & {
		url?: string;
		target?: EventTarget;
	};
	readonly #backoff: Backoff;
	#socket: WebSocketLike | null = null;
	#epoch: string | null = null;
	#seq = 0;
	#heartbeatMs = DEFAULT_HEARTBEAT_INTERVAL_MS;
	#started = false;
	#destroyed = false;

	#retryTimer: ReturnType<typeof setTimeout> | null = null;
	#welcomeTimer: ReturnType<typeof setTimeout> | null = null;
	#stableTimer: ReturnType<typeof setTimeout> | null = null;
	#heartbeatTimer: ReturnType<typeof setInterval> | null = null;
	#tickTimer: ReturnType<typeof setInterval> | null = null;

	// eslint-disable-next-line svelte/prefer-svelte-reactivity -- bookkeeping, never rendered
	readonly #subscriptions = new Map<string, EventFilter>();
	readonly #events = new Emitter<[AnyEventEnvelope]>();
	readonly #controls = new Emitter<[AnyControlMessage]>();
	readonly #resyncs = new Emitter<[ResyncReason]>();
	readonly #states = new Emitter<[ConnectionState, ConnectionState]>();

	constructor(options: ConnectionOptions = {}) {
		const { backoff, ...rest } = options;
		this.#options = {
			createSocket: (url) => new WebSocket(url) as unknown as WebSocketLike,
			stableAfterMs: DEFAULT_STABLE_AFTER_MS,
			welcomeTimeoutMs: DEFAULT_WELCOME_TIMEOUT_MS,
			isOnline: () => typeof navigator === 'undefined' || navigator.onLine !== false,
			now: () => Date.now(),
			...rest
		};
		this.#backoff = new Backoff(backoff);
	}

	// ---------- state for components ----------

	get state(): ConnectionState {
		return this.#state;
	}
	get offlineReason(): OfflineReason | null {
		return this.#offlineReason;
	}
	/** reconnect attempts since the last good connection */
	get attempt(): number {
		return this.#attempt;
	}
	get maxAttempts(): number {
		return this.#backoff.maxAttempts;
	}
	/** when the next attempt starts (epoch ms), while one is scheduled */
	get nextRetryAt(): number | null {
		return this.#nextRetryAt;
	}
	/** whole seconds until the next attempt (rounded up), while one is scheduled */
	get secondsUntilRetry(): number | null {
		if (this.#nextRetryAt === null) return null;
		return Math.max(0, Math.ceil((this.#nextRetryAt - this.#now) / 1000));
	}
	get lastClose(): CloseInfo | null {
		return this.#lastClose;
	}
	get clientId(): string | null {
		return this.#clientId;
	}
	/** whether a welcome ever arrived (so later connects are REconnects) */
	get hasConnected(): boolean {
		return this.#hasConnected;
	}
	get epoch(): string | null {
		return this.#epoch;
	}
	/** the newest event seq seen */
	get seq(): number {
		return this.#seq;
	}

	// ---------- actions ----------

	/** Opens the socket (once); later calls do nothing. Call from onMount: browsers only. */
	connect(): void {
		if (this.#started || this.#destroyed) return;
		this.#started = true;
		const target = this.#target();
		target?.addEventListener('online', this.#onOnline);
		target?.addEventListener('offline', this.#onOffline);
		if (!this.#options.isOnline()) this.#goOffline('network');
		else this.#open();
	}

	/** Skips the wait (and starts over after giving up or a terminal close). */
	retryNow(): void {
		if (!this.#started || this.#destroyed || this.#socket) return;
		if (this.#backoff.exhausted || this.#offlineReason === 'closed') this.#backoff.reset();
		this.#open();
	}

	/** Adds or replaces a subscription; it is re-sent after every reconnect. */
	subscribe(sub: string, filter: EventFilter = {}): void {
		this.#subscriptions.set(sub, filter);
		if (this.#state === 'connected') this.#send({ type: 'subscribe', sub, filter });
	}

	unsubscribe(sub: string): void {
		if (!this.#subscriptions.delete(sub)) return;
		if (this.#state === 'connected') this.#send({ type: 'unsubscribe', sub });
	}

	/** Every event (batches unpacked). Returns the function that removes the handler. */
	onEvent(handler: EventHandler): () => void {
		return this.#events.add(handler);
	}

	/** Control messages of one type (`welcome`, `dropped`, `error`, …). */
	onControl<T extends ControlType>(type: T, handler: ControlHandler<T>): () => void {
		return this.#controls.add((message) => {
			if (message.type === type) handler(message.data as ControlDataMap[T], message as ControlMessage<T>);
		});
	}

	/** Called after a REconnect (not the first connect) and on `reset`: reload what may be missed. */
	onReconnected(handler: ResyncHandler): () => void {
		return this.#resyncs.add(handler);
	}

	onStateChange(handler: StateHandler): () => void {
		return this.#states.add(handler);
	}

	/** Closes the socket, stops every timer and listener; the instance is done. Idempotent. */
	destroy(): void {
		if (this.#destroyed) return;
		this.#destroyed = true;
		const target = this.#target();
		target?.removeEventListener('online', this.#onOnline);
		target?.removeEventListener('offline', this.#onOffline);
		this.#clearRetry();
		this.#clearSessionTimers();
		this.#detach(1000, 'client closed');
		this.#setState('offline', 'destroyed');
		this.#events.clear();
		this.#controls.clear();
		this.#resyncs.clear();
		this.#states.clear();
	}

	// ---------- socket lifecycle ----------

	#target(): EventTarget | undefined {
		return this.#options.target ?? (typeof window === 'undefined' ? undefined : window);
	}

	#open(): void {
		this.#clearRetry();
		this.#setState(this.#hasConnected ? 'reconnecting' : 'connecting', null);
		let socket: WebSocketLike;
		try {
			socket = this.#options.createSocket(this.#options.url ?? defaultHubUrl());
		} catch (err) {
			console.error('aco: could not open the WebSocket', err);
			this.#handleClose(1006, 'could not open the socket');
			return;
		}
		this.#socket = socket;
		socket.onopen = () => {
			if (socket !== this.#socket) return;
			this.#welcomeTimer = setTimeout(
				() => this.#drop(CLIENT_DROP_CODE, 'no welcome from the server'),
				this.#options.welcomeTimeoutMs
			);
		};
		socket.onmessage = (ev) => {
			if (socket === this.#socket && typeof ev.data === 'string') this.#onMessage(ev.data);
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
		this.#clearSessionTimers();
		this.#lastClose = { code, reason };
		if (this.#destroyed) return;
		if (!shouldReconnect(code)) this.#goOffline('closed');
		else if (!this.#options.isOnline()) this.#goOffline('network');
		else this.#scheduleRetry();
	}

	#scheduleRetry(): void {
		const delay = this.#backoff.next();
		if (delay === null) {
			this.#goOffline('gave_up');
			return;
		}
		this.#attempt = this.#backoff.attempt;
		this.#now = this.#options.now();
		this.#nextRetryAt = this.#now + delay;
		this.#setState('reconnecting', null);
		this.#retryTimer = setTimeout(() => {
			this.#retryTimer = null;
			this.#open();
		}, delay);
		this.#tickTimer = setInterval(() => (this.#now = this.#options.now()), COUNTDOWN_TICK_MS);
	}

	#goOffline(reason: OfflineReason): void {
		this.#clearRetry();
		this.#setState('offline', reason);
	}

	#clearRetry(): void {
		if (this.#retryTimer) clearTimeout(this.#retryTimer);
		if (this.#tickTimer) clearInterval(this.#tickTimer);
		this.#retryTimer = this.#tickTimer = null;
		this.#nextRetryAt = null;
	}

	#clearSessionTimers(): void {
		if (this.#welcomeTimer) clearTimeout(this.#welcomeTimer);
		if (this.#stableTimer) clearTimeout(this.#stableTimer);
		if (this.#heartbeatTimer) clearInterval(this.#heartbeatTimer);
		this.#welcomeTimer = this.#stableTimer = this.#heartbeatTimer = null;
	}

	#setState(state: ConnectionState, offlineReason: OfflineReason | null): void {
		const previous = this.#state;
		this.#offlineReason = offlineReason;
		if (previous === state) return;
		this.#state = state;
		this.#states.emit(state, previous);
	}

	readonly #onOnline = () => {
		if (this.#destroyed || this.#socket) return;
		this.#backoff.reset();
		this.#open();
	};

	// The browser knows before a TCP timeout would: stop retrying into the void and wait for `online`.
	readonly #onOffline = () => {
		if (this.#destroyed) return;
		this.#detach(1000, 'browser went offline');
		this.#clearSessionTimers();
		this.#goOffline('network');
	};

	// ---------- messages ----------

	#send(message: ClientMessage): boolean {
		const socket = this.#socket;
		if (!socket || socket.readyState !== WS_OPEN) return false;
		socket.send(JSON.stringify(message));
		return true;
	}

	#onMessage(raw: string): void {
		let message: ServerMessage;
		try {
			message = JSON.parse(raw) as ServerMessage;
		} catch {
			console.error('aco: ignored a frame that is not JSON');
			return;
		}
		if (message.type === 'batch') {
			for (const event of (message as { events: AnyEventEnvelope[] }).events ?? []) this.#onEvent(event);
		} else if (isEventEnvelope(message)) {
			this.#onEvent(message);
		} else {
			this.#onControlMessage(message as AnyControlMessage);
		}
	}

	#onEvent(event: AnyEventEnvelope): void {
		// a replay after `resume` may repeat what this client already saw
		if (this.#seq > 0 && event.seq <= this.#seq) return;
		this.#seq = event.seq;
		this.#events.emit(event);
	}

	#onControlMessage(message: AnyControlMessage): void {
		if (message.type === 'welcome') this.#onWelcome(message.data);
		else if (message.type === 'reset') {
			this.#epoch = message.data.epoch;
			this.#seq = message.data.seq;
			this.#emitResync('reset');
		}
		this.#controls.emit(message);
	}

	#onWelcome(data: WelcomeData): void {
		if (this.#welcomeTimer) clearTimeout(this.#welcomeTimer);
		this.#welcomeTimer = null;
		const isReconnect = this.#hasConnected;
		const sameHistory = this.#epoch === data.epoch && this.#seq > 0;
		this.#clientId = data.client_id;
		this.#heartbeatMs =
			data.heartbeat_interval_ms > 0 ? data.heartbeat_interval_ms : DEFAULT_HEARTBEAT_INTERVAL_MS;

		for (const [sub, filter] of this.#subscriptions) this.#send({ type: 'subscribe', sub, filter });
		if (isReconnect && sameHistory) this.#send({ type: 'resume', epoch: data.epoch, seq: this.#seq });
		else {
			this.#epoch = data.epoch;
			this.#seq = data.seq;
		}

		this.#heartbeatTimer = setInterval(() => this.#heartbeat(), this.#heartbeatMs);
		this.#stableTimer = setTimeout(() => {
			this.#stableTimer = null;
			this.#backoff.reset();
			this.#attempt = 0;
		}, this.#options.stableAfterMs);
		this.#hasConnected = true;
		this.#clearRetry();
		this.#setState('connected', null);
		if (isReconnect) this.#emitResync('reconnect');
	}

	#heartbeat(): void {
		// eslint-disable-next-line svelte/prefer-svelte-reactivity -- a one-off timestamp, not state
		const timestamp = new Date(this.#options.now()).toISOString();
		this.#send({ type: 'connection.heartbeat', timestamp });
	}

	#emitResync(reason: ResyncReason): void {
		this.#resyncs.emit(reason);
	}
}
