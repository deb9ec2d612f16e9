/**
 * @module bench/peers/systems
 * The systems under test, each a WebSocket server on a loopback port that fans every event out
 * to all its connected clients (aco: to those whose subscription wants it):
 * - `aco`: the real server as built for production (dist/server.js: SvelteKit handler, hub,
 *   SQLite store); a line enters through the log pipeline, as a tool's output does (numbered,
 *   stored in batches, streamed).
 * - `ws-stringify`: plain `ws`, `JSON.stringify` of the event for every client.
 * - `ws-cork`: plain `ws`, the event serialised once; each socket corked for the tick.
 * - `ws-frames`: `ws` for the handshake, then one buffer of pre-built frames per tick written to
 *   every socket: the least a server can do per delivery, so it measures the load generator's
 *   ceiling (it keeps no queue and no order for a client that does not read).
 * - `socketio`: Socket.IO 4, websocket transport only, every client in one room, room emit.
 * - `uws`: uWebSockets.js (`@trufflesuite/uws-js-unofficial`), every client subscribed to one
 *   topic, `app.publish` — the native ceiling. Skipped where its binary does not load.
 * Every peer sends the same bytes aco sends for the same line (event.ts) and greets each client
 * with a frame containing "subscribed", so the load generator knows it is ready.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { WebSocket, WebSocketServer } from 'ws';
import { peerEnvelope, peerTaskId } from './event';

export const SYSTEMS = ['aco', 'ws-stringify', 'ws-cork', 'ws-frames', 'socketio', 'uws'] as const;
export type SystemName = (typeof SYSTEMS)[number];

export interface SystemOptions {
	/** connections the system must admit */
	maxConnections: number;
	/** aco: the hub's environment (ACO_*), e.g. compression or queue sizes */
	env?: Record<string, string>;
	/** aco: the workflows folder (scenario 0 runs a real tool) */
	workflowsDir?: string;
	/** permessage-deflate for every frame (scenario 7) */
	compression?: boolean;
	/** aco: tasks whose output lines are made (one log pipeline each); 1 by default; uws: a topic per task */
	tasks?: number;
}

export interface SystemServer {
	name: SystemName;
	url: string;
	/** the base of the HTTP API (aco only) */
	httpUrl?: string;
	/** aco: the tasks whose output lines `publish` makes, and their executions; uws: its task topics */
	taskIds?: string[];
	executionIds?: string[];
	/** hands one line to the system, which numbers it (seq), serialises it and fans it out; aco: as a line of task `task` */
	publish(text: string, task: number): void;
	/**
	 * ws-frames: numbers a line and keeps its frame in a backlog, sent to nobody now and written
	 * whole (batches of BACKLOG_BATCH events, pre-built) to the next client that connects: the
	 * baseline of a replay
	 */
	keep?(text: string): void;
	/** aco: how many lines the store holds for the bench's execution */
	storedLines?(): Promise<number>;
	close(): Promise<void>;
}

const require = createRequire(import.meta.url);

/** Whether the native uWebSockets.js binary loads here (the package falls back to a JS build otherwise). */
export function uwsLoads(): boolean {
	try {
		const dir = path.dirname(require.resolve('@trufflesuite/uws-js-unofficial/package.json'));
		const binary = path.join(
			dir,
			'binaries',
			`uws_${process.platform}_${process.arch}_${process.versions.modules}.node`
		);
		require(binary);
		return true;
	} catch {
		return false;
	}
}

export async function startSystem(name: SystemName, options: SystemOptions): Promise<SystemServer> {
	switch (name) {
		case 'aco':
			return startAco(options);
		case 'ws-stringify':
			return startWs(name, options, false);
		case 'ws-cork':
			return startWs(name, options, true);
		case 'ws-frames':
			return startFrames(options);
		case 'socketio':
			return startSocketIo(options);
		case 'uws':
			return startUws(options);
	}
}

const SUBSCRIBED = '{"type":"subscribed"}';

