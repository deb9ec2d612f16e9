/**
 * @module bench/hub-fanout/servers
 * The two servers the fan-out bench compares, each on its own loopback port and fed by its
 * own MemoryBus: aco's hub, and a naive broadcaster over a plain `ws` WebSocketServer that
 * numbers events the same way but serialises each one again for every client.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { WS_PATH } from '../../src/lib/protocol/limits';
import type { EventEnvelope } from '../../src/lib/protocol/messages';
import { MemoryBus } from '../../src/lib/server/bus/memory-bus';
import { loadConfig } from '../../src/lib/server/config';
import { createHub } from '../../src/lib/server/hub/hub';
import { createLogger } from '../../src/lib/server/logger';

export interface FanoutServer {
	url: string;
	bus: MemoryBus;
	close(): Promise<void>;
}

/** Heartbeats and idle closes far beyond the bench's length, so liveness traffic is not measured. */
const QUIET_MS = 10 * 60_000;

function failLoudly(err: unknown): never {
	throw err;
}

async function listen(server: http.Server): Promise<string> {
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const { port } = server.address() as AddressInfo;
	return `ws://127.0.0.1:${port}${WS_PATH}`;
}

function closeHttp(server: http.Server): Promise<void> {
	server.closeAllConnections();
	return new Promise((resolve) => server.close(() => resolve()));
}

function notFound(_req: http.IncomingMessage, res: http.ServerResponse): void {
	res.statusCode = 404;
	res.end();
}

export async function startHubServer(clients: number): Promise<FanoutServer> {
	const bus = new MemoryBus({ onError: failLoudly });
	const hub = createHub({
		bus,
		// production defaults (send buffer bound included: a client that falls that far behind is
		// closed, and the bench fails), except room for every client and no liveness traffic
		config: {
			...loadConfig({}).hub,
			maxConnections: clients + 10,
			heartbeatIntervalMs: QUIET_MS,
			idleTimeoutMs: QUIET_MS
		},
		logger: createLogger('silent')
	});
	const server = http.createServer(notFound);
	server.on('upgrade', (req, socket, head) => hub.handleUpgrade(req, socket, head));
	const url = await listen(server);
	return {
		url,
		bus,
		async close() {
			await hub.close();
			await bus.close();
			await closeHttp(server);
		}
	};
}

/**
 * The baseline: what a first attempt at a broadcaster looks like, `JSON.stringify` inside the
 * per-client loop. It does less than the hub otherwise (no filters, no counters, no sessions),
 * so the ratio understates rather than overstates what serialising once buys.
 */
export async function startNaiveServer(): Promise<FanoutServer> {
	const bus = new MemoryBus({ onError: failLoudly });
	const server = http.createServer(notFound);
	const wss = new WebSocketServer({ server, path: WS_PATH, perMessageDeflate: false });
	const sockets = new Set<WebSocket>();
	wss.on('connection', (ws) => {
		sockets.add(ws);
		ws.on('error', () => sockets.delete(ws));
		ws.on('close', () => sockets.delete(ws));
		// the clients subscribe as they would to the hub; everything is delivered anyway
		ws.on('message', () =>
			ws.send(JSON.stringify({ type: 'subscribed', timestamp: new Date().toISOString(), data: {} }))
		);
	});
	let seq = 0;
	bus.subscribe((event) => {
		seq += 1;
		for (const ws of sockets) {
			if (ws.readyState !== WebSocket.OPEN) continue;
			const envelope: EventEnvelope = { type: event.type, seq, timestamp: event.timestamp, data: event.data };
			ws.send(JSON.stringify(envelope));
		}
	});
	const url = await listen(server);
	return {
		url,
		bus,
		async close() {
			await bus.close();
			for (const ws of sockets) ws.terminate();
			await new Promise<void>((resolve) => wss.close(() => resolve()));
			await closeHttp(server);
		}
	};
}
