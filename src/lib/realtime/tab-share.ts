/**
 * @module realtime/tab-share
 * One WebSocket for all the tabs of a browser. Every tab asks for the leader lock (Web Locks);
 * the tab holding it runs the connection (connection-host) for everyone, and the others talk to
 * it over a BroadcastChannel: they announce their subscriptions, and it posts what the hub sends
 * — events once, in seq order, for every tab to filter by its own subscriptions — plus the
 * connection's state, the resyncs, and each tab's confirmations and refusals.
 *
 * Every tab keeps the register of every tab's subscriptions, so the tab that takes over when the
 * leader goes (the browser frees the lock as the tab closes) subscribes the hub to the union at
 * once and resumes from the last seq it saw: the hub replays the gap, every tab drops what it had
 * already seen, and no tab loses or repeats an event. A tab that closes without saying so is
 * noticed through its own lock, which the leader waits on: the browser frees it with the tab.
 * A follower that has not heard from the leader for {@link DEFAULT_LEADER_QUIET_MS} asks it for a
 * sign of life (as does a tab that just joined, asks to retry, or became visible); a leader that
 * does not answer within {@link DEFAULT_LEADER_ANSWER_MS} is taken over (the lock is stolen): a
 * hung or frozen tab must not hold every tab's connection hostage. The leader it was steps down,
 * and until then the other tabs ignore what it still posts — its socket may lack a subscription
 * made while it hung, and an event it passes on late must not move a tab past one the new leader
 * replays. A leader that was paused (a debugger, a frozen page) loses what was posted meanwhile,
 * the news of the takeover too, and wakes still leading: what the new leader posts before the
 * browser tells it its lock was taken is kept, and taken once it steps down (a tab that says
 * hello leads no more, so what it posted as leader is neither kept nor ignored from then on).
 * The asking is done by the followers (the leader answers from its message handler) so a leader
 * in a hidden tab, whose timers the browser slows, is not taken for a hung one.
 */
import type { AnyControlMessage, AnyEventEnvelope } from '../protocol/messages';
import type { Subscription } from './connection-core';
import { ConnectionHost, type HostOptions, type HostSnapshot, type HostOutput } from './connection-host';
import type { ResyncReason, SubscriptionRefusal } from './connection-types';
import type { TabLink, TabSink } from './tab-link';

/** How long a tab waits for the leader to answer it before it takes the connection over. */
export const DEFAULT_LEADER_ANSWER_MS = 5_000;
/** How long a follower hears nothing from the leader before it asks for a sign of life. */
export const DEFAULT_LEADER_QUIET_MS = 2_000;
/** Posts of another leader a tab keeps while it still leads itself (see TabShare's `#unheard`). */
export const MAX_UNHEARD_POSTS = 10_000;

/** The slice of the Web Locks API (`navigator.locks`) tab sharing uses. */
export interface LockManagerLike {
	request(
		name: string,
		options: { ifAvailable?: boolean; signal?: AbortSignal; steal?: boolean },
		callback: (lock: unknown) => unknown
	): Promise<unknown>;
}

/** The slice of a BroadcastChannel tab sharing uses. */
export interface ChannelLike {
	onmessage: ((ev: { data: unknown }) => void) | null;
	postMessage(message: unknown): void;
	close(): void;
}

/**
 * Where the tab stands: waiting for its own lock, following the leader, leading, or on its own
 * (`solo`: the browser refused it the locks or the channel, as in a sandboxed frame).
 */
export type TabRole = 'starting' | 'follower' | 'leader' | 'solo';

export interface TabShareOptions {
	/** the connection's options, used when this tab leads */
	hub: HostOptions;
	/** `navigator.locks` by default */
	locks?: LockManagerLike;
	/** `new BroadcastChannel(name)` by default */
	openChannel?: (name: string) => ChannelLike;
	/** this tab's id; random by default */
	tabId?: string;
	/** see {@link DEFAULT_LEADER_ANSWER_MS} */
	leaderAnswerMs?: number;
	/** see {@link DEFAULT_LEADER_QUIET_MS} */
	leaderQuietMs?: number;
}

