/**
 * @module cli/realtime/client
 * The terminal's one WebSocket to the hub (the Node counterpart of the browser's
 * RealtimeConnection): connects, re-sends its subscriptions and asks to `resume` from the last
 * seq after every reconnect, beats at the interval the welcome names, reconnects with
 * full-jitter backoff unless the close code forbids it, unpacks batches, and tells its owner
 * when what it loaded over REST may be stale (`onResync`), so the owner reloads a snapshot.
 *
 * The pure parts are shared with the browser: backoff, stream position, session timers.
 */
import { DEFAULT_HEARTBEAT_INTERVAL_MS } from '../../lib/protocol/limits';
import { CLOSE_CODES, shouldReconnect } from '../../lib/protocol/close-codes';
import type {
	AnyControlMessage,
	AnyEventEnvelope,
	EventFilter,
	WelcomeData
} from '../../lib/protocol/messages';
import { Backoff, type BackoffOptions } from '../../lib/realtime/backoff';
import { Emitter } from '../../lib/realtime/emitter';
import { SessionTimers } from '../../lib/realtime/session-timers';
import { decodeFrame, StreamPosition } from '../../lib/realtime/stream-position';
import { createWsSocket, hubUrl, WS_OPEN, type SocketFactory, type SocketLike } from './socket';

export const DEFAULT_WELCOME_TIMEOUT_MS = 10_000;
/** A connection that stayed up this long counts as good: the backoff starts over. */
export const DEFAULT_STABLE_AFTER_MS = 5_000;
/** Terminal clients retry sooner than browsers: a person is watching the screen. */
export const DEFAULT_CLI_BACKOFF: BackoffOptions = { baseMs: 250, capMs: 10_000 };
/** Close code this client uses when it drops a silent socket itself (4000–4499: reconnect). */
const CLIENT_DROP_CODE = 4000;

export type ClientState = 'connecting' | 'connected' | 'reconnecting' | 'offline';
/** why the state is 'offline': the server said stop, the attempts ran out, or destroy() */
export type OfflineReason = 'closed' | 'gave_up' | 'destroyed';
/**
 * Why the owner should reload what it shows: the first subscriptions are live (`subscribed`),
 * a reconnect's subscriptions are live again (`reconnect`), the server could not replay a gap
 * (`reset`), or it dropped events under backpressure (`dropped`).
 */
export type ResyncReason = 'subscribed' | 'reconnect' | 'reset' | 'dropped';

export interface CloseInfo {
	code: number;
	reason: string;
	/** what the close code means, from the shared table */
	description: string;
}

export interface RealtimeClientOptions {
	/** the server's address (http://host:port) or the hub's (ws://host:port/ws) */
	url: string;
	token?: string;
	createSocket?: SocketFactory;
	backoff?: BackoffOptions;
	welcomeTimeoutMs?: number;
	stableAfterMs?: number;
	now?: () => number;
}

export class RealtimeClient {
	readonly url: string;
	readonly #options: Required<Omit<RealtimeClientOptions, 'token' | 'createSocket' | 'backoff'>>;
	readonly #createSocket: SocketFactory;
	readonly #backoff: Backoff;
	readonly #timers = new SessionTimers();
	readonly #position = new StreamPosition();
	readonly #subscriptions = new Map<string, EventFilter>();
	/** subscriptions sent on this connection that the hub has not confirmed yet */
	readonly #unconfirmed = new Set<string>();
	readonly #events = new Emitter<[AnyEventEnvelope]>();
	readonly #controls = new Emitter<[AnyControlMessage]>();
	readonly #resyncs = new Emitter<[ResyncReason]>();
	readonly #states = new Emitter<[ClientState, ClientState]>();

	#state: ClientState = 'connecting';
	#offlineReason: OfflineReason | null = null;
	#lastClose: CloseInfo | null = null;
	#socket: SocketLike | null = null;
	#retryTimer: ReturnType<typeof setTimeout> | null = null;
	#nextRetryAt: number | null = null;
	#hasConnected = false;
	/** the resync to announce once this connection's subscriptions are confirmed */
	#pendingResync: ResyncReason | null = null;
	#started = false;
	#destroyed = false;

