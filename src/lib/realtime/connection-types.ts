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
/** why stores should reload: a reconnect, or the server could not replay the gap */
/**
 * Why a store should reload what it shows: a reconnect, a `reset` (history could not cover the
 * gap), or `subscribed` — the first connect's subscriptions are now live, and anything loaded
 * before that may have changed unseen.
 */
export type ResyncReason = 'reconnect' | 'reset' | 'subscribed';

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
export type ResyncHandler = (reason: ResyncReason) => void;
export type StateHandler = (state: ConnectionState, previous: ConnectionState) => void;
