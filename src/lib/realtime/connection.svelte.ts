/**
 * @module realtime/connection
 * The browser's one WebSocket to the hub: connects, says hello with heartbeats, remembers
 * subscriptions and re-sends them after every reconnect, reconnects with full-jitter backoff
 * unless the close code forbids it, and tells stores when they may have missed something so
 * they reload over REST. Components read its getters; nothing else touches the socket.
 *
 * This module speaks the protocol; keeping the socket open is reconnecting-socket's job,
 * and the position in the event stream is stream-position's.
 */
import {
	DEFAULT_HEARTBEAT_INTERVAL_MS,
	type AnyControlMessage,
	type AnyEventEnvelope,
	type ControlDataMap,
	type ControlMessage,
	type ControlType,
	type EventFilter,
	type WelcomeData
} from '$lib/protocol';
import type {
	CloseInfo,
	ConnectionOptions,
	ConnectionState,
	ControlHandler,
	EventHandler,
	OfflineReason,
	ResyncHandler,
	ResyncReason,
	StateHandler
} from './connection-types';
import { Emitter } from './emitter';
import {
	DEFAULT_STABLE_AFTER_MS,
	DEFAULT_WELCOME_TIMEOUT_MS,
	ReconnectingSocket
} from './reconnecting-socket.svelte';
import { decodeFrame, StreamPosition } from './stream-position';

export type * from './connection-types';
export {
	DEFAULT_STABLE_AFTER_MS,
	DEFAULT_WELCOME_TIMEOUT_MS,
	defaultHubUrl
} from './reconnecting-socket.svelte';

export class RealtimeConnection {
	#clientId = $state<string | null>(null);

	readonly #socket: ReconnectingSocket;
	readonly #position = new StreamPosition();
	readonly #now: () => number;
	// eslint-disable-next-line svelte/prefer-svelte-reactivity -- bookkeeping, never rendered
	readonly #subscriptions = new Map<string, EventFilter>();
	// subscriptions made before the first connect, until the hub confirms them
	// eslint-disable-next-line svelte/prefer-svelte-reactivity -- bookkeeping, never rendered
	readonly #unconfirmed = new Set<string>();
	readonly #events = new Emitter<[AnyEventEnvelope]>();
	readonly #controls = new Emitter<[AnyControlMessage]>();
	readonly #resyncs = new Emitter<[ResyncReason]>();
	readonly #states = new Emitter<[ConnectionState, ConnectionState]>();