	constructor(options: RealtimeClientOptions) {
		this.url = hubUrl(options.url);
		this.#options = {
			url: this.url,
			welcomeTimeoutMs: DEFAULT_WELCOME_TIMEOUT_MS,
			stableAfterMs: DEFAULT_STABLE_AFTER_MS,
			now: () => Date.now(),
			...stripUndefined({ welcomeTimeoutMs: options.welcomeTimeoutMs, stableAfterMs: options.stableAfterMs }),
			...(options.now ? { now: options.now } : {})
		};
		this.#createSocket = options.createSocket ?? ((url) => createWsSocket(url, options.token));
		this.#backoff = new Backoff({ ...DEFAULT_CLI_BACKOFF, ...options.backoff });
	}

	// ---------- state ----------

	get state(): ClientState {
		return this.#state;
	}
	get offlineReason(): OfflineReason | null {
		return this.#offlineReason;
	}
	get lastClose(): CloseInfo | null {
		return this.#lastClose;
	}
	/** reconnect attempts since the last good connection */
	get attempt(): number {
		return this.#backoff.attempt;
	}
	get hasConnected(): boolean {
		return this.#hasConnected;
	}
	/** whole seconds until the next attempt (rounded up), while one is scheduled */
	get secondsUntilRetry(): number | null {
		if (this.#nextRetryAt === null) return null;
		return Math.max(0, Math.ceil((this.#nextRetryAt - this.#options.now()) / 1000));
	}
	get epoch(): string | null {
		return this.#position.epoch;
	}
	get seq(): number {
		return this.#position.seq;
	}

	// ---------- actions ----------

	/** Opens the socket (once); later calls do nothing. */
	connect(): void {
		if (this.#started || this.#destroyed) return;
		this.#started = true;
		this.#open();
	}

	/** Adds or replaces a subscription; it is re-sent after every reconnect. */
	subscribe(sub: string, filter: EventFilter = {}): void {
		this.#subscriptions.set(sub, filter);
		if (this.#state === 'connected') this.#send({ type: 'subscribe', sub, filter });
	}

	unsubscribe(sub: string): void {
		if (!this.#subscriptions.delete(sub)) return;
		this.#confirm(sub);
		if (this.#state === 'connected') this.#send({ type: 'unsubscribe', sub });
	}

	/** Every event, batches unpacked, replays de-duplicated. Returns the function that removes it. */
	onEvent(handler: (event: AnyEventEnvelope) => void): () => void {
		return this.#events.add(handler);
	}
	onControl(handler: (message: AnyControlMessage) => void): () => void {
		return this.#controls.add(handler);
	}
	/** Called when what the owner loaded may be stale; see {@link ResyncReason}. */
	onResync(handler: (reason: ResyncReason) => void): () => void {
		return this.#resyncs.add(handler);
	}
	onStateChange(handler: (state: ClientState, previous: ClientState) => void): () => void {
		return this.#states.add(handler);
	}

	/** Closes the socket and stops every timer; the instance is done. Idempotent. */
	destroy(): void {
		if (this.#destroyed) return;
		this.#destroyed = true;
		this.#cancelRetry();
		this.#timers.clear();
		this.#detach(1000, 'client closed');
		this.#setState('offline', 'destroyed');
		this.#events.clear();
		this.#controls.clear();
		this.#resyncs.clear();
		this.#states.clear();
	}

	// ---------- socket ----------

	#open(): void {
		this.#cancelRetry();
		this.#setState(this.#hasConnected ? 'reconnecting' : 'connecting', null);
		let socket: SocketLike;
		try {
			socket = this.#createSocket(this.url);
		} catch (err) {
			this.#handleClose(1006, err instanceof Error ? err.message : String(err));
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
			if (socket === this.#socket && typeof ev.data === 'string') this.#onText(ev.data);
		};
		socket.onclose = (ev) => {
			if (socket !== this.#socket) return;
			this.#socket = null;
			this.#handleClose(ev.code, ev.reason);
		};
		socket.onerror = () => {};
	}

	#send(message: object): boolean {
		const socket = this.#socket;
		if (!socket || socket.readyState !== WS_OPEN) return false;
		socket.send(JSON.stringify(message));
		return true;
	}

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
			// a socket that never opened may refuse to close; it is gone either way
		}
	}

	#handleClose(code: number, reason: string): void {
		this.#timers.clear();
		this.#unconfirmed.clear();
		this.#pendingResync = null;
		this.#lastClose = {
			code,
			reason,
			description: CLOSE_CODES[code]?.description ?? 'The connection closed.'
		};
		if (this.#destroyed) return;
		if (!shouldReconnect(code)) return this.#setState('offline', 'closed');
		const delay = this.#backoff.next();
		if (delay === null) return this.#setState('offline', 'gave_up');
		this.#nextRetryAt = this.#options.now() + delay;
		this.#retryTimer = setTimeout(() => {
			this.#retryTimer = null;
			this.#open();
		}, delay);
		this.#setState('reconnecting', null);
	}

	#cancelRetry(): void {
		if (this.#retryTimer) clearTimeout(this.#retryTimer);
		this.#retryTimer = null;
		this.#nextRetryAt = null;
	}

	#setState(state: ClientState, offlineReason: OfflineReason | null): void {
		const previous = this.#state;
		this.#offlineReason = offlineReason;
		if (previous === state) return;
		this.#state = state;
		this.#states.emit(state, previous);
	}

	// ---------- protocol ----------

	#onText(raw: string): void {
		const frame = decodeFrame(raw);
		if (!frame) return;
		for (const event of frame.events) if (this.#position.advance(event)) this.#events.emit(event);
		if (!frame.control) return;
		const message = frame.control;
		if (message.type === 'welcome') this.#onWelcome(message.data);
		else if (message.type === 'subscribed') this.#confirm(message.data.id);
		else if (message.type === 'reset') {
			this.#position.moveTo(message.data.epoch, message.data.seq);
			this.#resyncs.emit('reset');
		} else if (message.type === 'dropped') this.#resyncs.emit('dropped');
		this.#controls.emit(message);
	}

	#onWelcome(data: WelcomeData): void {
		const isReconnect = this.#hasConnected;
		const resumeFrom = this.#position.welcome(data, isReconnect);
		this.#hasConnected = true;
		this.#cancelRetry();
		for (const [sub, filter] of this.#subscriptions) {
			this.#unconfirmed.add(sub);
			this.#send({ type: 'subscribe', sub, filter });
		}
		// after the subscriptions, so the replay is filtered by them
		if (resumeFrom) this.#send({ type: 'resume', ...resumeFrom });
		const heartbeatMs =
			data.heartbeat_interval_ms > 0 ? data.heartbeat_interval_ms : DEFAULT_HEARTBEAT_INTERVAL_MS;
		this.#timers.welcomed({
			heartbeatMs,
			beat: () =>
				this.#send({ type: 'connection.heartbeat', timestamp: new Date(this.#options.now()).toISOString() }),
			stableAfterMs: this.#options.stableAfterMs,
			onStable: () => this.#backoff.reset()
		});
		this.#pendingResync = isReconnect ? 'reconnect' : 'subscribed';
		this.#setState('connected', null);
		if (this.#unconfirmed.size === 0) this.#flushResync();
	}

	#confirm(sub: string): void {
		if (this.#unconfirmed.delete(sub) && this.#unconfirmed.size === 0) this.#flushResync();
	}

	#flushResync(): void {
		const reason = this.#pendingResync;
		this.#pendingResync = null;
		if (reason) this.#resyncs.emit(reason);
	}
}

function stripUndefined<T extends object>(value: T): Partial<T> {
	return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
