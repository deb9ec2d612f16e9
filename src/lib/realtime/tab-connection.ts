/**
 * @module realtime/tab-connection
 * The realtime connection as one tab sees it, in plain TypeScript (connection.svelte.ts is its
 * reactive face): the tab's own subscriptions, the events that match them — each once, in seq
 * order, also when the connection is another tab's and carries what other tabs asked for — the
 * reloads its stores must do, the status its indicator shows (`unavailable` while the hub refuses
 * one of its subscriptions), and the viewer's pause.
 *
 * The socket itself is behind a {@link TabLink}: a connection of the tab's own, or the one a
 * tab holds for every tab of the browser (tab-share).
 */
import { matchesFilter, wantsStream } from '../protocol/filter';
import type {
	AnyControlMessage,
	AnyEventEnvelope,
	ControlDataMap,
	ControlMessage,
	ControlType,
	EventFilter
} from '../protocol/messages';
import { SYSTEM_STATS_TYPE } from '../protocol/system';
import type { Subscription } from './connection-core';
import type { HostSnapshot } from './connection-host';
import type {
	ConnectionState,
	ConnectionStatus,
	ResyncHandler,
	ResyncInfo,
	ResyncReason,
	SubscriptionRefusal,
	TabSubscribeOptions
} from './connection-types';
import { Emitter } from './emitter';
import { PauseQueue, type HeldUpdate } from './pause-queue';
import { StreamPosition } from './stream-position';
import type { TabLink, TabSharing, TabSink } from './tab-link';

/** What one tab shows of the connection: the connection's figures as this tab sees them. */
export interface TabSnapshot extends Omit<HostSnapshot, 'resuming' | 'handover'> {
	status: ConnectionStatus;
	/** whose connection this tab uses */
	sharing: TabSharing;
	paused: boolean;
	/** updates that arrived while paused */
	heldCount: number;
	/** more arrived than the page holds: resuming reloads */
	heldOverflowed: boolean;
	/** the hub refused one of this tab's subscriptions, and why: what it shows is not live */
	unavailable: SubscriptionRefusal | null;
}

export interface TabConnectionOptions {
	/** the link, or how to make it when the tab connects (a page rendered on the server never does) */
	link: TabLink | (() => TabLink);
	/** updates held while paused before resuming becomes a reload */
	pauseLimit?: number;
}

const INITIAL: HostSnapshot = {
	state: 'connecting',
	offlineReason: null,
	attempt: 0,
	maxAttempts: Number.POSITIVE_INFINITY,
	nextRetryAt: null,
	lastClose: null,
	hasConnected: false,
	clientId: null,
	epoch: null,
	seq: 0,
	resuming: false,
	handover: false
};

export class TabConnection {
	readonly #makeLink: () => TabLink;
	#link: TabLink | null = null;
	readonly #position = new StreamPosition();
	readonly #pause: PauseQueue;
	readonly #subscriptions = new Map<string, Subscription>();
	/** the tab's subscriptions the hub refused, until it confirms them */
	readonly #refused = new Map<string, SubscriptionRefusal>();
	/** the subscriptions made before the tab was first connected, until the hub confirms them */
	#firstLoad: Set<string> | null = new Set();
	#firstLoadHadSubs = false;
	/** the subscriptions made once the tab was connected, until the hub confirms them */
	readonly #late = new Set<string>();
	/** what each subscription's subscriber reloads once a late one is live */
	readonly #reloads = new Map<string, () => unknown>();
	/** the subscription being handed to the link: confirmed meanwhile, the hub carried it before */
	#handing: string | null = null;
	#sawConnected = false;
	#host: HostSnapshot = INITIAL;
	#sharing: TabSharing = 'starting';
	#state: ConnectionState = 'connecting';
	/** resyncs whose reloads have not all settled */
	#reloading = 0;
	#started = false;
	#destroyed = false;
	readonly #events = new Emitter<[AnyEventEnvelope]>();
	readonly #controls = new Emitter<[AnyControlMessage]>();
	readonly #resyncs = new Emitter<[ResyncReason], unknown>();
	readonly #resynced = new Emitter<[ResyncInfo]>();
	readonly #states = new Emitter<[ConnectionState, ConnectionState]>();
	readonly #changes = new Emitter<[]>();

	constructor(options: TabConnectionOptions) {
		const { link } = options;
		this.#makeLink = typeof link === 'function' ? link : () => link;
		this.#pause = new PauseQueue(options.pauseLimit);
	}