/** What tabs tell each other. */
export type TabMessage =
	| { t: 'hello'; tab: string; subs: [string, Subscription][] }
	/** the answer of every tab to a newcomer's hello: its own subscriptions, for the register */
	| { t: 'here'; tab: string; subs: [string, Subscription][] }
	| { t: 'sub'; tab: string; sub: string; subscription: Subscription }
	| { t: 'unsub'; tab: string; sub: string }
	| { t: 'bye'; tab: string }
	| { t: 'retry' }
	| { t: 'wake' }
	/** a tab wants a sign of life from the leader (it answers with a snapshot) */
	| { t: 'ping' }
	/** `tab` leads now; `stolen`: it took the lock from a leader that did not answer */
	| { t: 'leader'; tab: string; stolen: boolean }
	| { t: 'gone'; tab: string }
	| LeaderOutput;

/** What the leader posts of its connection, signed with its tab id (`from`). */
type LeaderOutput = { from: string } & (
	| { t: 'events'; events: AnyEventEnvelope[] }
	| { t: 'control'; message: AnyControlMessage }
	| { t: 'resync'; reason: ResyncReason; missed: number | null }
	| { t: 'snapshot'; snapshot: HostSnapshot }
	/** a leader of the version before sends `replayed` too: ignored (every confirmation reloads) */
	| { t: 'confirmed'; tab: string; sub: string }
	| { t: 'refused'; tab: string; sub: string; refusal: SubscriptionRefusal }
);

/** A leader's post as it comes over the channel. */
type LeaderMessage = Extract<TabMessage, { from: string }>;

/** Whether this browser can share one connection among its tabs. */
export function canShareTabs(): boolean {
	return (
		typeof navigator !== 'undefined' &&
		typeof navigator.locks?.request === 'function' &&
		typeof BroadcastChannel !== 'undefined'
	);
}

export class TabShare implements TabLink {
	readonly shared = true;
	readonly #options: TabShareOptions;
	readonly #id: string;
	readonly #scope: string;
	/** every tab's subscriptions, this one's included, by tab id */
	readonly #registry = new Map<string, Map<string, Subscription>>();
	/** the other tabs the leader waits on, to notice when they close */
	readonly #watched = new Map<string, AbortController>();
	#leaderRequest = new AbortController();
	/** runs out when the leader has not answered a tab that needs it */
	#answerTimer: ReturnType<typeof setTimeout> | null = null;
	/** a follower's check that it still hears from the leader */
	#watchdog: ReturnType<typeof setInterval> | null = null;
	/** when this tab last heard from the leader (clock ms) */
	#heardAt = 0;
	/** after a takeover, the only tab whose output counts (the one deposed may still post) */
	#onlyFrom: string | null = null;
	/** the tab last known to lead */
	#leaderTab: string | null = null;
	/** leaders whose lock was taken: what they post is ignored until they lead again */
	readonly #deposed = new Set<string>();
	/** the leader before this tab led (its last posts after a handover are covered by the resume) */
	#predecessor: string | null = null;
	/**
	 * What another tab posted as leader while this one still led. A tab paused (in a debugger, a
	 * frozen page) loses what is posted meanwhile, the taking tab's `leader` message too: it wakes
	 * still leading, hears the new leader's events before the browser tells it its lock was taken,
	 * and takes them once it steps down. Dropped, it would go on with a hole from where its own
	 * socket stopped. null: more came than {@link MAX_UNHEARD_POSTS}, so it reloads instead.
	 */
	#unheard: LeaderMessage[] | null = [];
	#locks: LockManagerLike | null = null;
	#channel: ChannelLike | null = null;
	#sink: TabSink | null = null;
	#position: () => { epoch: string | null; seq: number } = () => ({ epoch: null, seq: 0 });
	#host: ConnectionHost | null = null;
	#role: TabRole = 'starting';
	/** a leader was heard from before: taking over is a handover, not a first connect */
	#sawLeader = false;
	#outgoing: AnyEventEnvelope[] = [];
	#flushQueued = false;
	#releaseTab: (() => void) | null = null;
	#releaseLeader: (() => void) | null = null;
	#destroyed = false;

	constructor(options: TabShareOptions) {
		this.#options = options;
		this.#id = options.tabId ?? randomId();
		this.#scope = `aco:${options.hub.url}`;
	}

	get id(): string {
		return this.#id;
	}
	get role(): TabRole {
		return this.#role;
	}

