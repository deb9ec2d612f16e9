/**
 * @module upgrade
 * Routes HTTP upgrades: the hub's path goes to the hub, anything else is refused with 404
 * (or left alone when another handler, such as Vite's HMR, owns it).
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WS_PATH } from '../protocol/limits';
import type { Hub } from './hub/types';

export function isHubPath(req: IncomingMessage): boolean {
	const url = req.url ?? '/';
	const q = url.indexOf('?');
	return (q === -1 ? url : url.slice(0, q)) === WS_PATH;
}

/** Upgrade listener for a server that has no other WebSocket users. */
export function hubUpgradeListener(hub: Hub) {
	return (req: IncomingMessage, socket: Duplex, head: Buffer) => {
		if (isHubPath(req)) {
			hub.handleUpgrade(req, socket, head);
			return;
		}
		socket.on('error', () => {});
		socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
	};
}
