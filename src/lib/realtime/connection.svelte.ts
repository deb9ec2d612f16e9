/**
 * @module realtime/connection
 * The browser's realtime connection, as components and stores read it: a thin reactive face
 * over tab-connection (what this tab sees) and connection-core (the socket lifecycle the `aco`
 * CLI shares). Where the browser can (Web Locks and BroadcastChannel), the tabs of one browser
 * share one WebSocket (tab-share); elsewhere each tab has its own. Components read its getters;
 * nothing else touches the socket.
 */
import type { ControlType, EventFilter } from '$lib/protocol';
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
	StateHandler,
	SubscriptionRefusal,
	TabSubscribeOptions,
	VisibilitySource,
	WebSocketLike
} from './connection-types';
import type { HostOptions } from './connection-host';
import { DEFAULT_STABLE_AFTER_MS, DEFAULT_WELCOME_TIMEOUT_MS } from './reconnecting-socket';
import { secondsUntil } from './retry-schedule';
import { TabConnection, type TabSnapshot } from './tab-connection';
import { SoloLink, type TabLink, type TabSharing } from './tab-link';
import { canShareTabs, TabShare } from './tab-share';
import { WS_PATH } from '$lib/protocol';

export type * from './connection-types';
export { DEFAULT_RESUME_TIMEOUT_MS } from './resume-gate';
export { DEFAULT_SLOW_DOWN_DELAY_MS } from './close-policy';
export { DEFAULT_STABLE_AFTER_MS, DEFAULT_WELCOME_TIMEOUT_MS } from './reconnecting-socket';

/** How often the "reconnecting in 4s" countdown refreshes while a retry waits. */
export const COUNTDOWN_TICK_MS = 250;

/** The hub URL for the current page: same origin, ws: or wss: by the page's protocol. */
export function defaultHubUrl(loc: Pick<Location, 'protocol' | 'host'> = location): string {
	return `${loc.protocol === 'https:' ? 'wss:' : 'ws:'}//${loc.host}${WS_PATH}`;
}

export class RealtimeConnection {
	#snapshot = $state.raw<TabSnapshot>() as TabSnapshot;
	/** the countdown's clock, ticking only while a retry waits */
	#now = $state(0);
	readonly #options: ConnectionOptions;
	readonly #clock: () => number;
	#tab: TabConnection | null = null;
	#ticker: ReturnType<typeof setInterval> | null = null;

	constructor(options: ConnectionOptions = {}) {
		this.#options = options;
		this.#clock = options.now ?? (() => Date.now());
		this.#snapshot = this.#connection.snapshot();
	}

