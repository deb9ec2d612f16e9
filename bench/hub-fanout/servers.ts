/**
 * @module bench/hub-fanout/servers
 * The two servers the fan-out bench compares, each on its own loopback port and fed by its
 * own MemoryBus: aco's hub (filter index, per-client queues, batches of up to 10 events per
 * frame), and the hub's previous broadcast over a plain `ws` WebSocketServer: each event
 * serialised once and written to every client as a frame of its own.
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

export async function startHubServer(clients: number, queueMessages: number): Promise<FanoutServer> {
	const bus = new MemoryBus({ onError: failLoudly });
	const hub = createHub({
		bus,
		// production defaults (byte cap included: a client that falls that far behind is closed, and
		// the bench fails), except room for every client, no liveness traffic, and a queue that
		// holds a whole round: the bench measures delivery, not what a slow client sheds
		config: {
			...loadConfig({}).hub,
			maxConnections: clients + 10,
			maxConnectionsPerIp: clients + 10,
			queueMaxMessages: queueMessages,
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
 * The baseline: the hub's broadcast before batching, one frame per event and client, each
 * event serialised once. It does less than the hub otherwise (no filters, no queues, no
 * counters), so the ratio understates rather than overstates what batching buys.
 */
export async function startPerEventServer(): Promise<FanoutServer> {
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
		const envelope: EventEnvelope = { type: event.type, seq, timestamp: event.timestamp, data: event.data };
		const frame = Buffer.from(JSON.stringify(envelope));
		for (const ws of sockets) {
			if (ws.readyState === WebSocket.OPEN) ws.send(frame, { binary: false });
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
