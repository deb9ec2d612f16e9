/**
 * @module realtime/connection-host
 * The one hub connection of a browser, serving every tab that shares it (or just its own tab):
 * it subscribes the hub to the union of the tabs' subscriptions — one hub subscription per
 * distinct filter and rate, counted by the tabs using it, so one tab's unsubscribe never cuts
 * another's — and hands out what the hub sends: events in seq order, control messages, the
 * resyncs every tab must do, the connection's snapshot, and per tab the confirmation of each of
 * its subscriptions. Which events a tab wants is the tab's business (tab-connection filters by
 * its own subscriptions), so events go out once, whoever asked for them.
 */
import type { AnyControlMessage, AnyEventEnvelope } from '../protocol/messages';
import { HubConnection, type HubSnapshot, type Subscription } from './connection-core';
import type { HubConnectionOptions, ResyncReason } from './connection-types';

/** The connection as tabs see it: `handover` while a tab that just took over reconnects for the others. */
export interface HostSnapshot extends HubSnapshot {
	handover: boolean;
}

/** Where the host's output goes: to its own tab, and to the other tabs over a channel. */
export interface HostOutput {
	/** events in seq order, each once, as they arrive */
	events(events: AnyEventEnvelope[]): void;
	/** control messages, except the hub's (un)subscribe replies, which become `confirmed` */
	control(message: AnyControlMessage): void;
	/** every tab reloads what it shows (`reset`, `dropped`, `reconnect`) */
	resync(reason: ResyncReason, missed: number | null): void;
	snapshot(snapshot: HostSnapshot): void;
	/** the hub confirmed tab `tab`'s subscription `sub` */
	confirmed(tab: string, sub: string): void;
}

export interface HostOptions extends HubConnectionOptions {
	/** this host takes over from a tab that held the connection before */
	handover?: boolean;
}

/** Longest hub subscription id (the protocol allows 64 characters). */
const MAX_SUB_ID = 64;

interface UnionEntry {
	hubSub: string;
	subscription: Subscription;
	/** `tab \0 sub` of every tab subscription this entry serves */
	users: Set<string>;
	/** the hub confirmed it on the current socket */
	confirmed: boolean;
}

export class ConnectionHost {
	readonly #core: HubConnection;
	readonly #out: HostOutput;
	readonly #byKey = new Map<string, UnionEntry>();
	readonly #byHubSub = new Map<string, UnionEntry>();
	readonly #userKey = new Map<string, string>();
	#handover: boolean;
	#lastSnapshot = '';
	#destroyed = false;

	constructor(options: HostOptions, out: HostOutput) {
		this.#out = out;
		this.#handover = options.handover ?? false;
		this.#core = new HubConnection(options);
		this.#core.onEvent((event) => this.#out.events([event]));
		this.#core.onControl((message) => this.#onControl(message));
		this.#core.onResync((reason, missed) => {
			// a tab knows itself when its first subscriptions are confirmed
			if (reason === 'subscribed') return;
			this.#out.resync(reason, missed);
		});
		this.#core.onStateChange((state) => {
			if (state === 'connected') return;
			for (const entry of this.#byKey.values()) entry.confirmed = false;
		});
		this.#core.onChange(() => this.#publishSnapshot());
	}

	snapshot(): HostSnapshot {
		const snapshot = this.#core.snapshot();
		if (this.#handover && (snapshot.state === 'connected' || snapshot.attempt > 0)) this.#handover = false;
		return { ...snapshot, handover: this.#handover };
	}

	/** Subscribes tab `tab`'s subscription `sub`; confirmed through the output once the hub has it. */
	addSub(tab: string, sub: string, subscription: Subscription): void {
		const user = userOf(tab, sub);
		const key = keyOf(subscription);
		const previous = this.#userKey.get(user);
		if (previous !== undefined && previous !== key) this.#removeUser(user);
		let entry = this.#byKey.get(key);
		if (!entry) {
			entry = { hubSub: this.#freeHubSub(sub), subscription, users: new Set(), confirmed: false };
			this.#byKey.set(key, entry);
			this.#byHubSub.set(entry.hubSub, entry);
			entry.users.add(user);
			this.#userKey.set(user, key);
			this.#core.subscribe(entry.hubSub, subscription.filter, { maxRate: subscription.maxRate });
			return;
		}
		entry.users.add(user);
		this.#userKey.set(user, key);
		if (entry.confirmed) this.#out.confirmed(tab, sub);
	}

	removeSub(tab: string, sub: string): void {
		this.#removeUser(userOf(tab, sub));
	}

	/** A tab went away: its subscriptions go, and the hub's with them where no other tab uses them. */
	removeTab(tab: string): void {
		const prefix = userOf(tab, '');
		for (const user of [...this.#userKey.keys()]) if (user.startsWith(prefix)) this.#removeUser(user);
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

	#removeUser(user: string): void {
		const key = this.#userKey.get(user);
		if (key === undefined) return;
		this.#userKey.delete(user);
		const entry = this.#byKey.get(key);
		if (!entry) return;
		entry.users.delete(user);
		if (entry.users.size > 0) return;
		this.#byKey.delete(key);
		this.#byHubSub.delete(entry.hubSub);
		this.#core.unsubscribe(entry.hubSub);
	}

	/** A readable hub id: the first tab's own name for it, made unique. */
	#freeHubSub(sub: string): string {
		if (!this.#byHubSub.has(sub)) return sub;
		for (let n = 2; ; n++) {
			const suffix = `~${n}`;
			const id = sub.slice(0, MAX_SUB_ID - suffix.length) + suffix;
			if (!this.#byHubSub.has(id)) return id;
		}
	}

	#onControl(message: AnyControlMessage): void {
		if (message.type === 'subscribed') {
			const entry = this.#byHubSub.get(message.data.id);
			if (!entry) return;
			entry.confirmed = true;
			for (const user of entry.users) {
				const [tab, sub] = splitUser(user);
				this.#out.confirmed(tab, sub);
			}
			return;
		}
		if (message.type === 'unsubscribed') return;
		this.#out.control(message);
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

/** Subscriptions with the same filter and rate share one hub subscription. */
function keyOf({ filter, maxRate }: Subscription): string {
	return JSON.stringify([sortKeys(filter), maxRate ?? null]);
}

function sortKeys(value: unknown): unknown {
	if (Array.isArray(value)) return value.map(sortKeys);
	if (value === null || typeof value !== 'object') return value;
	return Object.fromEntries(
		Object.entries(value as Record<string, unknown>)
			.filter(([, v]) => v !== undefined)
			.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
			.map(([k, v]) => [k, sortKeys(v)])
	);
}
