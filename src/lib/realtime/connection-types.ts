/**
 * @module realtime/connection-types
 * What the realtime connection (connection.svelte.ts, which re-exports all of this) promises the
 * rest of the browser code: its states and the reasons behind them, its options, the handler
 * signatures, and the slice of the DOM WebSocket it relies on, so specs can hand in a fake.
 */
import type { AnyEventEnvelope, ControlDataMap, ControlMessage, ControlType } from '$lib/protocol';
import type { BackoffOptions } from './backoff';

export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'offline';
/** why the state is 'offline': the browser has no network, the attempts ran out, the server said stop, or destroy() */
export type OfflineReason = 'network' | 'gave_up' | 'closed' | 'destroyed';
/**
 * What the connection indicator shows: the socket's state, with `connected` split into `live`
 * and `resyncing` (a resume is unanswered, or stores are reloading what they may have missed).
 */
export type ConnectionStatus = 'connecting' | 'live' | 'resyncing' | 'reconnecting' | 'offline';
/**
 * Why a store should reload what it shows: `reset` (the hub could not replay the gap),
 * `dropped` (the hub dropped low-priority events for this client under backpressure),
 * `reconnect` (back after a gap the hub was not asked about or did not answer for), or
 * `subscribed` — the first connect's subscriptions are now live, and anything loaded before
 * that may have changed unseen. A clean `resumed` needs no reload and asks for none.
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

/** The part of the DOM WebSocket this class uses, so tests can hand in a fake. */
export interface WebSocketLike {
	readonly readyState: number;
	onopen: ((ev: unknown) => void) | null;
	onclose: ((ev: { code: number; reason: string }) => void) | null;
	onmessage: ((ev: { data: unknown }) => void) | null;
	onerror: ((ev: unknown) => void) | null;
	send(data: string): void;
	close(code?: number, reason?: string): void;
}

export interface ConnectionOptions {
	/** ws:// or wss:// URL; the page's own origin + /ws by default */
	url?: string;
	createSocket?: (url: string) => WebSocketLike;
	backoff?: BackoffOptions;
	stableAfterMs?: number;
	welcomeTimeoutMs?: number;
	/** the least wait after a close that asks the client to slow down (4003 rate-limited, 1013) */
	slowDownDelayMs?: number;
	/** how long to wait for the answer to `resume` before reloading over REST anyway */
	resumeTimeoutMs?: number;
	/** where `online`/`offline` events come from; `window` by default */
	target?: EventTarget;
	/** whether the browser believes it has a network; `navigator.onLine` by default */
	isOnline?: () => boolean;
	now?: () => number;
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