/** The server as production runs it: the bundle `npm run build` makes (dist/server.js), not tsx. */
async function loadServer(): Promise<typeof import('../../server')> {
	const bundle = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/server.js');
	if (!fs.existsSync(bundle)) throw new Error(`${bundle} is missing: run "npm run build" first`);
	return (await import(pathToFileURL(bundle).href)) as typeof import('../../server');
}

async function startAco(options: SystemOptions): Promise<SystemServer> {
	const { startServer } = await loadServer();
	const { loadConfig } = await import('../../src/lib/server/config');
	const { LogPipeline } = await import('../../src/lib/server/orchestrator/log-pipeline');
	const { createStandaloneTask, createTestExecution } =
		await import('../../src/lib/server/store/test-records');
	const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'aco-bench-peers-'));
	// heartbeats stay out of the measurements. The load generator's clients send nothing after
	// they subscribe (they answer pings, which do not count as heard from), so the idle timeout
	// must outlast the longest scenario: at the sizes scenario 3 takes over 10 minutes, and
	// an idle timeout of 10 minutes closed all its aco clients (4000) mid-run
	const heartbeat = String(20 * 60_000);
	const idle = String(2 * 60 * 60_000);
	const config = loadConfig({
		PORT: '0',
		HOST: '127.0.0.1',
		ACO_DATA_DIR: dataDir,
		ACO_WORKFLOWS_DIR: options.workflowsDir ?? path.join(dataDir, 'workflows'),
		ACO_LOG_LEVEL: 'warn',
		ACO_MAX_CONNECTIONS: String(options.maxConnections + 10),
		ACO_MAX_CONNECTIONS_PER_IP: String(options.maxConnections + 10),
		ACO_HEARTBEAT_INTERVAL_MS: heartbeat,
		ACO_IDLE_TIMEOUT_MS: idle,
		...(options.compression ? { ACO_COMPRESSION: 'fast', ACO_COMPRESSION_THRESHOLD_BYTES: '0' } : {}),
		...options.env
	});
	const server = await startServer(config);
	const { store, bus, logger } = server.context;
	const taskIds: string[] = [];
	const executionIds: string[] = [];
	const pipelines: InstanceType<typeof LogPipeline>[] = [];
	for (let i = 0; i < (options.tasks ?? 1); i++) {
		const task = await createStandaloneTask(store, { key: `bench-${i}`, name: `bench ${i}` });
		const execution = await createTestExecution(store, task.id, { name: 'bench', command: 'bench' });
		taskIds.push(task.id);
		executionIds.push(execution.id);
		pipelines.push(
			new LogPipeline({ store, bus, logger, task_id: task.id, run_id: null, execution_id: execution.id })
		);
	}
	return {
		name: 'aco',
		url: `${server.url.replace(/^http/, 'ws')}/ws`,
		httpUrl: server.url,
		taskIds,
		executionIds,
		publish: (text, task) => pipelines[task % pipelines.length]!.push('stdout', text),
		async storedLines() {
			await Promise.all(pipelines.map((p) => p.close()));
			let lines = 0;
			for (const id of executionIds) lines += (await store.getExecution(id))?.line_count ?? 0;
			return lines;
		},
		async close() {
			// the bench's own pipelines first: lines still on their way are stored before the store closes
			await Promise.all(pipelines.map((p) => p.close()));
			await server.close();
			fs.rmSync(dataDir, { recursive: true, force: true });
		}
	};
}

async function listen(server: http.Server): Promise<number> {
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	return (server.address() as AddressInfo).port;
}

