/**
 * @module realtime/connection-host
 * The one hub connection of a browser, serving every tab that shares it (or just its own tab):
 * it subscribes the hub to the union of the tabs' subscriptions and hands out what the hub
 * sends: events in seq order, control messages, the resyncs every tab must do, the connection's
 * snapshot, and per tab the confirmation — or the hub's refusal — of each of its subscriptions.
 * Which events a tab wants is the tab's business (tab-connection filters by its own
 * subscriptions), so events go out once, whoever asked for them.
 *
 * The hub holds at most 32 subscriptions per connection (MAX_SUBSCRIPTIONS_PER_CLIENT), and
 * every task or run page subscribes to its own id. So subscriptions of one shape (filter-merge:
 * the same filter but for their task and run ids, the same rate) share one hub subscription
 * listing the union of their ids, up to {@link MAX_FILTER_IDS} ids (then another of that shape
 * starts); identical unscoped ones share one too. The union grows and shrinks by subscribing
 * again with the same hub id, which replaces the filter at the hub with no gap for the tabs it
 * already serves. A tab's subscription is confirmed once the hub confirms a filter that holds
 * its ids; one the hub refuses (or that would take the connection past
 * {@link MAX_CLIENT_FILTER_IDS} entries) is reported refused, and tried again when another
 * subscription frees room (the hub's refusals also on every new socket).
 */
import { MAX_CLIENT_FILTER_IDS, MAX_FILTER_IDS } from '../protocol/limits';
import type { AnyControlMessage, AnyEventEnvelope, EventFilter } from '../protocol/messages';
import { HubConnection, type HubSnapshot, type Subscription } from './connection-core';
import type { HubConnectionOptions, ResyncReason, SubscriptionRefusal } from './connection-types';
import { validateClientMessage } from '../protocol/messages';
import { covers, IdUnion, isScoped, keyOf, listedIn, shapeOf, withoutIds } from './filter-merge';

/** The connection as tabs see it: `handover` while a tab that just took over reconnects for the others. */
export interface HostSnapshot extends HubSnapshot {
	handover: boolean;
}

/** Where the host's output goes: to its own tab, and to the other tabs over a channel. */
export interface HostOutput {
	/** events in seq order, each once, as they arrive */
	events(events: AnyEventEnvelope[]): void;
	/** control messages, except the hub's answers to (un)subscribes, which become `confirmed` and `refused` */
	control(message: AnyControlMessage): void;
	/** every tab reloads what it shows (`reset`, `dropped`, `reconnect`) */
	resync(reason: ResyncReason, missed: number | null): void;
	snapshot(snapshot: HostSnapshot): void;
	/** the hub confirmed tab `tab`'s subscription `sub` */
	confirmed(tab: string, sub: string): void;
	/** the hub refused tab `tab`'s subscription `sub`: it gets no live updates */
	refused(tab: string, sub: string, refusal: SubscriptionRefusal): void;
}

export interface HostOptions extends HubConnectionOptions {
	/** this host takes over from a tab that held the connection before */
	handover?: boolean;
}

/** Longest hub subscription id (the protocol allows 64 characters). */
const MAX_SUB_ID = 64;
/**
 * The most characters of ids one shared subscription lists: half the hub's default largest
 * message (DEFAULT_MAX_INBOUND_BYTES, 64 KiB), so a subscribe of 1,000 long ids is never
 * refused for its size (then another subscription of that shape starts).
 */
const MAX_UNION_CHARS = 32 * 1024;

/** A subscription the host does not send: the connection's filters would list too much. */
const TOO_MANY_ENTRIES: SubscriptionRefusal = {
	code: 'too_many_filter_ids',
	message:
		`This connection's subscriptions would list more than ${MAX_CLIENT_FILTER_IDS} task ids, run ` +
		'ids, types and statuses together, the most the hub allows. Close pages you no longer watch.'
};

