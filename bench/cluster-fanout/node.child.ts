/**
 * @module bench/cluster-fanout/node.child
 * One aco node for the cluster fan-out bench, in a process of its own: a loopback HTTP server
 * with the hub on `/ws`, fed by the Redis bus exactly as `createContext` builds it for
 * `ACO_REDIS_URL`. Commands: `start {redisUrl, prefix, nodeId, clients}` → `started {url}`;
 * `cpu` → `cpu {userUs, systemUs}` (this process's CPU so far).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WS_PATH } from '../../src/lib/protocol/limits';
import { createBus } from '../../src/lib/server/bus/create-bus';
import { sharedStream } from '../../src/lib/server/bus/redis/hub-stream';
import { loadConfig } from '../../src/lib/server/config';
import { createHub } from '../../src/lib/server/hub/hub';
import { createLogger } from '../../src/lib/server/logger';
import { reply, serveParent } from '../lib/child';

/** Heartbeats and idle closes beyond the bench's length, so liveness traffic is not measured. */
const QUIET_MS = 10 * 60_000;

serveParent(async (message) => {
	if (message.cmd === 'cpu') {
		const { user, system } = process.cpuUsage();
		reply({ ok: 'cpu', userUs: user, systemUs: system });
		return;
	}
	if (message.cmd !== 'start') throw new Error(`unknown command ${String(message.cmd)}`);
	const { redisUrl, prefix, nodeId, clients, queueMessages } = message as {
		redisUrl: string;
		prefix: string;
		nodeId: string;
		clients: number;
		queueMessages: number;
	};
	const base = loadConfig({ ACO_REDIS_URL: redisUrl, ACO_REDIS_PREFIX: prefix });
	const config = {
		...base,
		hub: {
			...base.hub,
			maxConnections: clients + 10,
			maxConnectionsPerIp: clients + 10,
			queueMaxMessages: queueMessages,
			heartbeatIntervalMs: QUIET_MS,
			idleTimeoutMs: QUIET_MS
		}
	};
	const logger = createLogger('silent');
	const { bus, redis } = await createBus(config, nodeId, logger);
	const hub = createHub({ bus, ...sharedStream(redis!, config.hub), config: config.hub, logger });
	const server = http.createServer((_req, res) => {
		res.statusCode = 404;
		res.end();
	});
	server.on('upgrade', (req, socket, head) => hub.handleUpgrade(req, socket, head));
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const { port } = server.address() as AddressInfo;
	reply({ ok: 'started', url: `ws://127.0.0.1:${port}${WS_PATH}` });
});