async function startWs(name: SystemName, options: SystemOptions, cork: boolean): Promise<SystemServer> {
	const server = http.createServer();
	const wss = new WebSocketServer({
		server,
		perMessageDeflate: options.compression ? { threshold: 0, zlibDeflateOptions: { level: 1 } } : false
	});
	const sockets = new Set<WebSocket>();
	wss.on('connection', (ws) => {
		sockets.add(ws);
		ws.on('error', () => sockets.delete(ws));
		ws.on('close', () => sockets.delete(ws));
		ws.send(SUBSCRIBED);
	});
	const port = await listen(server);
	let seq = 0;
	let corked: { cork(): void; uncork(): void }[] = [];
	const uncorkAll = () => {
		for (const socket of corked) socket.uncork();
		corked = [];
	};
	return {
		name,
		url: `ws://127.0.0.1:${port}/`,
		publish(text) {
			const envelope = peerEnvelope(++seq, text);
			if (!cork) {
				for (const ws of sockets) if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(envelope));
				return;
			}
			const frame = Buffer.from(JSON.stringify(envelope));
			if (corked.length === 0) process.nextTick(uncorkAll);
			for (const ws of sockets) {
				if (ws.readyState !== WebSocket.OPEN) continue;
				const raw = (ws as unknown as { _socket: { cork(): void; uncork(): void; writableCorked: number } })
					._socket;
				if (raw.writableCorked === 0) {
					raw.cork();
					corked.push(raw);
				}
				ws.send(frame, { binary: false });
			}
		},
		async close() {
			for (const ws of sockets) ws.terminate();
			await new Promise<void>((resolve) => wss.close(() => resolve()));
			server.closeAllConnections();
			await new Promise<void>((resolve) => server.close(() => resolve()));
		}
	};
}

/** A server-to-client text frame: header and payload. */
function textFrame(payload: Buffer): Buffer {
	const len = payload.length;
	const head = len < 126 ? 2 : len < 65536 ? 4 : 10;
	const frame = Buffer.allocUnsafe(head + len);
	frame[0] = 0x81;
	if (len < 126) frame[1] = len;
	else if (len < 65536) {
		frame[1] = 126;
		frame.writeUInt16BE(len, 2);
	} else {
		frame[1] = 127;
		frame.writeUInt32BE(0, 2);
		frame.writeUInt32BE(len, 6);
	}
	payload.copy(frame, head);
	return frame;
}

/** Events per `batch` frame of a ws-frames backlog (aco's default ACO_BATCH_MAX_EVENTS). */
const BACKLOG_BATCH = 10;
/** Frames per buffer of the backlog (about 200 KB), written one after the other. */
const BACKLOG_CHUNK_FRAMES = 64;

async function startFrames(options: SystemOptions): Promise<SystemServer> {
	const server = http.createServer();
	const wss = new WebSocketServer({ server, perMessageDeflate: false });
	const sockets = new Set<{ write(chunk: Buffer): boolean }>();
	// the backlog: chunks of whole batch frames, the frames of the chunk being filled, the events of
	// the batch still open
	const backlog: Buffer[] = [];
	let frames: Buffer[] = [];
	let open: string[] = [];
	const closeBatch = () => {
		if (open.length) frames.push(textFrame(Buffer.from(`{"type":"batch","events":[${open.join(',')}]}`)));
		open = [];
		if (frames.length >= BACKLOG_CHUNK_FRAMES) closeChunk();
	};
	const closeChunk = () => {
		if (frames.length) backlog.push(Buffer.concat(frames));
		frames = [];
	};
	wss.on('connection', (ws) => {
		ws.send(SUBSCRIBED);
		const raw = (ws as unknown as { _socket: { write(chunk: Buffer): boolean } })._socket;
		closeBatch();
		closeChunk();
		for (const chunk of backlog.splice(0)) raw.write(chunk);
		sockets.add(raw);
		ws.on('error', () => sockets.delete(raw));
		ws.on('close', () => sockets.delete(raw));
	});
	void options;
	const port = await listen(server);
	let seq = 0;
	let pending: Buffer[] = [];
	const flush = () => {
		const chunk = Buffer.concat(pending);
		pending = [];
		for (const socket of sockets) socket.write(chunk);
	};
	return {
		name: 'ws-frames',
		url: `ws://127.0.0.1:${port}/`,
		publish(text) {
			if (pending.length === 0) process.nextTick(flush);
			pending.push(textFrame(Buffer.from(JSON.stringify(peerEnvelope(++seq, text)))));
		},
		keep(text) {
			open.push(JSON.stringify(peerEnvelope(++seq, text)));
			if (open.length === BACKLOG_BATCH) closeBatch();
		},
		async close() {
			for (const ws of wss.clients) ws.terminate();
			await new Promise<void>((resolve) => wss.close(() => resolve()));
			server.closeAllConnections();
			await new Promise<void>((resolve) => server.close(() => resolve()));
		}
	};
}

