/**
 * @module realtime/connection
 * The browser's one WebSocket to the hub: connects, says hello with heartbeats, remembers
 * subscriptions and re-sends them after every reconnect, then asks the hub to `resume` from the
 * last seq seen. A clean `resumed` replays the gap and needs nothing else; `reset` (the gap could
 * not be replayed) and `dropped` (backpressure dropped low-priority events) make stores reload
 * over REST, and the indicator says `resyncing` until they have. Components read its getters;
 * nothing else touches the socket.
 *
 * This module speaks the protocol; keeping the socket open is reconnecting-socket's job, the
 * position in the event stream is stream-position's, and ordering a replay is resume-gate's.
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
	ConnectionStatus,
	ControlHandler,
	EventHandler,
	OfflineReason,
	ResyncedHandler,
	ResyncHandler,
	ResyncInfo,
	ResyncReason,
	StateHandler
} from './connection-types';
import { Emitter } from './emitter';
import {
	DEFAULT_STABLE_AFTER_MS,
	DEFAULT_WELCOME_TIMEOUT_MS,
	ReconnectingSocket
} from './reconnecting-socket.svelte';
import { DEFAULT_RESUME_TIMEOUT_MS, ResumeGate } from './resume-gate';
import { decodeFrame, StreamPosition } from './stream-position';

export type * from './connection-types';
export { DEFAULT_RESUME_TIMEOUT_MS } from './resume-gate';
export { DEFAULT_SLOW_DOWN_DELAY_MS } from './close-policy';
export {
	DEFAULT_STABLE_AFTER_MS,
	DEFAULT_WELCOME_TIMEOUT_MS,
	defaultHubUrl
} from './reconnecting-socket.svelte';

export class RealtimeConnection {
	#clientId = $state<string | null>(null);
	/** a resume is waiting for its answer */
	#resuming = $state(false);
	/** resyncs whose reloads have not all settled */
	#reloading = $state(0);

	readonly #socket: ReconnectingSocket;
	readonly #position = new StreamPosition();
	readonly #gate = new ResumeGate();
	readonly #now: () => number;
	readonly #resumeTimeoutMs: number;
	#destroyed = false;
	// eslint-disable-next-line svelte/prefer-svelte-reactivity -- bookkeeping, never rendered
	readonly #subscriptions = new Map<string, EventFilter>();
	// subscriptions made before the first connect, until the hub confirms them
	// eslint-disable-next-line svelte/prefer-svelte-reactivity -- bookkeeping, never rendered
	readonly #unconfirmed = new Set<string>();
	readonly #events = new Emitter<[AnyEventEnvelope]>();
	readonly #controls = new Emitter<[AnyControlMessage]>();
	readonly #resyncs = new Emitter<[ResyncReason], unknown>();
	readonly #resynced = new Emitter<[ResyncInfo]>();
	readonly #states = new Emitter<[ConnectionState, ConnectionState]>();

	constructor(options: ConnectionOptions = {}) {
		this.#now = options.now ?? (() => Date.now());
		this.#resumeTimeoutMs = options.resumeTimeoutMs ?? DEFAULT_RESUME_TIMEOUT_MS;
		this.#socket = new ReconnectingSocket(
			{
				stableAfterMs: DEFAULT_STABLE_AFTER_MS,
				welcomeTimeoutMs: DEFAULT_WELCOME_TIMEOUT_MS,
				...options,
				now: this.#now
			},
			{
				onText: (raw) => this.#onMessage(raw),
				onStateChange: (state, previous) => this.#onStateChange(state, previous)
			}
		);
	}

	// ---------- state for components ----------

	get state(): ConnectionState {
		return this.#socket.state;
	}
	/** what the indicator shows: the socket's state, with `connected` split into `live` and `resyncing` */
	get status(): ConnectionStatus {
		const state = this.#socket.state;
		if (state !== 'connected') return state;
		return this.#resuming || this.#reloading > 0 ? 'resyncing' : 'live';
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
	 * Called when what a store loaded may be stale: on `reset`, on `dropped`, after a reconnect
	 * the hub did not answer a resume for, and once the subscriptions made before the first
	 * connect are confirmed (a page loads before the socket is up, so nothing reached it in
	 * between). Not after a clean `resumed`: the replay brought everything. The handler may
	 * return its reload's promise; the indicator shows `resyncing` until it settles.
	 */
	onReconnected(handler: ResyncHandler): () => void {
		return this.#resyncs.add(handler);
	}

	/** Called once per resync when every reload it asked for has settled (toasts "reloaded"). */
	onResynced(handler: ResyncedHandler): () => void {
		return this.#resynced.add(handler);
	}

	onStateChange(handler: StateHandler): () => void {
		return this.#states.add(handler);
	}

	/** Closes the socket, stops every timer and listener; the instance is done. Idempotent. */
	destroy(): void {
		// the socket reports its last state ('offline', 'destroyed') before the handlers go
		this.#socket.destroy();
		this.#destroyed = true;
		this.#gate.discard();
		this.#events.clear();
		this.#controls.clear();
		this.#resyncs.clear();
		this.#resynced.clear();
		this.#states.clear();
	}

	// ---------- messages ----------

	#onMessage(raw: string): void {
		const frame = decodeFrame(raw);
		if (!frame) {
			console.error('aco: ignored a frame that is not JSON');
			return;
		}
		for (const event of frame.events) if (!this.#gate.hold(event)) this.#deliver(event);
		if (frame.control) this.#onControl(frame.control);
	}

	#deliver(event: AnyEventEnvelope): void {
		if (this.#position.advance(event)) this.#events.emit(event);
	}

	#onControl(message: AnyControlMessage): void {
		switch (message.type) {
			case 'welcome':
				this.#onWelcome(message.data);
				break;
			case 'subscribed':
				if (this.#unconfirmed.delete(message.data.id) && this.#unconfirmed.size === 0) {
					this.#resync('subscribed');
				}
				break;
			case 'resumed':
				this.#endResume();
				break;
			case 'reset':
				// what arrived meanwhile is newer than the gap: apply it, then take the server's position
				this.#endResume();
				this.#position.moveTo(message.data.epoch, message.data.seq);
				this.#resync('reset', message.data.missed);
				break;
			case 'dropped':
				this.#resync('dropped');
				break;
			case 'error':
				// the hub refused the resume itself: reload rather than wait for the timeout
				if (message.data.ref !== undefined && message.data.ref === this.#gate.ref) {
					this.#endResume();
					this.#resync('reconnect');
				}
				break;
		}
		this.#controls.emit(message);
	}

	#onWelcome(data: WelcomeData): void {
		const isReconnect = this.#socket.hasConnected;
		const resumeFrom = this.#position.welcome(data, isReconnect);
		this.#clientId = data.client_id;
		// subscriptions first: the hub replays what matches the subscriptions it holds
		for (const [sub, filter] of this.#subscriptions) {
			if (!isReconnect) this.#unconfirmed.add(sub);
			this.#socket.send({ type: 'subscribe', sub, filter });
		}
		if (resumeFrom) {
			const id = this.#gate.open(this.#resumeTimeoutMs, () => {
				console.error('aco: the hub did not answer resume; reloading instead');
				this.#endResume();
				this.#resync('reconnect');
			});
			this.#resuming = true;
			this.#socket.send({ type: 'resume', ...resumeFrom, id });
		}
		const heartbeatMs =
			data.heartbeat_interval_ms > 0 ? data.heartbeat_interval_ms : DEFAULT_HEARTBEAT_INTERVAL_MS;
		this.#socket.established(heartbeatMs, () => this.#heartbeat());
		if (isReconnect && !resumeFrom) this.#resync('reconnect');
	}

	/** The resume was answered (or given up on): apply what the gate held, in seq order. */
	#endResume(): void {
		this.#resuming = false;
		for (const event of this.#gate.release()) this.#deliver(event);
	}

	#resync(reason: ResyncReason, missed: number | null = null): void {
		// the first connect's reload is the page loading, not a resync worth showing
		const shown = reason !== 'subscribed';
		if (shown) this.#reloading++;
		const reloads = this.#resyncs.emit(reason);
		void Promise.allSettled(reloads).then(() => {
			if (shown) this.#reloading--;
			if (!this.#destroyed) this.#resynced.emit({ reason, missed });
		});
	}

	#onStateChange(state: ConnectionState, previous: ConnectionState): void {
		// the socket went before the resume was answered: the next one asks again from the same seq
		if (state !== 'connected' && this.#gate.pending) {
			this.#gate.discard();
			this.#resuming = false;
		}
		this.#states.emit(state, previous);
	}

	#heartbeat(): void {
		// eslint-disable-next-line svelte/prefer-svelte-reactivity -- a one-off timestamp, not state
		const timestamp = new Date(this.#now()).toISOString();
		this.#socket.send({ type: 'connection.heartbeat', timestamp });
	}
}