	/** Its link is made on connect(), so a page rendered on the server never reads `location`. */
	get #connection(): TabConnection {
		if (this.#tab) return this.#tab;
		const tab = new TabConnection({ link: () => this.#link(), pauseLimit: this.#options.pauseLimit });
		tab.onChange(() => this.#refresh());
		this.#tab = tab;
		return tab;
	}

	// ---------- state for components ----------

	get state(): ConnectionState {
		return this.#snapshot.state;
	}
	/** what the indicator shows: the state, with `connected` split into `live` and `resyncing` */
	get status(): ConnectionStatus {
		return this.#snapshot.status;
	}
	get offlineReason(): OfflineReason | null {
		return this.#snapshot.offlineReason;
	}
	/** reconnect attempts since the last good connection */
	get attempt(): number {
		return this.#snapshot.attempt;
	}
	get maxAttempts(): number {
		return this.#snapshot.maxAttempts;
	}
	/** when the next attempt starts (epoch ms), while one is scheduled */
	get nextRetryAt(): number | null {
		return this.#snapshot.nextRetryAt;
	}
	/** whole seconds until the next attempt (rounded up), while one is scheduled */
	get secondsUntilRetry(): number | null {
		// reading #now makes the countdown re-render as the ticker moves it
		return secondsUntil(this.#snapshot.nextRetryAt, Math.max(this.#now, this.#clock()));
	}
	get lastClose(): CloseInfo | null {
		return this.#snapshot.lastClose;
	}
	get clientId(): string | null {
		return this.#snapshot.clientId;
	}
	/** whether a welcome ever arrived (so later connects are REconnects) */
	get hasConnected(): boolean {
		return this.#snapshot.hasConnected;
	}
	get epoch(): string | null {
		return this.#connection.snapshot().epoch;
	}
	/** the newest event seq seen */
	get seq(): number {
		return this.#connection.snapshot().seq;
	}
	/** the hub refused one of this tab's subscriptions, and why (status `unavailable`) */
	get unavailable(): SubscriptionRefusal | null {
		return this.#snapshot.unavailable;
	}
	/** whose connection this tab uses: its own, the one it holds for all tabs, or another tab's */
	get sharing(): TabSharing {
		return this.#snapshot.sharing;
	}
	/** live updates are held back (the viewer paused) */
	get paused(): boolean {
		return this.#snapshot.paused;
	}
	/** updates that arrived while paused */
	get heldCount(): number {
		return this.#snapshot.heldCount;
	}
	/** more arrived while paused than the page holds: resuming reloads instead */
	get heldOverflowed(): boolean {
		return this.#snapshot.heldOverflowed;
	}

	// ---------- actions ----------

	/** Opens the connection (once); later calls do nothing. Call from onMount: browsers only. */
	connect(): void {
		this.#connection.connect();
	}

	/** Skips the wait (and starts over after giving up or a terminal close). */
	retryNow(): void {
		this.#connection.retryNow();
	}

	/**
	 * Adds or replaces a subscription; it is re-sent after every reconnect. `maxRate` asks the
	 * hub for at most that many updates per second per task or run (progress coalesced);
	 * `reload` is what the subscriber reloads once a subscription made on an open connection is
	 * confirmed (see TabSubscribeOptions).
	 */
	subscribe(sub: string, filter: EventFilter = {}, options: TabSubscribeOptions = {}): void {
		this.#connection.subscribe(sub, filter, options);
	}

	unsubscribe(sub: string): void {
		this.#connection.unsubscribe(sub);
	}

	/** Holds live updates back: the page stays as it is until {@link resume}. */
	pause(): void {
		this.#connection.pause();
	}

	/** Applies what arrived while paused, in order (or reloads, past the limit). */
	resume(): void {
		this.#connection.resume();
	}

	/** Every event this tab subscribed to (batches unpacked, each once, in seq order). */
	onEvent(handler: EventHandler): () => void {
		return this.#connection.onEvent(handler);
	}

	/** Control messages of one type (`welcome`, `dropped`, `error`, `system.stats`, …). */
	onControl<T extends ControlType>(type: T, handler: ControlHandler<T>): () => void {
		return this.#connection.onControl(type, handler);
	}

	/**
	 * Called when what a store loaded may be stale: on `reset`, on `dropped`, after a reconnect
	 * the hub did not answer a resume for, and once the subscriptions made before the first
	 * connect are confirmed (a page loads before the socket is up, so nothing reached it in
	 * between), and once a later subscription that names no `reload` of its own is. Not after
	 * a clean `resumed`: the replay brought everything. The handler may
	 * return its reload's promise; the indicator shows `resyncing` until it settles.
	 */
	onReconnected(handler: ResyncHandler): () => void {
		return this.#connection.onReconnected(handler);
	}

	/** Called once per resync when every reload it asked for has settled (toasts "reloaded"). */
	onResynced(handler: ResyncedHandler): () => void {
		return this.#connection.onResynced(handler);
	}

	onStateChange(handler: StateHandler): () => void {
		return this.#connection.onStateChange(handler);
	}

	/** Closes the socket (or leaves the shared one), stops every timer and listener. Idempotent. */
	destroy(): void {
		this.#connection.destroy();
		this.#refresh();
		this.#stopTicker();
	}

	#refresh(): void {
		const snapshot = this.#connection.snapshot();
		this.#snapshot = snapshot;
		if (snapshot.nextRetryAt !== null && snapshot.offlineReason !== 'destroyed') this.#startTicker();
		else this.#stopTicker();
	}

	#startTicker(): void {
		this.#now = this.#clock();
		if (this.#ticker) return;
		this.#ticker = setInterval(() => (this.#now = this.#clock()), COUNTDOWN_TICK_MS);
	}

	#stopTicker(): void {
		if (this.#ticker) clearInterval(this.#ticker);
		this.#ticker = null;
	}

	#link(): TabLink {
		const options = this.#options;
		const hub: HostOptions = {
			stableAfterMs: DEFAULT_STABLE_AFTER_MS,
			welcomeTimeoutMs: DEFAULT_WELCOME_TIMEOUT_MS,
			...options,
			url: options.url ?? defaultHubUrl(),
			createSocket: options.createSocket ?? ((url) => new WebSocket(url) as unknown as WebSocketLike),
			target: options.target ?? (typeof window === 'undefined' ? undefined : window),
			isOnline: options.isOnline ?? (() => typeof navigator === 'undefined' || navigator.onLine !== false),
			visibility: options.visibility ?? pageVisibility(),
			now: this.#clock,
			log: options.log ?? ((message, err) => console.error(`aco: ${message}`, err ?? ''))
		};
		const share = options.share ?? canShareTabs();
		return share ? new TabShare({ hub }) : new SoloLink(hub);
	}
}

function pageVisibility(): VisibilitySource | undefined {
	if (typeof document === 'undefined') return undefined;
	return { target: document, isVisible: () => document.visibilityState === 'visible' };
}