	snapshot(): TabSnapshot {
		const host = this.#host;
		const state = this.#state;
		let status: ConnectionStatus = state === 'connected' ? 'live' : state;
		if (state === 'connected' && (host.resuming || host.handover || this.#reloading > 0))
			status = 'resyncing';
		const unavailable = this.#refused.values().next().value ?? null;
		if (state === 'connected' && unavailable) status = 'unavailable';
		return {
			state,
			status,
			sharing: this.#sharing,
			offlineReason: this.#destroyed ? 'destroyed' : host.offlineReason,
			attempt: host.attempt,
			maxAttempts: host.maxAttempts,
			nextRetryAt: state === 'connected' ? null : host.nextRetryAt,
			lastClose: host.lastClose,
			hasConnected: host.hasConnected,
			clientId: host.clientId,
			epoch: this.#position.epoch,
			seq: this.#position.seq,
			paused: this.#pause.paused,
			heldCount: this.#pause.count,
			heldOverflowed: this.#pause.overflowed,
			unavailable
		};
	}

	// ---------- actions ----------

	/** Starts the link (once); later calls do nothing. */
	connect(): void {
		if (this.#started || this.#destroyed) return;
		this.#started = true;
		this.#link = this.#makeLink();
		this.#link.start(this.#sink, this.#subscriptions, () => ({
			epoch: this.#position.epoch,
			seq: this.#position.seq
		}));
	}

	retryNow(): void {
		this.#link?.retryNow();
	}