	start(
		sink: TabSink,
		subscriptions: ReadonlyMap<string, Subscription>,
		position?: () => { epoch: string | null; seq: number }
	): void {
		if (this.#sink || this.#destroyed) return;
		this.#sink = sink;
		if (position) this.#position = position;
		this.#registry.set(this.#id, new Map(subscriptions));
		const locks = this.#options.locks ?? (navigator.locks as unknown as LockManagerLike);
		this.#locks = locks;
		const open =
			this.#options.openChannel ?? ((name) => new BroadcastChannel(name) as unknown as ChannelLike);
		let channel: ChannelLike;
		try {
			channel = open(this.#scope);
		} catch (err) {
			this.#goSolo(err);
			return;
		}
		this.#channel = channel;
		channel.onmessage = (ev) => this.#receive(ev.data as TabMessage);
		this.#options.hub.target?.addEventListener('online', this.#onWake);
		this.#options.hub.visibility?.target.addEventListener('visibilitychange', this.#onVisibility);
		// hold this tab's own lock for its whole life first: the leader learns of its end by it
		void locks
			.request(this.#lockName(this.#id), {}, () => {
				if (this.#destroyed) return;
				this.#setRole('follower');
				this.#askLeader({ t: 'hello', tab: this.#id, subs: [...(this.#registry.get(this.#id) ?? [])] });
				this.#requestLead(false);
				return new Promise<void>((resolve) => (this.#releaseTab = resolve));
			})
			.catch((err: unknown) => this.#goSolo(err));
	}

	/**
	 * The leader subscribes the hub; every tab is told either way, the leader's own changes too:
	 * a tab that takes over from a hung leader subscribes everything in the register at once.
	 */
	subscribe(sub: string, subscription: Subscription): void {
		this.#registry.get(this.#id)?.set(sub, subscription);
		this.#host?.addSub(this.#id, sub, subscription);
		this.#post({ t: 'sub', tab: this.#id, sub, subscription });
	}

	unsubscribe(sub: string): void {
		this.#registry.get(this.#id)?.delete(sub);
		this.#host?.removeSub(this.#id, sub);
		this.#post({ t: 'unsub', tab: this.#id, sub });
	}

	retryNow(): void {
		if (this.#host) this.#host.retryNow();
		else this.#askLeader({ t: 'retry' });
	}

	/** Leaves: the leader closes its socket and hands over; a follower drops its subscriptions. */
	destroy(): void {
		if (this.#destroyed) return;
		this.#flush();
		this.#post({ t: 'bye', tab: this.#id });
		this.#destroyed = true;
		this.#options.hub.target?.removeEventListener('online', this.#onWake);
		this.#options.hub.visibility?.target.removeEventListener('visibilitychange', this.#onVisibility);
		this.#host?.destroy();
		this.#host = null;
		this.#unheard = [];
		for (const watch of this.#watched.values()) watch.abort();
		this.#watched.clear();
		this.#leaderRequest.abort();
		this.#stopWaiting();
		this.#stopWatchdog();
		this.#releaseLeader?.();
		this.#releaseTab?.();
		this.#channel?.close();
		this.#channel = null;
	}

	// ---------- leading ----------

	/**
	 * Asks for the leader lock: in turn, or (`steal`) at once, taking it from a leader that did
	 * not answer. A leader whose lock is taken learns it when its request fails, and steps down.
	 */
	#requestLead(steal: boolean): void {
		const locks = this.#locks;
		if (!locks || this.#destroyed) return;
		this.#leaderRequest.abort();
		const request = new AbortController();
		this.#leaderRequest = request;
		const options = steal ? { steal: true } : { signal: request.signal };
		void locks
			.request(`${this.#scope}:leader`, options, () =>
				request.signal.aborted ? undefined : this.#lead(steal)
			)
			.then(
				() => this.#stepDown(request),
				() => this.#stepDown(request)
			);
	}

	/** The browser refused this tab the locks or the channel: it connects on its own, as where tabs cannot share. */
	#goSolo(err: unknown): void {
		if (this.#destroyed || this.#host) return;
		this.#options.hub.log?.('tabs cannot share a connection here; this tab connects on its own', err);
		this.#leaderRequest.abort();
		this.#stopWaiting();
		this.#stopWatchdog();
		this.#channel?.close();
		this.#channel = null;
		const from = this.#position();
		const host = new ConnectionHost(
			{ ...this.#options.hub, resumeFrom: from.epoch !== null ? { epoch: from.epoch, seq: from.seq } : null },
			this.#output
		);
		this.#host = host;
		for (const [sub, subscription] of this.#registry.get(this.#id) ?? [])
			host.addSub(this.#id, sub, subscription);
		this.#setRole('solo');
		host.connect();
	}

	/** The leader lock asked for by `request` is gone without this tab leaving (it was taken). */
	#stepDown(request: AbortController): void {
		if (this.#leaderRequest !== request) return;
		this.#resign();
	}

	/** This tab's leadership ended without it leaving (its lock was taken): it follows again. */
	#resign(): void {
		if (this.#destroyed || !this.#host || this.#role === 'solo') return;
		this.#options.hub.log?.('another tab took over the shared connection');
		// what it passed on goes before its hello: after that the others no longer ignore it
		this.#flush();
		this.#host.destroy();
		this.#host = null;
		for (const watch of this.#watched.values()) watch.abort();
		this.#watched.clear();
		this.#setRole('follower');
		this.#sawLeader = true;
		// the new leader may not know this tab's subscriptions
		this.#post({ t: 'hello', tab: this.#id, subs: [...(this.#registry.get(this.#id) ?? [])] });
		this.#requestLead(false);
		// what the new leader posted while this tab still led: its events after this tab's own
		const unheard = this.#unheard;
		this.#unheard = [];
		if (unheard === null || this.#startsPastPosition(unheard)) this.#sink?.resync('dropped', null);
		else for (const message of unheard) this.#receive(message);
	}

	/**
	 * Whether the first of `posts` is an event past the one after this tab's position: its own
	 * socket stopped earlier (the hub closed it while the tab was paused) and what came between
	 * was posted while it was paused, so lost.
	 */
	#startsPastPosition(posts: readonly LeaderMessage[]): boolean {
		const first = posts[0];
		if (first?.t !== 'events' || first.events.length === 0) return false;
		const position = this.#position();
		return first.events[0]!.seq > position.seq + 1;
	}

	#lead(stolen: boolean): Promise<void> | undefined {
		if (this.#destroyed) return undefined;
		this.#stopWaiting();
		this.#onlyFrom = null;
		this.#predecessor = this.#leaderTab;
		this.#unheard = [];
		this.#leaderChanged(this.#id, stolen);
		this.#setRole('leader');
		const from = this.#position();
		const host = new ConnectionHost(
			{
				...this.#options.hub,
				resumeFrom: from.epoch !== null ? { epoch: from.epoch, seq: from.seq } : null,
				handover: this.#sawLeader
			},
			this.#output
		);
		this.#host = host;
		for (const [tab, subs] of this.#registry) {
			for (const [sub, subscription] of subs) host.addSub(tab, sub, subscription);
			if (tab !== this.#id) this.#watch(tab);
		}
		this.#post({ t: 'leader', tab: this.#id, stolen });
		host.connect();
		// held until this tab goes; the browser frees it when the tab closes
		return new Promise<void>((resolve) => (this.#releaseLeader = resolve));
	}

	/** What the host says goes to this tab at once and to the others over the channel, in order. */
	readonly #output: HostOutput = {
		events: (events) => {
			this.#sink?.events(events);
			this.#outgoing.push(...events);
			if (!this.#flushQueued) {
				this.#flushQueued = true;
				queueMicrotask(() => this.#flush());
			}
		},
		control: (message) => {
			this.#post({ t: 'control', from: this.#id, message });
			this.#sink?.control(message);
		},
		resync: (reason, missed) => {
			this.#post({ t: 'resync', from: this.#id, reason, missed });
			this.#sink?.resync(reason, missed);
		},
		snapshot: (snapshot) => {
			this.#post({ t: 'snapshot', from: this.#id, snapshot });
			this.#sink?.snapshot(snapshot);
		},
		confirmed: (tab, sub) => {
			if (tab === this.#id) this.#sink?.confirmed(sub);
			else this.#post({ t: 'confirmed', from: this.#id, tab, sub });
		},
		refused: (tab, sub, refusal) => {
			if (tab === this.#id) this.#sink?.refused(sub, refusal);
			else this.#post({ t: 'refused', from: this.#id, tab, sub, refusal });
		}
	};

	/** Waits on another tab's lock: granted means the tab is gone. */
	#watch(tab: string): void {
		if (this.#watched.has(tab) || !this.#locks) return;
		const watch = new AbortController();
		this.#watched.set(tab, watch);
		void this.#locks
			.request(this.#lockName(tab), { signal: watch.signal }, () => {
				if (this.#watched.get(tab) !== watch) return;
				this.#forget(tab);
				this.#post({ t: 'gone', tab });
			})
			.catch(() => {});
	}

	#forget(tab: string): void {
		this.#registry.delete(tab);
		this.#host?.removeTab(tab);
		this.#watched.get(tab)?.abort();
		this.#watched.delete(tab);
	}

	// ---------- the channel ----------

	/**
	 * `tab` says which subscriptions it has: the register takes the list, and returns those it
	 * held for the tab that the list lacks (an unsubscribe this tab missed while paused or deaf).
	 */
	#register(tab: string, subs: [string, Subscription][]): string[] {
		const before = this.#registry.get(tab);
		const now = new Map(subs);
		this.#registry.set(tab, now);
		return [...(before?.keys() ?? [])].filter((sub) => !now.has(sub));
	}

	/** The host serves `tab` its listed subscriptions, and no longer those `dropped`. */
	#hold(host: ConnectionHost, tab: string, subs: [string, Subscription][], dropped: string[]): void {
		for (const sub of dropped) host.removeSub(tab, sub);
		for (const [sub, subscription] of subs) host.addSub(tab, sub, subscription);
		this.#watch(tab);
	}

	#receive(message: TabMessage): void {
		if (this.#destroyed) return;
		const sink = this.#sink!;
		const host = this.#host;
		switch (message.t) {
			case 'hello': {
				// a tab that says hello has no socket: what it posts as leader from now on follows
				// a `leader` message of its own (one this tab may miss while paused)
				this.#deposed.delete(message.tab);
				if (this.#predecessor === message.tab) this.#predecessor = null;
				if (this.#unheard) this.#unheard = this.#unheard.filter((m) => m.from !== message.tab);
				const known = this.#registry.has(message.tab);
				const dropped = this.#register(message.tab, message.subs);
				// a newcomer learns every tab's subscriptions, so it can take over with all of them
				if (!known) this.#post({ t: 'here', tab: this.#id, subs: [...(this.#registry.get(this.#id) ?? [])] });
				if (!host) return;
				// the newcomer first learns where the connection stands, then its confirmations
				this.#post({ t: 'snapshot', from: this.#id, snapshot: host.snapshot() });
				this.#hold(host, message.tab, message.subs, dropped);
				return;
			}
			case 'here': {
				const dropped = this.#register(message.tab, message.subs);
				if (host) this.#hold(host, message.tab, message.subs, dropped);
				return;
			}
			case 'sub':
				this.#subsOf(message.tab).set(message.sub, message.subscription);
				host?.addSub(message.tab, message.sub, message.subscription);
				if (host) this.#watch(message.tab);
				return;
			case 'unsub':
				this.#registry.get(message.tab)?.delete(message.sub);
				host?.removeSub(message.tab, message.sub);
				return;
			case 'bye':
			case 'gone':
				this.#forget(message.tab);
				this.#deposed.delete(message.tab);
				return;
			case 'retry':
				host?.retryNow();
				return;
			case 'wake':
				host?.wake();
				return;
			case 'ping':
				if (host) this.#post({ t: 'snapshot', from: this.#id, snapshot: host.snapshot() });
				return;
			case 'leader':
				// a tab that took the lock from this one: this one's socket is no longer everyone's
				if (host && message.stolen) this.#resign();
				if (this.#host) return;
				this.#sawLeader = true;
				// after a takeover the deposed leader may still post; after a handover the last
				// posts of the leader that closed are still welcome (the new one resumes after them)
				this.#onlyFrom = message.stolen ? message.tab : null;
				this.#leaderChanged(message.tab, message.stolen);
				this.#heard();
				// the new leader may have missed this tab's latest subscriptions: say them again
				this.#post({ t: 'hello', tab: this.#id, subs: [...(this.#registry.get(this.#id) ?? [])] });
				return;
		}
		// what a leader posts; once this tab leads, a leader that is gone (its events are replayed
		// by the resume this tab asked for, and it is ignored), or one that took over while this tab
		// was paused: kept until this tab learns it no longer leads
		if (host) {
			if (message.from === this.#predecessor || this.#deposed.has(message.from) || !this.#unheard) return;
			if (this.#unheard.length < MAX_UNHEARD_POSTS) this.#unheard.push(message);
			else this.#unheard = null;
			return;
		}
		if (this.#onlyFrom !== null && message.from !== this.#onlyFrom) return;
		if (this.#deposed.has(message.from)) return;
		this.#leaderTab = message.from;
		this.#heard();
		switch (message.t) {
			case 'events':
				sink.events(message.events);
				return;
			case 'control':
				sink.control(message.message);
				return;
			case 'resync':
				sink.resync(message.reason, message.missed);
				return;
			case 'snapshot':
				this.#sawLeader = true;
				sink.snapshot(message.snapshot);
				return;
			case 'confirmed':
				if (message.tab === this.#id) sink.confirmed(message.sub);
				return;
			case 'refused':
				if (message.tab === this.#id) sink.refused(message.sub, message.refusal);
				return;
		}
	}

	#setRole(role: TabRole): void {
		this.#role = role;
		if (role === 'follower') this.#startWatchdog();
		else this.#stopWatchdog();
		this.#sink?.sharing(role);
	}

	/** `tab` leads now; one that took the lock deposed the leader before it, which may still post. */
	#leaderChanged(tab: string, stolen: boolean): void {
		if (stolen && this.#leaderTab !== null && this.#leaderTab !== tab) this.#deposed.add(this.#leaderTab);
		this.#deposed.delete(tab);
		this.#leaderTab = tab;
	}

	/** The leader spoke: it is alive. */
	#heard(): void {
		this.#heardAt = this.#now();
		this.#stopWaiting();
	}

	/** While following: a leader quiet for too long is asked for a sign of life (then taken over). */
	#startWatchdog(): void {
		if (this.#watchdog || this.#destroyed) return;
		const quietMs = this.#options.leaderQuietMs ?? DEFAULT_LEADER_QUIET_MS;
		this.#heardAt = this.#now();
		this.#watchdog = setInterval(() => {
			if (this.#host || this.#destroyed || this.#answerTimer) return;
			if (this.#now() - this.#heardAt >= quietMs) this.#askLeader({ t: 'ping' });
		}, quietMs / 2);
	}

	#stopWatchdog(): void {
		if (this.#watchdog) clearInterval(this.#watchdog);
		this.#watchdog = null;
	}

	#now(): number {
		return (this.#options.hub.now ?? Date.now)();
	}

	#subsOf(tab: string): Map<string, Subscription> {
		let subs = this.#registry.get(tab);
		if (!subs) this.#registry.set(tab, (subs = new Map()));
		return subs;
	}

	#post(message: TabMessage): void {
		if (this.#destroyed || !this.#channel) return;
		if (message.t !== 'events') this.#flush();
		try {
			this.#channel.postMessage(message);
		} catch (err) {
			this.#options.hub.log?.('could not post to the other tabs', err);
		}
	}

	#flush(): void {
		this.#flushQueued = false;
		if (this.#outgoing.length === 0) return;
		const events = this.#outgoing;
		this.#outgoing = [];
		this.#post({ t: 'events', from: this.#id, events });
	}

	#lockName(tab: string): string {
		return `${this.#scope}:tab:${tab}`;
	}

	/** Posts `message` for the leader and takes over if no leader answers in time. */
	#askLeader(message: TabMessage): void {
		this.#post(message);
		if (this.#answerTimer || this.#host || this.#destroyed) return;
		this.#answerTimer = setTimeout(() => {
			this.#answerTimer = null;
			if (this.#host || this.#destroyed) return;
			this.#options.hub.log?.('the tab holding the shared connection did not answer; taking over');
			this.#requestLead(true);
		}, this.#options.leaderAnswerMs ?? DEFAULT_LEADER_ANSWER_MS);
	}

	#stopWaiting(): void {
		if (this.#answerTimer) clearTimeout(this.#answerTimer);
		this.#answerTimer = null;
	}

	readonly #onWake = () => {
		if (this.#host) return;
		this.#post({ t: 'wake' });
		this.#askLeader({ t: 'ping' });
	};

	readonly #onVisibility = () => {
		if (this.#options.hub.visibility?.isVisible()) this.#onWake();
	};
}

function randomId(): string {
	if (typeof crypto !== 'undefined' && typeof crypto.randomUUID === 'function') return crypto.randomUUID();
	return Math.random().toString(36).slice(2) + Date.now().toString(36);
}
