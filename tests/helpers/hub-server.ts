/**
 * @module tests/helpers/hub-server
 * The hub alone on a loopback HTTP server (port 0) with its own MemoryBus, for integration
 * tests that drive it with real `ws` clients; plus small event factories.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ClientOptions } from 'ws';
import type { AnyDomainEvent, DomainEvent } from '../../src/lib/protocol/events';
import type { Task, TaskStatus } from '../../src/lib/protocol/models';
import { MemoryBus } from '../../src/lib/server/bus/memory-bus';
import { defaultHubConfig, type HubConfig } from '../../src/lib/server/config';
import { createHub } from '../../src/lib/server/hub/hub';
import type { Hub } from '../../src/lib/server/hub/types';
import { createLogger } from '../../src/lib/server/logger';
import { connect, type TestClient } from './ws-client';

export interface HubServer {
	hub: Hub;
	bus: MemoryBus;
	url: string;
	config: HubConfig;
	connect(options?: ClientOptions): Promise<TestClient>;
	/** connects and consumes the welcome */
	join(options?: ClientOptions): Promise<TestClient>;
	disconnectAll(): void;
	stop(): Promise<void>;
}

export async function startHubServer(overrides: Partial<HubConfig> = {}): Promise<HubServer> {
	const bus = new MemoryBus({
		onError: (err) => {
			throw err;
		}
	});
	const config = { ...defaultHubConfig(), ...overrides };
	const hub = createHub({ bus, config, logger: createLogger('silent') });
	const server = http.createServer((_req, res) => {
		res.statusCode = 404;
		res.end();
	});
	server.on('upgrade', (req, socket, head) => hub.handleUpgrade(req, socket, head));
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const { port } = server.address() as AddressInfo;
	const url = `ws://127.0.0.1:${port}/ws`;
	const clients = new Set<TestClient>();
	const self: HubServer = {
		hub,
		bus,
		url,
		config,
		async connect(options) {
			const client = await connect(url, options);
			clients.add(client);
			return client;
		},
		async join(options) {
			const client = await self.connect(options);
			await client.nextOfType('welcome');
			return client;
		},
		disconnectAll() {
			for (const client of clients) client.terminate();
			clients.clear();
		},
		async stop() {
			self.disconnectAll();
			await hub.close();
			await bus.close();
			server.closeAllConnections();
			await new Promise<void>((resolve) => server.close(() => resolve()));
		}
	};
	return self;
}

export const NOW = '2024-01-01T00:00:00.000Z';

export function task(id: string, runId: string | null, status: TaskStatus = 'running'): Task {
	return {
		id,
		run_id: runId,
		key: id,
		name: id,
		status,
		progress: 0,
		message: null,
		needs: [],
		weight: 1,
		optional: false,
		step_count: 1,
		created_at: NOW,
		started_at: NOW,
		finished_at: null,
		duration_ms: null,
		error: null
	};
}

export function progress(taskId: string, runId: string | null, value: number): DomainEvent<'task.progress'> {
	return {
		type: 'task.progress',
		timestamp: NOW,
		data: { task_id: taskId, run_id: runId, progress: value, message: null }
	};
}

export function failed(taskId: string, runId: string | null): DomainEvent<'task.failed'> {
	return {
		type: 'task.failed',
		timestamp: NOW,
		data: {
			task_id: taskId,
			run_id: runId,
			status: 'failed',
			error: 'boom',
			duration_ms: 5,
			task: task(taskId, runId, 'failed')
		}
	};
}

/** A `tool.lines` event carrying one line, `line`, of task `taskId`'s execution `${taskId}-x`. */
export function output(
	taskId: string,
	runId: string | null,
	line: number,
	text = `line ${line}`
): DomainEvent<'tool.lines'> {
	return {
		type: 'tool.lines',
		timestamp: NOW,
		data: {
			task_id: taskId,
			run_id: runId,
			execution_id: `${taskId}-x`,
			lines: [{ line, output: text, is_stderr: false, timestamp: NOW }]
		}
	};
}

export type AnyEvent = AnyDomainEvent;

/** Lets the event loop turn (sockets read and write) before going on. */
export const turn = () => new Promise((resolve) => setImmediate(resolve));
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