/** One hub subscription and the tab subscriptions it serves. */
interface UnionEntry {
	hubSub: string;
	shape: string;
	/** the filter without its ids (scoped), or the whole filter (unscoped), and the rate */
	base: Subscription;
	/** the ids of its users; null for an unscoped entry */
	ids: IdUnion | null;
	/** `tab \0 sub` of every tab subscription it serves, with what that subscription asks for */
	users: Map<string, Subscription>;
	/** what the core holds for it (sent, or sent on the next welcome); null until first sent */
	sent: Subscription | null;
	/** the filter the hub confirmed last on the current socket */
	held: EventFilter | null;
	/** users told they are confirmed on the current socket */
	confirmed: Set<string>;
	/** users told they are refused, and why, until a confirmation covers them */
	refused: Map<string, SubscriptionRefusal>;
	/** the hub refused its last subscribe, and none was sent since */
	refusal: SubscriptionRefusal | null;
}

export class ConnectionHost {
	readonly #core: HubConnection;
	readonly #out: HostOutput;
	readonly #byHubSub = new Map<string, UnionEntry>();
	readonly #byShape = new Map<string, UnionEntry[]>();
	readonly #entryOf = new Map<string, UnionEntry>();
	/** users refused here, not sent (see TOO_MANY_ENTRIES), in the order they came */
	readonly #waiting = new Map<string, Subscription>();
	/** entries changed by the current action, sent when it ends */
	readonly #dirty = new Set<UnionEntry>();
	/**
	 * hub ids unsubscribed on the current socket: never given to another entry while an answer
	 * to what they were last subscribed with may still come
	 */
	readonly #retired = new Set<string>();
	#handover: boolean;
	#lastSnapshot = '';
	#destroyed = false;

