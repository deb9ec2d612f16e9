/**
 * @module realtime/connection-core
 * The socket lifecycle both clients share, the browser (connection.svelte.ts, directly or for
 * all tabs through tab-share) and the `aco` CLI (cli/realtime/client.ts): connect, handshake,
 * heartbeat, subscriptions in each socket's URL (re-sent as messages to an older hub) and after
 * every reconnect, `resume` from the last seq behind a resume gate,
 * the close-code policy and the backoff. Plain TypeScript with no Svelte and no DOM: the
 * environment comes in through the options (a socket factory, `online`/`offline` and visibility
 * sources), and the state goes out through {@link HubConnection.snapshot} and `onChange`.
 *
 * A clean `resumed` replays the gap and needs nothing else; `reset` (the gap could not be
 * replayed), `dropped` (backpressure dropped low-priority events) and a reconnect the hub was
 * not asked about or did not answer make the owner reload over REST (`onResync`).
 *
 * Every `subscribe` carries an id ({@link subscribeRef}), so an `error` the hub answers it with
 * (too many subscriptions, too many ids) is known for that subscription's refusal (`onRefused`).
 *
 * Keeping the socket open is reconnecting-socket's job, the position in the event stream is
 * stream-position's, and ordering a replay is resume-gate's.
 */
import {
	CONNECT_SUBSCRIPTIONS_SINCE,
	withConnectSubscriptions,
	type ConnectSubscription
} from '../protocol/connect-subscriptions';
import { DEFAULT_HEARTBEAT_INTERVAL_MS, MAX_SUBSCRIPTIONS_PER_CLIENT } from '../protocol/limits';
import type {
	AnyControlMessage,
	AnyEventEnvelope,
	ClientMessage,
	ErrorData,
	EventFilter,
	WelcomeData
} from '../protocol/messages';
import type {
	CloseInfo,
	ConnectionState,
	HubConnectionOptions,
	OfflineReason,
	ResyncReason,
	SubscribeOptions
} from './connection-types';
import { Emitter } from './emitter';
import { ReconnectingSocket } from './reconnecting-socket';
import { DEFAULT_RESUME_TIMEOUT_MS, ResumeGate } from './resume-gate';
import { decodeFrame, StreamPosition } from './stream-position';

/** Everything an indicator (or another tab) needs to show the connection. */
export interface HubSnapshot {
	state: ConnectionState;
	offlineReason: OfflineReason | null;
	/** reconnect attempts since the last good connection */
	attempt: number;
	maxAttempts: number;
	/** when the next attempt starts (epoch ms), while one is scheduled */
	nextRetryAt: number | null;
	lastClose: CloseInfo | null;
	/** whether a welcome ever arrived (so later connects are REconnects) */
	hasConnected: boolean;
	clientId: string | null;
	epoch: string | null;
	/** the newest event seq seen */
	seq: number;
	/** a resume is waiting for its answer */
	resuming: boolean;
}

export interface Subscription extends SubscribeOptions {
	filter: EventFilter;
}

const SUBSCRIBE_REF = 'sub:';

/** The id a `subscribe` for `sub` is sent with: the hub names it (`ref`) in its answer. */
export function subscribeRef(sub: string): string {
	return `${SUBSCRIBE_REF}${sub}`;
}

/** The subscription an answer's `ref` names, if it answers a `subscribe`. */
function subOfRef(ref: string | undefined): string | null {
	return ref?.startsWith(SUBSCRIBE_REF) ? ref.slice(SUBSCRIBE_REF.length) : null;
}

export class HubConnection {
	readonly #socket: ReconnectingSocket;
	readonly #position = new StreamPosition();
	readonly #gate = new ResumeGate();
	readonly #now: () => number;
	readonly #resumeTimeoutMs: number;
	readonly #log: (message: string, err?: unknown) => void;
	readonly #subscriptions = new Map<string, Subscription>();
	/** subscriptions made before the first connect, until the hub confirms them */
	readonly #unconfirmed = new Set<string>();
	/** the subscriptions the open socket's URL carries: a hub of protocol 2 holds them already */
	#inUrl = new Map<string, Subscription>();
	/** subscribes sent on this socket that the hub has not answered yet, by subscription */
	readonly #unanswered = new Map<string, number>();
	/** subscriptions the hub confirmed on this socket */
	readonly #held = new Set<string>();
	/** subscriptions the hub refused on this socket and does not hold: nothing to unsubscribe */
	readonly #notHeld = new Set<string>();
	readonly #events = new Emitter<[AnyEventEnvelope]>();
	readonly #controls = new Emitter<[AnyControlMessage]>();
	readonly #resyncs = new Emitter<[ResyncReason, number | null]>();
	readonly #refusals = new Emitter<[string, ErrorData]>();
	readonly #states = new Emitter<[ConnectionState, ConnectionState]>();
	readonly #changes = new Emitter<[]>();
	#clientId: string | null = null;
	#resuming = false;
	#destroyed = false;

