/**
 * @module hub/session
 * One connected client: its socket, subscriptions, liveness marks and rate limit; its queue,
 * its reads from history and its batched writes are its {@link Writer} (writer.ts).
 * Resume window: a reconnecting client sends `subscribe` and then `resume`. Were live events
 * written between the two, the replay would arrive after newer events and the client would
 * take it for repeats. So from its first subscription until its first other message (the
 * resume, a heartbeat) or `batchFlushMs`, whichever comes first, the session holds live
 * events back; a resume then reads them from history after the replayed ones.
 * Sending on a closing socket is a no-op, `close()` is idempotent and frees the queue, the
 * timers, the subscriptions and their index entries, and the socket always has an `'error'`
 * listener (without one, a socket error would crash the process).
 */
import { WebSocket, type RawData } from 'ws';
import type { AnyDomainEvent } from '../../protocol/events';
import { matchesFilter, matchesRoute } from '../../protocol/filter';
import { CloseCode } from '../../protocol/close-codes';
import {
	DEFAULT_BATCH_FLUSH_MS,
	DEFAULT_BATCH_MAX_EVENTS,
	DEFAULT_MAX_BUFFERED_BYTES,
	DEFAULT_QUEUE_MAX_MESSAGES
} from '../config';
import { MAX_SUBSCRIPTIONS, type EventFilter } from '../../protocol/messages';
import { MAX_CLIENT_FILTER_IDS } from '../../protocol/limits';
import { ANONYMOUS_OPERATOR, type Principal } from '../auth/principal';
import type { Logger } from '../logger';
import type { HubCounters } from './counters';
import type { Channels, ChannelMember, SharedRun } from './channels';
import { encodeControl } from './frames';
import type { FrameCache } from './frame-cache';
import type { WireBuffers } from './wire-buffers';
import type { WriteTurns } from './write-turns';
import { HubError } from './hub-error';
import { RateGate, rateInterval, type RatedFilter } from './rate-gate';
import { RateLimiter, type RateLimitOptions } from './rate-limit';
import { ResumeWindows } from './resume-windows';
import type { HistoryEntry, HistorySource } from './stream';
import { DEFAULT_WRITE_HIGH_WATER_BYTES, Writer, type RawSocket, type ReplayOutcome } from './writer';

export { DEFAULT_WRITE_HIGH_WATER_BYTES, type RawSocket } from './writer';

/** A close frame's reason may hold at most 123 bytes (RFC 6455 §5.5). */
const MAX_CLOSE_REASON_BYTES = 123;
/** a subscription change costs one more rate-limit token per this many entries the client's filters list */
const FILTER_IDS_PER_TOKEN = 100;

/** the entries a filter lists (task ids, run ids, types, statuses) */
function idsOf(filter: EventFilter): number {
	return (
		(filter.task_ids?.length ?? 0) +
		(filter.run_ids?.length ?? 0) +
		(filter.types?.length ?? 0) +
		(filter.statuses?.length ?? 0)
	);
}

export const SLOW_CONSUMER_REASON = 'client reads too slowly; reconnect and resume';

export type SessionState = 'open' | 'closing' | 'closed';

/** The parts of a `ws` WebSocket a session uses (narrow, so specs can pass a fake). */
export type SessionSocket = Pick<
	WebSocket,
	'readyState' | 'bufferedAmount' | 'send' | 'ping' | 'close' | 'terminate' | 'on'
>;

export interface SessionOptions {
	id: string;
	/** who the client acts for (checked at the upgrade); the anonymous operator when omitted */
	principal?: Principal;
	socket: SessionSocket;
	counters: HubCounters;
	logger: Logger;
	/** called for every inbound frame the rate limit lets through, after the idle mark is refreshed */
	onMessage: (session: Session, data: RawData, isBinary: boolean) => void;
	/** called once, when the socket has closed */
	onClose: (session: Session, code: number, reason: string) => void;
	rawSocket?: RawSocket;
	/** where the session's subscriptions are filed for the broadcaster */
	channels?: Channels<Session>;
	/** the seq of the newest event broadcast */
	position?: () => number;
	/** where the client reads when it falls behind its live queue, and replays from */
	history?: HistorySource | null;
	remoteAddress?: string;
	maxSubscriptions?: number;
	/** byte cap of the waiting replies and the socket's unsent bytes */
	maxBufferedBytes?: number;
	queueMaxMessages?: number;
	batchMaxEvents?: number;
	batchFlushMs?: number;
	writeHighWaterBytes?: number;
	rateLimit?: RateLimitOptions;
	/** mean delivery latency of `count` events written together, ms */
	onDelivered?: (latencyMs: number, count: number) => void;
	/** frames shared by every client of the hub */
	frames?: FrameCache;
	/** ends the resume windows of the hub's sessions (one timer for all); the session's own otherwise */
	resumeWindows?: ResumeWindows;
	/** where the hub's clients take turns catching up (write-turns.ts) */
	turns?: WriteTurns;
	/** the client reads from the older half of history (writer.ts) */
	onFarBehind?: () => void;
	/** memory the hub's replays reuse for their frames (wire-buffers.ts) */
	wireBuffers?: WireBuffers;
	/** the client negotiated permessage-deflate: frames may go compressed */
	deflate?: boolean;
	now?: () => number;
}