	/**
	 * Adds or replaces a subscription; it lasts across reconnects (and across tabs taking over).
	 * One made once connected has its subscriber reload when the hub confirms it (see
	 * {@link TabSubscribeOptions.reload}), unless the hub carried it already.
	 */
	subscribe(sub: string, filter: EventFilter = {}, options: TabSubscribeOptions = {}): void {
		// the link gets the hub's options only: a function does not cross to another tab
		const subscription: Subscription = { filter, ...(options.maxRate ? { maxRate: options.maxRate } : {}) };
		this.#subscriptions.set(sub, subscription);
		// a new filter is asked for anew: refused or not, the hub says again
		if (this.#refused.delete(sub)) this.#changed();
		if (this.#destroyed) return;
		if (options.reload) this.#reloads.set(sub, options.reload);
		else this.#reloads.delete(sub);
		if (this.#firstLoad && !this.#sawConnected) {
			this.#firstLoad.add(sub);
			this.#firstLoadHadSubs = true;
		} else {
			// the page loads at once, but the hub may take it later: its events in between never come
			this.#late.add(sub);
		}
		this.#handing = sub;
		try {
			this.#link?.subscribe(sub, subscription);
		} finally {
			this.#handing = null;
		}
	}

	unsubscribe(sub: string): void {
		if (!this.#subscriptions.delete(sub)) return;
		this.#late.delete(sub);
		this.#reloads.delete(sub);
		if (this.#refused.delete(sub)) this.#changed();
		if (this.#firstLoad?.delete(sub)) this.#checkFirstLoad();
		if (!this.#destroyed) this.#link?.unsubscribe(sub);
	}

	/** Holds live updates back until {@link resume}; the page stays as it is. */
	pause(): void {
		if (this.#pause.paused || this.#destroyed) return;
		this.#pause.pause();
		this.#changed();
	}

	/** Applies what arrived while paused, in order, then the reload asked for meanwhile. */
	resume(): void {
		if (!this.#pause.paused) return;
		const { updates, resync } = this.#pause.resume();
		for (const update of updates) this.#apply(update);
		if (resync) this.#resync(resync.reason, resync.missed);
		this.#changed();
	}

	onEvent(handler: (event: AnyEventEnvelope) => void): () => void {
		return this.#events.add(handler);
	}

	/** Control messages of one type (`welcome`, `dropped`, `system.stats`, …). */
	onControl<T extends ControlType>(
		type: T,
		handler: (data: ControlDataMap[T], message: ControlMessage<T>) => void
	): () => void {
		return this.#controls.add((message) => {
			if (message.type === type) handler(message.data as ControlDataMap[T], message as ControlMessage<T>);
		});
	}

	/** See RealtimeConnection.onReconnected. */
	onReconnected(handler: ResyncHandler): () => void {
		return this.#resyncs.add(handler);
	}

	onResynced(handler: (info: ResyncInfo) => void): () => void {
		return this.#resynced.add(handler);
	}

	onStateChange(handler: (state: ConnectionState, previous: ConnectionState) => void): () => void {
		return this.#states.add(handler);
	}

	/** Called whenever a figure of {@link snapshot} may have changed. */
	onChange(handler: () => void): () => void {
		return this.#changes.add(handler);
	}

	/** Leaves the connection, stops every timer and listener; the instance is done. Idempotent. */
	destroy(): void {
		if (this.#destroyed) return;
		this.#destroyed = true;
		this.#link?.destroy();
		this.#late.clear();
		this.#reloads.clear();
		this.#setState('offline');
		this.#pause.resume();
		this.#events.clear();
		this.#controls.clear();
		this.#resyncs.clear();
		this.#resynced.clear();
		this.#states.clear();
		this.#changes.clear();
	}

	// ---------- what the link delivers ----------

	readonly #sink: TabSink = {
		events: (events) => {
			if (this.#destroyed) return;
			for (const event of events) {
				if (!this.#position.advance(event)) continue;
				// a shared connection carries what every tab asked for; the tab takes its own
				if (this.#link?.shared && !this.#wants(event)) continue;
				this.#apply({ kind: 'event', event }, true);
			}
		},
		control: (message) => {
			if (this.#destroyed) return;
			if (message.type === 'welcome' && message.data.epoch !== this.#position.epoch) {
				this.#position.moveTo(message.data.epoch, message.data.seq);
			} else if (message.type === 'reset') {
				this.#position.moveTo(message.data.epoch, message.data.seq);
			}
			if (message.type === SYSTEM_STATS_TYPE) {
				if (this.#link?.shared && !this.#wantsStats()) return;
				this.#apply({ kind: 'control', message }, true);
				return;
			}
			this.#controls.emit(message);
		},
		resync: (reason, missed) => {
			if (this.#destroyed || this.#pause.deferResync(reason, missed)) return;
			this.#resync(reason, missed);
		},
		snapshot: (snapshot) => {
			if (this.#destroyed) return;
			this.#host = snapshot;
			if (this.#position.epoch === null && snapshot.epoch !== null) {
				this.#position.moveTo(snapshot.epoch, snapshot.seq);
			}
			// a tab that took over reconnects for the others: they stay connected meanwhile
			const state = snapshot.handover && snapshot.state !== 'offline' ? 'connected' : snapshot.state;
			this.#setState(state);
			if (state === 'connected' && !snapshot.handover) {
				this.#sawConnected = true;
				this.#checkFirstLoad();
			}
			this.#changed();
		},
		confirmed: (sub) => {
			if (this.#destroyed) return;
			if (this.#refused.delete(sub)) this.#changed();
			if (this.#firstLoad?.delete(sub)) this.#checkFirstLoad();
			// confirmed while being handed to the link: the hub carried it before the page loaded.
			// Confirmed after a reconnect's resume, it reloads all the same: the resume starts after
			// the newest seq this tab saw on any subscription, which may be past an event for this
			// one that the hub published before taking it (and the replay would not bring that).
			if (this.#late.delete(sub) && this.#handing !== sub) this.#lateLive(sub);
		},
		refused: (sub, refusal) => {
			if (this.#destroyed || !this.#subscriptions.has(sub)) return;
			this.#refused.set(sub, refusal);
			// the page loads what it shows all the same; it is just not kept live
			if (this.#firstLoad?.delete(sub)) this.#checkFirstLoad();
			this.#changed();
		},
		sharing: (role) => {
			this.#sharing = role;
			this.#changed();
		}
	};

	#wants(event: AnyEventEnvelope): boolean {
		for (const { filter } of this.#subscriptions.values()) if (matchesFilter(filter, event)) return true;
		return false;
	}

	#wantsStats(): boolean {
		for (const { filter } of this.#subscriptions.values()) {
			if (wantsStream(filter, SYSTEM_STATS_TYPE)) return true;
		}
		return false;
	}

	/** Hands an update to the page, or holds it while paused. */
	#apply(update: HeldUpdate, live = false): void {
		if (live && this.#pause.hold(update)) {
			this.#changed();
			return;
		}
		if (update.kind === 'event') this.#events.emit(update.event);
		else this.#controls.emit(update.message);
	}

	/** The first subscriptions are all live: what the page loaded before may have changed unseen. */
	#checkFirstLoad(): void {
		if (!this.#firstLoad || !this.#sawConnected || this.#firstLoad.size > 0) return;
		this.#firstLoad = null;
		if (this.#firstLoadHadSubs && !this.#pause.deferResync('subscribed', null)) {
			this.#resync('subscribed', null);
		}
	}

	/** A subscription made once connected is live: its subscriber's load may lack what came before. */
	#lateLive(sub: string): void {
		if (this.#pause.deferResync('subscribed', null)) return;
		const reload = this.#reloads.get(sub);
		if (!reload) {
			this.#resync('subscribed', null);
			return;
		}
		try {
			void Promise.allSettled([reload()]);
		} catch (err) {
			console.error('aco: a realtime handler threw', err);
		}
	}

	#resync(reason: ResyncReason, missed: number | null): void {
		// the first connect's reload is the page loading, not a resync worth showing
		const shown = reason !== 'subscribed';
		if (shown) this.#reloading++;
		const reloads = this.#resyncs.emit(reason);
		if (shown) this.#changed();
		void Promise.allSettled(reloads).then(() => {
			if (shown) this.#reloading--;
			if (this.#destroyed) return;
			this.#resynced.emit({ reason, missed });
			this.#changed();
		});
	}

	/** Handlers of a state change read the new figures: the change is announced first. */
	#setState(state: ConnectionState): void {
		const previous = this.#state;
		if (previous === state) return;
		this.#state = state;
		this.#changes.emit();
		this.#states.emit(state, previous);
	}

	#changed(): void {
		if (!this.#destroyed) this.#changes.emit();
	}
}
