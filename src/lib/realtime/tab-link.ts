/**
 * @module realtime/tab-link
 * How one tab reaches the hub connection: a {@link TabLink} carries the tab's subscriptions and
 * requests to whoever holds the connection, and a {@link TabSink} is what the tab hears back.
 * {@link SoloLink} is a connection of the tab's own (where tabs cannot share, or sharing is off);
 * tab-share's link reaches the connection one tab holds for all of them.
 */
import type { AnyControlMessage, AnyEventEnvelope } from '../protocol/messages';
import type { Subscription } from './connection-core';
import { ConnectionHost, type HostOptions, type HostSnapshot } from './connection-host';
import type { ResyncReason, SubscriptionRefusal } from './connection-types';

/** What a tab hears from the connection. */
export interface TabSink {
	/** events in seq order; they may include events other tabs asked for */
	events(events: AnyEventEnvelope[]): void;
	control(message: AnyControlMessage): void;
	resync(reason: ResyncReason, missed: number | null): void;
	snapshot(snapshot: HostSnapshot): void;
	/** the hub has this tab's subscription `sub` */
	confirmed(sub: string): void;
	/** the hub refused this tab's subscription `sub` (until a later `confirmed`) */
	refused(sub: string, refusal: SubscriptionRefusal): void;
	/** whose connection this tab uses now */
	sharing(role: TabSharing): void;
}

/**
 * Whose connection a tab uses: its own (`solo`: the browser cannot share, or sharing is off),
 * the one it holds for every tab (`leader`), another tab's (`follower`), or not known yet.
 */
export type TabSharing = 'solo' | 'leader' | 'follower' | 'starting';

/** What a tab asks of the connection. */
export interface TabLink {
	/** the connection carries other tabs' subscriptions too: the tab filters what it is handed */
	readonly shared: boolean;
	/**
	 * Starts serving the tab with the subscriptions it already has; once. `position` is where the
	 * tab stands in the event stream, for a link that may have to resume the connection from it.
	 */
	start(
		sink: TabSink,
		subscriptions: ReadonlyMap<string, Subscription>,
		position?: () => { epoch: string | null; seq: number }
	): void;
	subscribe(sub: string, subscription: Subscription): void;
	unsubscribe(sub: string): void;
	retryNow(): void;
	/** Leaves the connection (and closes it when no other tab uses it); idempotent. */
	destroy(): void;
}

const SELF = 'self';

/** A connection of this tab's own. */
export class SoloLink implements TabLink {
	readonly shared = false;
	readonly #options: HostOptions;
	#host: ConnectionHost | null = null;

	constructor(options: HostOptions) {
		this.#options = options;
	}

	start(sink: TabSink, subscriptions: ReadonlyMap<string, Subscription>): void {
		if (this.#host) return;
		const host = new ConnectionHost(this.#options, {
			events: (events) => sink.events(events),
			control: (message) => sink.control(message),
			resync: (reason, missed) => sink.resync(reason, missed),
			snapshot: (snapshot) => sink.snapshot(snapshot),
			confirmed: (_tab, sub) => sink.confirmed(sub),
			refused: (_tab, sub, refusal) => sink.refused(sub, refusal)
		});
		this.#host = host;
		sink.sharing('solo');
		for (const [sub, subscription] of subscriptions) host.addSub(SELF, sub, subscription);
		host.connect();
	}

	subscribe(sub: string, subscription: Subscription): void {
		this.#host?.addSub(SELF, sub, subscription);
	}

	unsubscribe(sub: string): void {
		this.#host?.removeSub(SELF, sub);
	}

	retryNow(): void {
		this.#host?.retryNow();
	}

	destroy(): void {
		this.#host?.destroy();
	}
}
