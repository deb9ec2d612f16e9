/**
 * @module auth/session-watch
 * Sends the page to the sign-in page once its session is over: when the hub closes the socket
 * with 4503 (the session expired or was signed out) or 4500 (credentials no longer valid), and
 * when a reconnect fails because the server no longer knows the session (a refused upgrade is a
 * bare 1006 to a browser, so the session is asked about over REST then).
 */
import { API_BASE, CloseCode, SIGNED_OUT_REASON, signInHref } from '$lib/protocol';
import type { ConnectionState } from '$lib/realtime/connection-types';

/** The part of the realtime connection the watch needs. */
export interface WatchedConnection {
	readonly lastClose: { code: number; reason: string } | null;
	onStateChange(handler: (state: ConnectionState, previous: ConnectionState) => void): () => void;
}

export interface SessionWatchOptions {
	/** where the page is now (path and query), to come back to after signing in */
	here: () => string;
	/** leaves the page (a full load, so nothing of the old session stays in memory) */
	navigate: (href: string) => void;
	fetch?: typeof fetch;
}

const ENDED_CODES = new Set<number>([CloseCode.SESSION_ENDED, CloseCode.UNAUTHORIZED]);

/** Starts watching; returns the function that stops it. */
export function watchSession(connection: WatchedConnection, options: SessionWatchOptions): () => void {
	const fetchFn = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
	let left = false;
	const leave = (reason: 'expired' | 'signed_out') => {
		if (left) return;
		left = true;
		options.navigate(signInHref(options.here(), reason));
	};
	return connection.onStateChange((state, previous) => {
		const close = connection.lastClose;
		if (state === 'offline' && close && ENDED_CODES.has(close.code)) {
			leave(close.reason === SIGNED_OUT_REASON ? 'signed_out' : 'expired');
			return;
		}
		if (state === 'reconnecting' && previous !== 'reconnecting') {
			void fetchFn(`${API_BASE}/session`, { headers: { accept: 'application/json' } }).then(
				(res) => {
					if (res.status === 401) leave('expired');
				},
				() => {
					// the server is away: the connection keeps trying, and this asks again next time
				}
			);
		}
	});
}
