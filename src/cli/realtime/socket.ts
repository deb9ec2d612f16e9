/**
 * @module cli/realtime/socket
 * The slice of a WebSocket the terminal client uses (the same shape as the browser's, so the
 * browser specs' FakeSocket fits), an adapter that gives a Node `ws` socket that shape, and the
 * hub URL for a server address such as `http://127.0.0.1:3000`.
 */
import WebSocket from 'ws';
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
	ws.on('close', (code, reason) => socket.onclose?.({ code, reason: reason.toString() }));
	// an error is always followed by close; without a listener ws would throw it
	ws.on('error', (err) => socket.onerror?.(err));
	return socket;
}
