/**
 * @module realtime/connection-types
 * What the realtime connection promises the code that uses it, in the browser and in the CLI:
 * its states and the reasons behind them, its options, the handler signatures, and the slice of
 * a WebSocket it relies on, so specs can hand in a fake and Node can hand in `ws`.
 */
import type { AnyEventEnvelope, ControlDataMap, ControlMessage, ControlType } from '../protocol/messages';
import type { BackoffOptions } from './backoff';
import type { DelayWindow } from './retry-schedule';

export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'offline';
/** why the state is 'offline': the browser has no network, the attempts ran out, the server said stop, or destroy() */
export type OfflineReason = 'network' | 'gave_up' | 'closed' | 'destroyed';
/**
 * What the connection indicator shows: the socket's state, with `connected` split into `live`,
 * `resyncing` (a resume is unanswered, or stores are reloading what they may have missed) and
 * `unavailable` (the hub refused one of the tab's subscriptions: see {@link SubscriptionRefusal}).
 */
export type ConnectionStatus =
	'connecting' | 'live' | 'resyncing' | 'unavailable' | 'reconnecting' | 'offline';

/**
 * The hub refused a subscription (an `error` answering its `subscribe`: too many subscriptions,
 * too many ids, …): what it was subscribed for gets no live updates, and the page says so.
 */
export interface SubscriptionRefusal {
	/** the hub's machine code, e.g. `too_many_subscriptions` */
	code: string;
	/** the hub's words for it */
	message: string;
}
/**
 * Why a store should reload what it shows: `reset` (the hub could not replay the gap),
 * `dropped` (events were dropped for this client: by the hub under backpressure, or by the page
 * while paused for too long), `reconnect` (back after a gap the hub was not asked about or did
 * not answer for), or `subscribed` — the first connect's subscriptions (or a later one that
 * names no reload of its own: TabSubscribeOptions) are now live, and anything loaded before
 * that may have changed unseen. A clean `resumed` needs no reload.
 */
export type ResyncReason = 'reconnect' | 'reset' | 'dropped' | 'subscribed';

/** A resync whose reloads have all finished. */
export interface ResyncInfo {
	reason: ResyncReason;
	/** events the hub said were missed (a `reset`); null when it did not know or did not say */
	missed: number | null;
}

export interface CloseInfo {
	code: number;
	reason: string;
}

/** The part of the DOM WebSocket the clients use, so tests can hand in a fake and Node `ws`. */
export interface WebSocketLike {
	readonly readyState: number;
	onopen: ((ev: unknown) => void) | null;
	onclose: ((ev: { code: number; reason: string }) => void) | null;
	onmessage: ((ev: { data: unknown }) => void) | null;
	onerror: ((ev: unknown) => void) | null;
	send(data: string): void;
	close(code?: number, reason?: string): void;
}

/**
 * Progress updates per second per task or run that a page of many progress bars asks the hub for
 * (coalesced there). Every such subscription of a page must ask for it: one that wants progress
 * at full rate makes the hub send every update, and keeps the order by releasing held ones.
 */
export const LIST_MAX_RATE = 4;

/** A subscription as the client keeps it: the filter and the rate it asked the hub for. */
export interface SubscribeOptions {
	/** at most this many updates per second per task or run (progress coalesced by the hub) */
	maxRate?: number;
}

/** A page's subscription: the hub's options, and what its subscriber reloads once it is live. */
export interface TabSubscribeOptions extends SubscribeOptions {
	/**
	 * Reloads what the subscriber loaded over REST (merging: records.ts keeps what is further
	 * along). Called once the hub confirms a subscription made on a connection already up: the
	 * page loads at once, but the hub may take the subscription after that load was read
	 * (another tab's socket sends it later still), and an event in between never reaches the
	 * page. Also when the hub confirms it only on a later socket (a reconnect, a tab taking over
	 * the shared connection): that socket's replay starts after the newest seq the tab saw on
	 * any subscription, which may be past such an event. Not called when the hub already carried
	 * the subscription's filter. So it must be cheap and idempotent: fetch only what the page
	 * lacks (a task page asks for the lines past those it holds, none when it has them all).
	 * Without it every store of the tab reloads (`onReconnected`, reason `subscribed`), as for
	 * the subscriptions made before the first connect. May return the reload's promise.
	 */
	reload?: () => unknown;
}

/** Where a page learns it became visible again (a reason to retry at once). */
export interface VisibilitySource {
	target: EventTarget;
	isVisible(): boolean;
}

/** How one socket is kept open (reconnecting-socket). */
export interface SocketOptions {
	/** ws:// or wss:// URL of the hub */
	url: string;
	createSocket: (url: string) => WebSocketLike;
	backoff?: BackoffOptions;
	/** a connection up this long counts as good: the backoff starts over */
	stableAfterMs?: number;
	welcomeTimeoutMs?: number;
	/** the least wait after a close that asks the client to slow down (4003 rate-limited, 4004 too many wrong tokens, 1013) */
	slowDownDelayMs?: number;
	/** the delays after a restart close (1012, 1001), and for how long they apply */
	restartDelay?: DelayWindow;
	restartWindowMs?: number;
	/** where `online`/`offline` events come from (the browser's `window`) */
	target?: EventTarget;
	/** whether there is a network; always true when omitted */
	isOnline?: () => boolean;
	/** a page that becomes visible retries a waiting reconnect at once */
	visibility?: VisibilitySource;
	now?: () => number;
	/** the first connect is a reconnect (a tab taking over a connection another tab held) */
	reconnecting?: boolean;
	/** where problems are reported; nowhere when omitted */
	log?: (message: string, err?: unknown) => void;
}

/** The protocol client (connection-core) on top of the socket. */
export interface HubConnectionOptions extends SocketOptions {
	/** how long to wait for the answer to `resume` before reloading over REST anyway */
	resumeTimeoutMs?: number;
	/** ask the hub to resume from here on the first welcome (another tab's position) */
	resumeFrom?: { epoch: string; seq: number } | null;
}

/** The browser connection's options: everything has a default taken from the page. */
export interface ConnectionOptions extends Partial<
	Omit<HubConnectionOptions, 'resumeFrom' | 'reconnecting'>
> {
	/**
	 * Share one socket among the tabs of this browser (Web Locks + BroadcastChannel). On by
	 * default where both exist; `false` gives this tab a connection of its own.
	 */
	share?: boolean;
	/** events held while paused before the page gives up holding and reloads on resume */
	pauseLimit?: number;
}

export type EventHandler = (event: AnyEventEnvelope) => void;
export type ControlHandler<T extends ControlType> = (
	data: ControlDataMap[T],
	message: ControlMessage<T>
) => void;
/** May return the reload's promise: the connection shows `resyncing` until it settles. */
export type ResyncHandler = (reason: ResyncReason) => unknown;
export type ResyncedHandler = (info: ResyncInfo) => void;
export type StateHandler = (state: ConnectionState, previous: ConnectionState) => void;