	constructor(options: HostOptions, out: HostOutput) {
		this.#out = out;
		this.#handover = options.handover ?? false;
		this.#core = new HubConnection(options);
		this.#core.onEvent((event) => this.#out.events([event]));
		this.#core.onControl((message) => this.#onControl(message));
		this.#core.onRefused((hubSub, error) => this.#onRefused(hubSub, error));
		this.#core.onResync((reason, missed) => {
			// a tab knows itself when its first subscriptions are confirmed
			if (reason === 'subscribed') return;
			this.#out.resync(reason, missed);
		});
		this.#core.onStateChange((state) => {
			if (state === 'connected') return;
			// the next socket is a new hub client: it confirms (or refuses) everything again
			this.#retired.clear();
			for (const entry of this.#byHubSub.values()) {
				entry.held = null;
				entry.confirmed.clear();
				entry.refusal = null;
			}
		});
		this.#core.onChange(() => this.#publishSnapshot());
	}

	snapshot(): HostSnapshot {
		const snapshot = this.#core.snapshot();
		if (this.#handover && (snapshot.state === 'connected' || snapshot.attempt > 0)) this.#handover = false;
		return { ...snapshot, handover: this.#handover };
	}

	/** Subscribes tab `tab`'s subscription `sub`; confirmed (or refused) through the output once the hub answers. */
	addSub(tab: string, sub: string, subscription: Subscription): void {
		const user = userOf(tab, sub);
		const entry = this.#entryOf.get(user);
		const same = entry?.users.get(user) ?? this.#waiting.get(user);
		if (same && keyOf(same) === keyOf(subscription)) {
			// asked again (a tab saying hello again): it learns where it stands
			if (entry) this.#tell(entry, user, true);
			else this.#out.refused(tab, sub, TOO_MANY_ENTRIES);
			return;
		}
		this.#leave(user);
		if (!this.#admit(user, sub, subscription)) {
			this.#waiting.set(user, subscription);
			this.#out.refused(tab, sub, TOO_MANY_ENTRIES);
		}
		this.#sync();
	}

	removeSub(tab: string, sub: string): void {
		this.#leave(userOf(tab, sub));
		this.#sync();
	}

	/** A tab went away: its subscriptions go, and the hub's with them where no other tab uses them. */
	removeTab(tab: string): void {
		const prefix = userOf(tab, '');
		for (const user of [...this.#entryOf.keys(), ...this.#waiting.keys()]) {
			if (user.startsWith(prefix)) this.#leave(user);
		}
		this.#sync();
	}

	connect(): void {
		this.#core.connect();
		this.#publishSnapshot();
	}

	retryNow(): void {
		this.#core.retryNow();
	}

	wake(): void {
		this.#core.wake();
	}

	/** Closes the socket; idempotent. */
	destroy(): void {
		if (this.#destroyed) return;
		this.#destroyed = true;
		this.#core.destroy();
	}

	// ---------- the union ----------

	/**
	 * Puts `user` in an entry of its shape with room, or a new one. Returns false, leaving it
	 * out, when the connection's filters would list more than the hub allows a client.
	 */
	#admit(user: string, sub: string, subscription: Subscription): boolean {
		// one the hub would refuse (an id too long, say) shares with nobody: the refusal stays its own
		// (its filter and rate are checked; the hub id is made to fit, see #freeHubSub)
		const valid = validateClientMessage({
			type: 'subscribe',
			sub: 'any',
			filter: subscription.filter,
			...(subscription.maxRate ? { max_rate: subscription.maxRate } : {})
		}).ok;
		const shape = valid ? shapeOf(subscription) : `alone\u0000${user}`;
		const scoped = valid && isScoped(subscription.filter);
		const room = MAX_CLIENT_FILTER_IDS - this.#listed();
		for (const entry of this.#byShape.get(shape) ?? []) {
			const more = entry.ids?.missing(subscription.filter) ?? { ids: 0, chars: 0 };
			if (entry.ids && entry.ids.size + more.ids > MAX_FILTER_IDS) continue;
			if (entry.ids && entry.ids.chars + more.chars > MAX_UNION_CHARS) continue;
			if (more.ids > room) return false;
			this.#join(entry, user, subscription);
			return true;
		}
		if (listedIn(subscription.filter) > room) return false;
		const entry: UnionEntry = {
			hubSub: this.#freeHubSub(sub),
			shape,
			base: scoped ? { ...subscription, filter: withoutIds(subscription.filter) } : subscription,
			ids: scoped ? new IdUnion() : null,
			users: new Map(),
			sent: null,
			held: null,
			confirmed: new Set(),
			refused: new Map(),
			refusal: null
		};
		this.#byHubSub.set(entry.hubSub, entry);
		this.#byShape.set(shape, [...(this.#byShape.get(shape) ?? []), entry]);
		this.#join(entry, user, subscription);
		return true;
	}

	#join(entry: UnionEntry, user: string, subscription: Subscription): void {
		entry.users.set(user, subscription);
		entry.ids?.add(subscription.filter);
		this.#entryOf.set(user, entry);
		this.#dirty.add(entry);
	}

	#leave(user: string): void {
		if (this.#waiting.delete(user)) return;
		const entry = this.#entryOf.get(user);
		const subscription = entry?.users.get(user);
		if (!entry || !subscription) return;
		this.#entryOf.delete(user);
		entry.users.delete(user);
		entry.ids?.remove(subscription.filter);
		entry.confirmed.delete(user);
		entry.refused.delete(user);
		this.#dirty.add(entry);
	}

	/**
	 * Tells the hub what the last action changed: entries left without users are unsubscribed
	 * first (that frees room), changed ones subscribed again under their hub id. Then what waits
	 * for room is tried again, and each user added learns at once where it stands if it can.
	 */
	#sync(retry = true): void {
		const dirty = [...this.#dirty];
		this.#dirty.clear();
		let freed = false;
		for (const entry of dirty) {
			if (entry.users.size > 0) continue;
			this.#byHubSub.delete(entry.hubSub);
			const same = (this.#byShape.get(entry.shape) ?? []).filter((e) => e !== entry);
			if (same.length) this.#byShape.set(entry.shape, same);
			else this.#byShape.delete(entry.shape);
			if (entry.sent) {
				this.#core.unsubscribe(entry.hubSub);
				this.#retired.add(entry.hubSub);
			}
			freed = true;
		}
		for (const entry of dirty) {
			if (entry.users.size === 0) continue;
			const next = this.#wanted(entry);
			if (!entry.sent || keyOf(next) !== keyOf(entry.sent)) {
				if (entry.sent && listedIn(next.filter) < listedIn(entry.sent.filter)) freed = true;
				this.#send(entry, next);
			}
			for (const user of entry.users.keys()) this.#tell(entry, user);
		}
		if (freed && retry) this.#retry();
	}

	/** Room was freed: subscriptions refused for the lack of it are tried again. */
	#retry(): void {
		const waiting = [...this.#waiting];
		this.#waiting.clear();
		for (const [user, subscription] of waiting) {
			// still no room: it was told already
			if (!this.#admit(user, splitUser(user)[1], subscription)) this.#waiting.set(user, subscription);
		}
		this.#sync(false);
		for (const entry of this.#byHubSub.values()) {
			if (entry.refusal && entry.sent) this.#send(entry, entry.sent);
		}
	}

	#send(entry: UnionEntry, subscription: Subscription): void {
		entry.sent = subscription;
		entry.refusal = null;
		this.#core.subscribe(entry.hubSub, subscription.filter, { maxRate: subscription.maxRate });
	}

	/** What the hub should hold for `entry`: its base with the union of its users' ids. */
	#wanted(entry: UnionEntry): Subscription {
		if (!entry.ids) return entry.base;
		return { ...entry.base, filter: entry.ids.filter(entry.base.filter) };
	}

	/** Entries all of the connection's filters list (as the hub counts them), as they will be sent. */
	#listed(): number {
		let total = 0;
		for (const entry of this.#byHubSub.values()) {
			if (entry.users.size > 0) total += listedIn(entry.base.filter) + (entry.ids?.size ?? 0);
		}
		return total;
	}

	/**
	 * Confirms `user` once the hub holds a filter that serves it, or refuses it when the hub
	 * refused the last subscribe; says nothing new unless `again` (it asked where it stands).
	 */
	#tell(entry: UnionEntry, user: string, again = false): void {
		const subscription = entry.users.get(user);
		if (!subscription) return;
		const [tab, sub] = splitUser(user);
		// a user confirmed stays served (every union since lists its ids); a newcomer only once every
		// subscribe sent is answered: an answer to an earlier union (a shrink, while a grow is on its
		// way) says nothing of what the hub will hold
		const { held } = entry;
		const served =
			held !== null &&
			covers(held, subscription.filter) &&
			(entry.confirmed.has(user) || !this.#core.answering(entry.hubSub));
		if (served) {
			if (entry.confirmed.has(user) && !again) return;
			entry.confirmed.add(user);
			entry.refused.delete(user);
			this.#out.confirmed(tab, sub);
			return;
		}
		const told = entry.refused.get(user);
		const refusal = entry.refusal ?? (again ? told : undefined);
		if (!refusal || (told?.code === refusal.code && !again)) return;
		entry.refused.set(user, refusal);
		this.#out.refused(tab, sub, refusal);
	}

	/** A hub id of the first tab's own name for it, made unique. */
	#freeHubSub(name: string): string {
		const taken = (id: string) => this.#byHubSub.has(id) || this.#retired.has(id);
		const sub = name.slice(0, MAX_SUB_ID);
		if (!taken(sub)) return sub;
		for (let n = 2; ; n++) {
			const suffix = `~${n}`;
			const id = sub.slice(0, MAX_SUB_ID - suffix.length) + suffix;
			if (!taken(id)) return id;
		}
	}

	// ---------- what the hub says ----------

	#onControl(message: AnyControlMessage): void {
		if (message.type === 'subscribed') {
			const entry = this.#byHubSub.get(message.data.id);
			if (!entry) return;
			entry.held = message.data.filter ?? {};
			entry.refusal = null;
			for (const user of entry.users.keys()) this.#tell(entry, user);
			return;
		}
		if (message.type === 'unsubscribed') return;
		this.#out.control(message);
	}

	/** The hub kept what it held for `hubSub` (if anything): the users that filter does not serve are refused. */
	#onRefused(hubSub: string, error: SubscriptionRefusal): void {
		const entry = this.#byHubSub.get(hubSub);
		if (!entry) return;
		entry.refusal = { code: error.code, message: error.message };
		for (const user of entry.users.keys()) this.#tell(entry, user);
	}

	#publishSnapshot(): void {
		if (this.#destroyed) return;
		const snapshot = this.snapshot();
		const text = JSON.stringify(snapshot);
		if (text === this.#lastSnapshot) return;
		this.#lastSnapshot = text;
		this.#out.snapshot(snapshot);
	}
}

function userOf(tab: string, sub: string): string {
	return `${tab}\u0000${sub}`;
}

function splitUser(user: string): [string, string] {
	const at = user.indexOf('\u0000');
	return [user.slice(0, at), user.slice(at + 1)];
}