export class Session implements ChannelMember {
	readonly id: string;
	readonly principal: Principal;
	readonly connectedAt: number;
	readonly remoteAddress: string;
	#options: SessionOptions;
	#socket: SessionSocket;
	#counters: HubCounters;
	#logger: Logger;
	#now: () => number;
	#maxSubscriptions: number;
	/** what the client's filters list together (see MAX_CLIENT_FILTER_IDS) */
	#filterIds = 0;
	#batchFlushMs: number;
	#state: SessionState = 'open';
	#lastSeenAt: number;
	#awaitingPong = false;
	#subscriptions = new Map<string, EventFilter>();
	/**
	 * the seq when the subscriptions held now began (the last was added or changed): later
	 * events reach the client live
	 */
	#liveSince = 0;
	#writer: Writer;
	#limiter: RateLimiter | null;
	/** the rate each subscription asked for (rate-gate), and the gate, made for the first one */
	#rates: Map<string, number> | null = null;
	#rateGate: RateGate | null = null;
	/** 'idle' until the first subscription, 'holding' during the resume window, then 'live' */
	#window: 'idle' | 'holding' | 'live' = 'idle';
	/** made for a session without the hub's (specs): one timer of its own */
	#ownWindows: ResumeWindows | null = null;
	/** made when first asked for (only a shutdown waits on it) */
	#closed: Promise<void> | null = null;
	#resolveClosed: (() => void) | null = null;