	constructor(options: HubConnectionOptions) {
		this.#now = options.now ?? (() => Date.now());
		this.#resumeTimeoutMs = options.resumeTimeoutMs ?? DEFAULT_RESUME_TIMEOUT_MS;
		this.#log = options.log ?? (() => {});
		const from = options.resumeFrom ?? null;
		if (from) this.#position.moveTo(from.epoch, from.seq);
		this.#socket = new ReconnectingSocket(
			{ ...options, now: this.#now, reconnecting: from !== null },
			{
				onText: (raw) => this.#onText(raw),
				onStateChange: (state, previous) => this.#onStateChange(state, previous),
				onChange: () => this.#changed(),
				urlFor: (url) => this.#connectUrl(url)
			}
		);
	}

	// ---------- state ----------

	get state(): ConnectionState {
		return this.#socket.state;
	}
	get offlineReason(): OfflineReason | null {
		return this.#socket.offlineReason;
	}
	get attempt(): number {
		return this.#socket.attempt;
	}
	get maxAttempts(): number {
		return this.#socket.maxAttempts;
	}
	get nextRetryAt(): number | null {
		return this.#socket.nextRetryAt;
	}
	get lastClose(): CloseInfo | null {
		return this.#socket.lastClose;
	}
	get hasConnected(): boolean {
		return this.#socket.hasConnected;
	}
	get clientId(): string | null {
		return this.#clientId;
	}
	get epoch(): string | null {
		return this.#position.epoch;
	}
	get seq(): number {
		return this.#position.seq;
	}
	/** a resume is waiting for its answer (events are held until it comes) */
	get resuming(): boolean {
		return this.#resuming;
	}
	get subscriptions(): ReadonlyMap<string, Subscription> {
		return this.#subscriptions;
	}

	snapshot(): HubSnapshot {
		return {
			state: this.state,
			offlineReason: this.offlineReason,
			attempt: this.attempt,
			maxAttempts: this.maxAttempts,
			nextRetryAt: this.nextRetryAt,
			lastClose: this.lastClose,
			hasConnected: this.hasConnected,
			clientId: this.#clientId,
			epoch: this.epoch,
			seq: this.seq,
			resuming: this.#resuming
		};
	}

	// ---------- actions ----------

	/** Opens the socket (once); later calls do nothing. */
	connect(): void {
		this.#socket.connect();
	}

	/** Skips the wait (and starts over after giving up or a terminal close). */
	retryNow(): void {
		this.#socket.retryNow();
	}

	/** The server is likely reachable now (network back, page visible): a waiting retry goes at once. */
	wake(): void {
		this.#socket.wake();
	}

	/** Adds or replaces a subscription; it is re-sent after every reconnect. */
	subscribe(sub: string, filter: EventFilter = {}, options: SubscribeOptions = {}): void {
		const subscription: Subscription = { filter, ...(options.maxRate ? { maxRate: options.maxRate } : {}) };
		this.#subscriptions.set(sub, subscription);
		if (this.state === 'connected') this.#sendSubscribe(sub, subscription);
	}

