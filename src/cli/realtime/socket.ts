/**
 * @module cli/realtime/socket
 * The slice of a WebSocket the terminal client uses (the same shape as the browser's, so the
 * browser specs' FakeSocket fits), an adapter that gives a Node `ws` socket that shape, and the
 * hub URL for a server address such as `http://127.0.0.1:3000`.
 *
 * A hub that refuses the upgrade answers with plain HTTP (401, 403, 429, 503) before any
 * WebSocket exists, which `ws` reports as a close 1006 like any dropped connection; the adapter
 * reports the close code the hub would have sent instead, so a revoked token stops the client
 * rather than having it reconnect forever. So does an answer that is not the hub's at all and
 * will not change by asking again (a 404 for a wrong base path or a proxy that does not pass
 * upgrades on, 400, 405, 426, a redirect): it closes with NO_HUB, naming the URL.
 */
import WebSocket from 'ws';
import { CloseCode } from '../../lib/protocol/close-codes';
import { WS_PATH } from '../../lib/protocol/limits';
import type { WebSocketLike } from '../../lib/realtime/connection-types';
import { storedToken } from '../credentials';

export const WS_OPEN = 1;

/** the browser client's socket shape, so both clients are written against one interface */
export type SocketLike = WebSocketLike;

export type SocketFactory = (url: string) => SocketLike;

/**
 * The hub URL for a server address: http(s) becomes ws(s) and the path becomes /ws. An address
 * that already names a ws(s) URL with a path is kept as it is.
 */
export function hubUrl(serverUrl: string): string {
	let url: URL;
	try {
		url = new URL(serverUrl);
	} catch {
		throw new Error(`The server URL "${serverUrl}" is not a URL; use e.g. http://127.0.0.1:3000.`);
	}
	const isWs = url.protocol === 'ws:' || url.protocol === 'wss:';
	if (!isWs && url.protocol !== 'http:' && url.protocol !== 'https:') {
		throw new Error(`The server URL must start with http:// or https://, got "${serverUrl}".`);
	}
	if (!isWs || url.pathname === '/') url.pathname = url.pathname.replace(/\/+$/, '') + WS_PATH;
	if (!isWs) url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
	url.search = url.hash = '';
	return url.toString();
}

/** The close code the hub means by refusing an upgrade with this HTTP status. */
export const REFUSED_UPGRADE_CLOSE: Readonly<Record<number, number>> = {
	401: CloseCode.UNAUTHORIZED,
	403: CloseCode.FORBIDDEN,
	429: CloseCode.RATE_LIMITED,
	503: CloseCode.OVERLOADED
};

/** A request timeout may pass; a proxy may time out an upgrade while the server starts. */
const RETRYABLE_REFUSAL = 408;

/**
 * The close code an upgrade refused with `status` stands for: the hub's own (above); NO_HUB for
 * any other 3xx or 4xx, which asking again will not change; null for what may pass (408, a 5xx
 * such as a proxy's 502 while the server restarts), which stays a dropped connection and is retried.
 */
export function refusedUpgradeClose(status: number): number | null {
	const own = REFUSED_UPGRADE_CLOSE[status];
	if (own !== undefined) return own;
	if (status >= 300 && status < 500 && status !== RETRYABLE_REFUSAL) return CloseCode.NO_HUB;
	return null;
}

/** Why an upgrade refused with `status` closed, for a person: NO_HUB names the URL to check. */
function refusalReason(url: string, status: number, code: number | null): string {
	if (code !== CloseCode.NO_HUB) return `the server refused the WebSocket upgrade with HTTP ${status}`;
	const shown = new URL(url);
	// the subscriptions a first connect carries are no part of the address to check
	shown.search = shown.hash = '';
	return `no aco WebSocket at ${shown} (HTTP ${status})`;
}

/**
 * Opens a `ws` socket that looks like a browser WebSocket, with the token (given, or kept by
 * `aco login` for this server) as a bearer header on the upgrade.
 */
export function createWsSocket(url: string, token: string | undefined = storedToken(url)): SocketLike {
	const ws = new WebSocket(url, {
		headers: token ? { authorization: `Bearer ${token}` } : {},
		handshakeTimeout: 10_000
	});
	const socket: SocketLike = {
		get readyState() {
			return ws.readyState;
		},
		onopen: null,
		onclose: null,
		onmessage: null,
		onerror: null,
		send: (data) => ws.send(data),
		close: (code, reason) => {
			// closing a socket that is still connecting throws in ws; terminating it is the same outcome
			if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
			else ws.close(code, reason);
		}
	};
	ws.on('open', () => socket.onopen?.({}));
	ws.on('message', (data, isBinary) => {
		if (!isBinary) socket.onmessage?.({ data: data.toString() });
	});
	let refusedWith: number | null = null;
	// with a listener here ws leaves the refused handshake to us: note the status, then abort it
	ws.on('unexpected-response', (_req, res) => {
		refusedWith = res.statusCode ?? 0;
		res.resume();
		ws.terminate();
	});
	ws.on('close', (code, reason) => {
		if (refusedWith === null) socket.onclose?.({ code, reason: reason.toString() });
		else {
			const refusal = refusedUpgradeClose(refusedWith);
			socket.onclose?.({ code: refusal ?? code, reason: refusalReason(url, refusedWith, refusal) });
		}
	});
	// an error is always followed by close; without a listener ws would throw it
	ws.on('error', (err) => socket.onerror?.(err));
	return socket;
}