async function startSocketIo(options: SystemOptions): Promise<SystemServer> {
	const { Server } = await import('socket.io');
	const server = http.createServer();
	const io = new Server(server, {
		transports: ['websocket'],
		serveClient: false,
		perMessageDeflate: options.compression ? { threshold: 0 } : false,
		httpCompression: false,
		pingInterval: 10 * 60_000,
		pingTimeout: 10 * 60_000
	});
	io.on('connection', (socket) => {
		void socket.join('all');
		socket.emit('subscribed');
	});
	const port = await listen(server);
	let seq = 0;
	return {
		name: 'socketio',
		url: `ws://127.0.0.1:${port}/`,
		publish(text) {
			io.to('all').emit('e', peerEnvelope(++seq, text));
		},
		async close() {
			io.disconnectSockets(true);
			await new Promise<void>((resolve) => io.close(() => resolve()));
		}
	};
}

interface UwsModule {
	App(): UwsApp;
	DISABLED: number;
	SHARED_COMPRESSOR: number;
	us_socket_local_port(token: unknown): number;
	us_listen_socket_close(token: unknown): void;
}

interface UwsApp {
	ws(pattern: string, behavior: Record<string, unknown>): UwsApp;
	listen(host: string, port: number, cb: (token: unknown) => void): UwsApp;
	publish(topic: string, message: string, isBinary: boolean, compress?: boolean): boolean;
	close?(): void;
}

interface UwsSocket {
	subscribe(topic: string): boolean;
	send(message: string, isBinary?: boolean): number;
}

async function startUws(options: SystemOptions): Promise<SystemServer> {
	if (!uwsLoads()) throw new Error('the native uWebSockets.js binary does not load on this Node');
	const uws = require('@trufflesuite/uws-js-unofficial') as UwsModule;
	let token: unknown = null;
	// with tasks, a topic per task: each client subscribes (aco's subscribe message) to one task's
	// topic or, with no task named, to every line
	const taskIds = options.tasks ? Array.from({ length: options.tasks }, (_, k) => peerTaskId(k)) : null;
	const app = uws.App().ws('/*', {
		compression: options.compression ? uws.SHARED_COMPRESSOR : uws.DISABLED,
		maxPayloadLength: 64 * 1024,
		// a whole round may queue for a client: uWS drops messages beyond this
		maxBackpressure: 256 * 1024 * 1024,
		idleTimeout: 0,
		open: (ws: UwsSocket) => {
			if (taskIds) return;
			ws.subscribe('all');
			ws.send(SUBSCRIBED, false);
		},
		message: (ws: UwsSocket, message: ArrayBuffer) => {
			if (!taskIds) return;
			const { filter } = JSON.parse(Buffer.from(message).toString()) as { filter?: { task_ids?: string[] } };
			const task = filter?.task_ids?.[0];
			ws.subscribe(task ? `task:${task}` : 'all');
			ws.send(SUBSCRIBED, false);
		}
	});
	await new Promise<void>((resolve, reject) =>
		app.listen('127.0.0.1', 0, (t) => {
			token = t;
			if (t) resolve();
			else reject(new Error('uWS could not listen'));
		})
	);
	const port = uws.us_socket_local_port(token);
	const compress = !!options.compression;
	let seq = 0;
	return {
		name: 'uws',
		url: `ws://127.0.0.1:${port}/`,
		...(taskIds ? { taskIds } : {}),
		publish(text, task) {
			if (!taskIds) {
				app.publish('all', JSON.stringify(peerEnvelope(++seq, text)), false, compress);
				return;
			}
			const id = taskIds[task % taskIds.length]!;
			const json = JSON.stringify(peerEnvelope(++seq, text, id));
			app.publish(`task:${id}`, json, false, compress);
			app.publish('all', json, false, compress);
		},
		async close() {
			uws.us_listen_socket_close(token);
			app.close?.();
		}
	};
}