	unsubscribe(sub: string): void {
		if (!this.#subscriptions.delete(sub)) return;
		this.#confirm(sub);
		this.#held.delete(sub);
		this.#unanswered.delete(sub);
		// the hub answers an unsubscribe of what it does not hold with an error
		if (this.#notHeld.delete(sub)) return;
		if (this.state === 'connected') this.#send({ type: 'unsubscribe', sub });
	}

	/** Every event, batches unpacked, in seq order, each once. Returns the function that removes it. */
	onEvent(handler: (event: AnyEventEnvelope) => void): () => void {
		return this.#events.add(handler);
	}
	/** Every control message (welcome, subscribed, resumed, reset, dropped, error, system.stats, …). */
	onControl(handler: (message: AnyControlMessage) => void): () => void {
		return this.#controls.add(handler);
	}
	/**
	 * Called when what the owner loaded may be stale (see ResyncReason), with the count of
	 * missed events when the hub said (a `reset`). Not after a clean `resumed`.
	 */
	onResync(handler: (reason: ResyncReason, missed: number | null) => void): () => void {
		return this.#resyncs.add(handler);
	}
	/** Whether a subscribe of `sub` sent on this socket is still unanswered (a later filter is on its way). */
	answering(sub: string): boolean {
		return this.#unanswered.has(sub);
	}

	/**
	 * The hub answered subscription `sub`'s `subscribe` with an error: it does not deliver what
	 * that subscribe asked for (a replaced filter: the hub keeps the one it held). A later
	 * `subscribed` for `sub` (a reconnect, a change) lifts it.
	 */
	onRefused(handler: (sub: string, error: ErrorData) => void): () => void {
		return this.#refusals.add(handler);
	}
	onStateChange(handler: (state: ConnectionState, previous: ConnectionState) => void): () => void {
		return this.#states.add(handler);
	}
	/** Called whenever a figure of {@link snapshot} may have changed. */
	onChange(handler: () => void): () => void {
		return this.#changes.add(handler);
	}

	/** Closes the socket, stops every timer; the instance is done. Idempotent. */
	destroy(): void {
		if (this.#destroyed) return;
		// the socket reports its last state ('offline', 'destroyed') before the handlers go
		this.#socket.destroy();
		this.#destroyed = true;
		this.#gate.discard();
		this.#events.clear();
		this.#controls.clear();
		this.#resyncs.clear();
		this.#refusals.clear();
		this.#states.clear();
		this.#changes.clear();
	}

	// ---------- messages ----------

	#send(message: ClientMessage): boolean {
		return this.#socket.send(message);
	}

	#onText(raw: string): void {
		const frame = decodeFrame(raw);
		if (!frame) {
			this.#log('ignored a frame that is not a JSON message');
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
				// the answer to a subscribe of something unsubscribed since: the unsubscribe follows it
				if (!this.#subscriptions.has(message.data.id)) break;
				this.#answered(message.data.id);
				this.#held.add(message.data.id);
				this.#notHeld.delete(message.data.id);
				this.#confirm(message.data.id);
				break;
			case 'resumed':
				this.#endResume();
				break;
			case 'reset':
				// what arrived meanwhile is newer than the gap: apply it, then take the server's position
				this.#endResume();
				this.#position.moveTo(message.data.epoch, message.data.seq);
				this.#resyncs.emit('reset', message.data.missed);
				break;
			case 'dropped':
				this.#resyncs.emit('dropped', null);
				break;
			case 'error':
				// the hub refused the resume itself: reload rather than wait for the timeout
				if (message.data.ref !== undefined && message.data.ref === this.#gate.ref) {
					this.#endResume();
					this.#resyncs.emit('reconnect', null);
				}
				// the hub dropped messages for going too fast, not saying which: none counts as on its way
				if (message.data.code === 'rate_limited' && message.data.ref === undefined) this.#unanswered.clear();
				this.#onRefused(subOfRef(message.data.ref), message.data);
				break;
		}
		this.#controls.emit(message);
		this.#changed();
	}

	#onWelcome(data: WelcomeData): void {
		const isReconnect = this.#socket.hasConnected;
		const resumeFrom = this.#position.welcome(data, isReconnect);
		this.#clientId = data.client_id;
		// what the URL carried the hub has taken already, unless it is older than that
		const taken =
			data.protocol >= CONNECT_SUBSCRIPTIONS_SINCE ? this.#inUrl : new Map<string, Subscription>();
		this.#inUrl = new Map();
		this.#unanswered.clear();
		this.#held.clear();
		this.#notHeld.clear();
		// what the URL carried is answered after the welcome as a message would be
		for (const sub of taken.keys()) if (this.#subscriptions.has(sub)) this.#unanswered.set(sub, 1);
		// subscriptions first: the hub replays what matches the subscriptions it holds
		for (const [sub, subscription] of this.#subscriptions) {
			if (!isReconnect) this.#unconfirmed.add(sub);
			if (taken.get(sub) !== subscription) this.#sendSubscribe(sub, subscription);
		}
		// dropped while the socket was opening
		for (const sub of taken.keys()) {
			if (!this.#subscriptions.has(sub)) this.#send({ type: 'unsubscribe', sub });
		}
		if (resumeFrom) {
			const id = this.#gate.open(this.#resumeTimeoutMs, () => {
				this.#log('the hub did not answer resume; reloading instead');
				this.#endResume();
				this.#resyncs.emit('reconnect', null);
				this.#changed();
			});
			this.#resuming = true;
			this.#send({ type: 'resume', ...resumeFrom, id });
		}
		const heartbeatMs =
			data.heartbeat_interval_ms > 0 ? data.heartbeat_interval_ms : DEFAULT_HEARTBEAT_INTERVAL_MS;
		this.#socket.established(heartbeatMs, () => this.#heartbeat());
		if (isReconnect && !resumeFrom) this.#resyncs.emit('reconnect', null);
	}

	#sendSubscribe(sub: string, subscription: Subscription): void {
		if (!this.#send(subscribeMessage(sub, subscription))) return;
		this.#unanswered.set(sub, (this.#unanswered.get(sub) ?? 0) + 1);
		this.#notHeld.delete(sub);
	}

	/** One subscribe of `sub` was answered; returns whether another is still on its way. */
	#answered(sub: string): boolean {
		const left = (this.#unanswered.get(sub) ?? 0) - 1;
		if (left > 0) this.#unanswered.set(sub, left);
		else this.#unanswered.delete(sub);
		return left > 0;
	}

	#onRefused(sub: string | null, error: ErrorData): void {
		if (sub === null || !this.#subscriptions.has(sub)) return;
		const more = this.#answered(sub);
		// a refused first subscribe leaves the hub without it; a refused replacement keeps the old
		if (!more && !this.#held.has(sub)) this.#notHeld.add(sub);
		// settled: the first connect's subscriptions do not wait for it
		this.#confirm(sub);
		this.#refusals.emit(sub, error);
	}

	#confirm(sub: string): void {
		if (this.#unconfirmed.delete(sub) && this.#unconfirmed.size === 0) this.#resyncs.emit('subscribed', null);
	}

	/** The resume was answered (or given up on): apply what the gate held, in seq order. */
	#endResume(): void {
		this.#resuming = false;
		for (const event of this.#gate.release()) this.#deliver(event);
	}

	#onStateChange(state: ConnectionState, previous: ConnectionState): void {
		// the socket went before the resume was answered: the next one asks again from the same seq
		if (state !== 'connected' && this.#gate.pending) {
			this.#gate.discard();
			this.#resuming = false;
		}
		this.#states.emit(state, previous);
	}

	#changed(): void {
		if (!this.#destroyed) this.#changes.emit();
	}

	#heartbeat(): void {
		this.#send({ type: 'connection.heartbeat', timestamp: new Date(this.#now()).toISOString() });
	}