	constructor(options: SessionOptions) {
		this.id = options.id;
		this.principal = options.principal ?? ANONYMOUS_OPERATOR;
		this.#options = options;
		this.#socket = options.socket;
		this.#counters = options.counters;
		this.#logger = options.logger;
		this.#now = options.now ?? Date.now;
		this.#maxSubscriptions = options.maxSubscriptions ?? MAX_SUBSCRIPTIONS;
		this.#batchFlushMs = options.batchFlushMs ?? DEFAULT_BATCH_FLUSH_MS;
		this.#writer = new Writer({
			socket: options.socket,
			rawSocket: options.rawSocket,
			counters: options.counters,
			logger: options.logger,
			clientId: options.id,
			maxMessages: options.queueMaxMessages ?? DEFAULT_QUEUE_MAX_MESSAGES,
			maxBytes: options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES,
			batchMaxEvents: options.batchMaxEvents ?? DEFAULT_BATCH_MAX_EVENTS,
			batchFlushMs: this.#batchFlushMs,
			writeHighWaterBytes: options.writeHighWaterBytes ?? DEFAULT_WRITE_HIGH_WATER_BYTES,
			history: options.history ?? null,
			head: options.position ?? (() => 0),
			wants: (entry) => this.#wantsRoute(entry),
			isOpen: () => this.#state === 'open',
			onOverflow: (what) => this.#slowClose(what),
			onDelivered: options.onDelivered,
			frames: options.frames,
			deflate: options.deflate,
			turns: options.turns,
			...(options.onFarBehind ? { onFarBehind: options.onFarBehind } : {}),
			wireBuffers: options.wireBuffers
		});
		this.remoteAddress = options.remoteAddress ?? '';
		this.connectedAt = this.#now();
		this.#lastSeenAt = this.connectedAt;
		this.#limiter = options.rateLimit ? new RateLimiter(options.rateLimit, this.connectedAt) : null;

		const socket = this.#socket;
		socket.on('error', (err: Error) => {
			this.#counters.errors += 1;
			this.#logger.debug({ err, client_id: this.id }, 'socket error');
		});
		socket.on('message', (data: RawData, isBinary: boolean) => this.#receive(data, isBinary));
		socket.on('pong', () => {
			this.#awaitingPong = false;
		});
		socket.on('close', (code: number, reason: Buffer) => {
			this.#state = 'closed';
			this.#release();
			if (options.rawSocket) this.#counters.closedWireBytes += options.rawSocket.bytesWritten;
			options.onClose(this, code, reason.toString());
			this.#resolveClosed?.();
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
		return new Map(this.#subscriptions);
	}

	get subscriptionCount(): number {
		return this.#subscriptions.size;
	}

	/** what the client is owed: queued events and replies, and how far it reads behind the stream */
	get queueDepth(): number {
		return this.#writer.depth;
	}

	/** items the queue holds in memory (live events and replies) */
	get queueSlots(): number {
		return this.#writer.slots;
	}

	get queueBytes(): number {
		return this.#writer.bytes;
	}

	/** wire bytes written so far (0 without a raw socket) */
	get wireBytes(): number {
		return this.#options.rawSocket?.bytesWritten ?? 0;
	}

	/** resolves once the socket has closed */
	get closed(): Promise<void> {
		if (this.#state === 'closed') return this.#closed ?? Promise.resolve();
		this.#closed ??= new Promise((resolve) => (this.#resolveClosed = resolve));
		return this.#closed;
	}

	/** whether the client reads from history, behind the live stream */
	get behind(): boolean {
		return this.#writer.behind;
	}

	/**
	 * Sends a control frame after every event broadcast before it (or up to `afterSeq`), so
	 * replies keep their order. Returns false (and sends nothing) once the session is closing.
	 */
	send(data: string | Buffer, afterSeq?: number): boolean {
		if (this.#state !== 'open') return false;
		return this.#writer.send(data, afterSeq);
	}

	/** Takes its channel's runs of events for this tick (`now`: it may write them at once, see Writer). */
	offer(runs: readonly SharedRun[], now = true): void {
		if (this.#state !== 'open') return;
		// a slower-rate subscription coalesces progress per event, so its events go one by one
		if (this.#rates !== null && this.#rates.size > 0) {
			for (const run of runs) for (const entry of run.entries) this.deliver(entry);
			return;
		}
		// the last rate went while the gate held updates: they go first, or they would follow newer
		// events on the wire and the client would drop them as repeats
		if (this.#rateGate !== null && this.#rateGate.held > 0) this.#rateGate.flush();
		this.#writer.offer(runs, now);
	}

	/** Hands the client a live event (the broadcaster decided it matches). */
	deliver(entry: HistoryEntry): void {
		if (this.#state !== 'open') return;
		if (this.#rateGate) this.#rateGate.offer(entry, rateInterval(this.#rated(), entry));
		else this.#writer.deliver(entry);
	}

	/**
	 * Streams the events after `from` that match a subscription from history, ahead of newer
	 * events, then goes on live. `answer` builds the reply: `resumed` is written right after the
	 * replayed events; `gone` (history no longer holds them) and `overtaken` (a newer event was
	 * already written, so the client would take the replay for repeats) go out at once.
	 */
	resume(from: number, answer: (outcome: ReplayOutcome) => string | Buffer): void {
		if (this.#state !== 'open') return;
		this.#writer.resume(from, answer, this.#liveSince);
	}

	/** The client has every event through `seq`, ahead of this node (see Writer.skipThrough). */
	skipThrough(seq: number): void {
		if (this.#state !== 'open') return;
		this.#writer.skipThrough(seq);
	}

	/** The stream restarted after `seq`: the client gets `frame` (a reset) and goes on live from there. */
	restartAt(seq: number, frame: string | Buffer): void {
		if (this.#state !== 'open') return;
		this.#writer.restartAt(seq, frame);
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
		this.#release();
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
		this.#release();
		this.#socket.terminate();
	}

	/**
	 * Adds the subscription, or replaces the filter of an existing one with the same id.
	 * @throws {HubError} `too_many_subscriptions` when a new id would exceed the limit
	 */
	subscribe(sub: string, filter: EventFilter, options: { maxRate?: number } = {}): void {
		if (this.#state !== 'open') return;
		if (!this.#subscriptions.has(sub) && this.#subscriptions.size >= this.#maxSubscriptions) {
			throw HubError.tooManySubscriptions(this.#maxSubscriptions);
		}
		const held = this.#subscriptions.get(sub);
		const filterIds = this.#filterIds - (held ? idsOf(held) : 0) + idsOf(filter);
		if (filterIds > MAX_CLIENT_FILTER_IDS) throw HubError.tooManyFilterIds(MAX_CLIENT_FILTER_IDS);
		// events before now that only the new filter wants never went out live: a resume from
		// before now must replay them (or reset), not take this connection's stream for them
		if (!held || JSON.stringify(held) !== JSON.stringify(filter))
			this.#liveSince = this.#options.position?.() ?? 0;
		this.#subscriptions.set(sub, filter);
		this.#filterIds = filterIds;
		// a change re-reads every filter the client holds: the more they list, the more it costs
		this.#limiter?.spend(Math.floor(filterIds / FILTER_IDS_PER_TOKEN));
		this.#setRate(sub, options.maxRate);
		this.#options.channels?.update(this, this.#subscriptions);
		if (this.#window === 'idle') {
			this.#window = 'holding';
			this.#writer.hold = true;
			const windows =
				this.#options.resumeWindows ?? (this.#ownWindows ??= new ResumeWindows(this.#batchFlushMs));
			windows.open(this);
		}
	}

	/** Ends the resume window (see the module comment): live events flow from now on. Idempotent. */
	endResumeWindow(): void {
		if (this.#window === 'live') return;
		this.#window = 'live';
		this.#writer.hold = false;
	}

	/**
	 * Removes one subscription, or all of them when `sub` is undefined; returns the ids removed.
	 * @throws {HubError} `unknown_subscription` when `sub` is not held
	 */
	unsubscribe(sub?: string): string[] {
		if (sub === undefined) {
			const removed = [...this.#subscriptions.keys()];
			this.#subscriptions.clear();
			this.#filterIds = 0;
			this.#rates?.clear();
			this.#options.channels?.leave(this);
			return removed;
		}
		const held = this.#subscriptions.get(sub);
		if (!held) throw HubError.unknownSubscription(sub, [...this.#subscriptions.keys()]);
		this.#subscriptions.delete(sub);
		this.#filterIds -= idsOf(held);
		this.#rates?.delete(sub);
		this.#options.channels?.update(this, this.#subscriptions);
		return [sub];
	}

	#setRate(sub: string, maxRate: number | undefined): void {
		if (!maxRate) {
			this.#rates?.delete(sub);
			return;
		}
		(this.#rates ??= new Map()).set(sub, maxRate);
		this.#rateGate ??= new RateGate({
			deliver: (entry) => this.#writer.deliver(entry),
			onCoalesced: () => (this.#counters.rateCoalesced += 1)
		});
	}

	/** The subscriptions with their rates, for the rate gate. */
	*#rated(): Iterable<RatedFilter> {
		for (const [sub, filter] of this.#subscriptions) yield { filter, maxRate: this.#rates?.get(sub) };
	}

	/** Whether any subscription wants the event; a session without subscriptions wants none. */
	wants(event: AnyDomainEvent): boolean {
		for (const filter of this.#subscriptions.values()) {
			if (matchesFilter(filter, event)) return true;
		}
		return false;
	}

	#wantsRoute(entry: HistoryEntry): boolean {
		for (const filter of this.#subscriptions.values()) {
			if (matchesRoute(filter, entry.route)) return true;
		}
		return false;
	}

	#receive(data: RawData, isBinary: boolean): void {
		const now = this.#now();
		this.#lastSeenAt = now;
		this.#counters.messagesReceived += 1;
		this.#counters.bytesReceived += rawByteLength(data);
		// frames still arriving after the close began are not answered (nor counted as violations again)
		if (this.#state !== 'open') return;
		if (this.#limiter) {
			const { decision, first } = this.#limiter.take(now);
			if (decision !== 'ok') {
				this.#counters.rateLimitViolations += 1;
				if (decision === 'close') {
					this.#counters.rateLimitCloses += 1;
					this.#logger.warn({ client_id: this.id, remote: this.remoteAddress }, 'closing a flooding client');
					this.close(CloseCode.RATE_LIMITED, 'too many messages; back off before reconnecting');
				} else if (first) {
					// once per window: answering every refused message would let a flood amplify itself
					this.#logger.warn({ client_id: this.id, remote: this.remoteAddress }, 'client rate limited');
					const error = HubError.rateLimited(this.#options.rateLimit!.perSecond);
					this.send(encodeControl('error', error.toErrorData()));
				}
				return;
			}
		}
		this.#options.onMessage(this, data, isBinary);
	}

	#slowClose(what: string): void {
		this.#counters.slowConsumerCloses += 1;
		this.#logger.info(
			{ client_id: this.id, queued: this.#writer.depth, buffered: this.#socket.bufferedAmount },
			`closing slow client: its queue cannot take ${what}`
		);
		this.close(CloseCode.SLOW_CONSUMER, SLOW_CONSUMER_REASON);
	}

	#release(): void {
		this.#rateGate?.clear();
		this.#subscriptions.clear();
		this.#options.channels?.leave(this);
		this.#writer.release();
		// the hub's windows let go of this session by its deadline; a closed session's end is a no-op
		this.#ownWindows?.stop();
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