	constructor(options: ConnectionOptions = {}) {
		this.#now = options.now ?? (() => Date.now());
		this.#socket = new ReconnectingSocket(
			{
				stableAfterMs: DEFAULT_STABLE_AFTER_MS,
				welcomeTimeoutMs: DEFAULT_WELCOME_TIMEOUT_MS,
				...options,
				now: this.#now
			},
			{
				onText: (raw) => this.#onMessage(raw),
				onStateChange: (state, previous) => this.#states.emit(state, previous)
			}
		);
	}

	// ---------- state for components ----------

	get state(): ConnectionState {
		return this.#socket.state;
	}
	get offlineReason(): OfflineReason | null {
		return this.#socket.offlineReason;
	}
	/** reconnect attempts since the last good connection */
	get attempt(): number {
		return this.#socket.attempt;
	}
	get maxAttempts(): number {
		return this.#socket.maxAttempts;
	}
	/** when the next attempt starts (epoch ms), while one is scheduled */
	get nextRetryAt(): number | null {
		return this.#socket.nextRetryAt;
	}
	/** whole seconds until the next attempt (rounded up), while one is scheduled */
	get secondsUntilRetry(): number | null {
		return this.#socket.secondsUntilRetry;
	}
	get lastClose(): CloseInfo | null {
		return this.#socket.lastClose;
	}
	get clientId(): string | null {
		return this.#clientId;
	}
	/** whether a welcome ever arrived (so later connects are REconnects) */
	get hasConnected(): boolean {
		return this.#socket.hasConnected;
	}
	get epoch(): string | null {
		return this.#position.epoch;
	}
	/** the newest event seq seen */
	get seq(): number {
		return this.#position.seq;
	}

	// ---------- actions ----------

	/** Opens the socket (once); later calls do nothing. Call from onMount: browsers only. */
	connect(): void {
		this.#socket.connect();
	}

	/** Skips the wait (and starts over after giving up or a terminal close). */
	retryNow(): void {
		this.#socket.retryNow();
	}

	/** Adds or replaces a subscription; it is re-sent after every reconnect. */
	subscribe(sub: string, filter: EventFilter = {}): void {
		this.#subscriptions.set(sub, filter);
		if (this.state === 'connected') this.#socket.send({ type: 'subscribe', sub, filter });
	}

	unsubscribe(sub: string): void {
		if (!this.#subscriptions.delete(sub)) return;
		if (this.#unconfirmed.delete(sub) && this.#unconfirmed.size === 0) this.#resyncs.emit('subscribed');
		if (this.state === 'connected') this.#socket.send({ type: 'unsubscribe', sub });
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

	/**
	 * Called when what a store loaded may be stale: after a REconnect, on `reset`, and once the
	 * subscriptions made before the first connect are confirmed (a page loads before the socket
	 * is up, so nothing reached it in between).
	 */
	onReconnected(handler: ResyncHandler): () => void {
		return this.#resyncs.add(handler);
	}

	onStateChange(handler: StateHandler): () => void {
		return this.#states.add(handler);
	}

	/** Closes the socket, stops every timer and listener; the instance is done. Idempotent. */
	destroy(): void {
		// the socket reports its last state ('offline', 'destroyed') before the handlers go
		this.#socket.destroy();
		this.#events.clear();
		this.#controls.clear();
		this.#resyncs.clear();
		this.#states.clear();
	}

	// ---------- messages ----------

	#onMessage(raw: string): void {
		const frame = decodeFrame(raw);
		if (!frame) {
			console.error('aco: ignored a frame that is not JSON');
			return;
		}
		for (const event of frame.events) if (this.#position.advance(event)) this.#events.emit(event);
		if (frame.control) this.#onControl(frame.control);
	}

	#onControl(message: AnyControlMessage): void {
		if (message.type === 'welcome') this.#onWelcome(message.data);
		else if (message.type === 'subscribed') {
			if (this.#unconfirmed.delete(message.data.id) && this.#unconfirmed.size === 0) {
				this.#resyncs.emit('subscribed');
			}
		} else if (message.type === 'reset') {
			this.#position.moveTo(message.data.epoch, message.data.seq);
			this.#resyncs.emit('reset');
		}
		this.#controls.emit(message);
	}

	#onWelcome(data: WelcomeData): void {
		const isReconnect = this.#socket.hasConnected;
		const resumeFrom = this.#position.welcome(data, isReconnect);
		this.#clientId = data.client_id;
		for (const [sub, filter] of this.#subscriptions) {
			if (!isReconnect) this.#unconfirmed.add(sub);
			this.#socket.send({ type: 'subscribe', sub, filter });
		}
		if (resumeFrom) this.#socket.send({ type: 'resume', ...resumeFrom });
		const heartbeatMs =
			data.heartbeat_interval_ms > 0 ? data.heartbeat_interval_ms : DEFAULT_HEARTBEAT_INTERVAL_MS;
		this.#socket.established(heartbeatMs, () => this.#heartbeat());
		if (isReconnect) this.#resyncs.emit('reconnect');
	}

	#heartbeat(): void {
		// eslint-disable-next-line svelte/prefer-svelte-reactivity -- a one-off timestamp, not state
		const timestamp = new Date(this.#now()).toISOString();
		this.#socket.send({ type: 'connection.heartbeat', timestamp });
	}
}