	/**
	 * The URL of the next socket: the subscriptions held now ride in it (connect-subscriptions),
	 * so a hub of protocol 2 answers them with its welcome, with no round trip of their own.
	 */
	#connectUrl(url: string): string {
		// a socket that will resume sends them as messages right before its resume, as in v1: the
		// hub holds live events from a subscription until the resume comes, and that hold must not
		// begin a round trip before it (a tab taking over the connection reloaded its log once in CI)
		if (this.#position.epoch !== null) {
			this.#inUrl = new Map();
			return url;
		}
		// more than a client may hold is refused in one error naming none of them: those go as messages
		const held = [...this.#subscriptions].slice(0, MAX_SUBSCRIPTIONS_PER_CLIENT);
		const carrying = withConnectSubscriptions(
			url,
			held.map(([sub, subscription]) => connectSubscription(sub, subscription))
		);
		this.#inUrl = new Map(held.slice(0, carrying.carried));
		return carrying.url;
	}
}

function connectSubscription(sub: string, { filter, maxRate }: Subscription): ConnectSubscription {
	return { sub, filter, ...(maxRate ? { max_rate: maxRate } : {}), id: subscribeRef(sub) };
}

function subscribeMessage(sub: string, subscription: Subscription): ClientMessage {
	return { type: 'subscribe', ...connectSubscription(sub, subscription) };
}
