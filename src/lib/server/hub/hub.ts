/**
 * @module hub/hub
 * The WebSocket hub: composes the pool (admission, registry), sessions (one client each, with
 * its rate limit and bounded queue), the heartbeat (liveness), the router (client messages),
 * the broadcaster (bus → filter index → clients), history (replay on resume), compression and
 * metrics.
 * Each concern lives in its own module; this one wires them and owns the lifecycle
 * `running → closing → closed`.
 *
 * @example
 * const hub = createHub({ bus, config: config.hub, logger: logger.child({ component: 'hub' }) });
 * server.on('upgrade', (req, socket, head) => hub.handleUpgrade(req, socket, head));
 * await hub.close(1001, 'server shutting down');
 */
import { isAllowedOrigin } from '../origin';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type ServerOptions, type WebSocket } from 'ws';
import { CloseCode } from '../../protocol/close-codes';
import { PROTOCOL_VERSION } from '../../protocol/limits';
import { MAX_SUBSCRIPTIONS, type WelcomeData } from '../../protocol/messages';
import type { Metric } from 'prom-client';
import type { EventBus } from '../bus/types';
import type { HubConfig } from '../config';
import type { Logger } from '../logger';
import { Broadcaster } from './broadcast';
import { LocalNumbering, type EventSource, type HistorySource } from './stream';
import { deflateOptions } from './compression';
import { createCounters } from './counters';
import { FilterIndex } from './filter-index';
import { encodeControl } from './frames';
import { Heartbeat } from './heartbeat';
import { History } from './history';
import { HubError } from './hub-error';
import { HubMetrics } from './metrics';
import { createFigures, type HubFigures } from './figures';
import { DEFAULT_RETRY_AFTER_S, refuseUpgrade, SessionPool } from './pool';
import { createHistoryReplayer } from './resume';
import { Router } from './router';
import { Session, type RawSocket } from './session';
import { SystemFeed } from './system-feed';
import type { FrameInterceptor, Hub } from './types';

/** How long ws waits for the peer's close frame before destroying the socket (ws's default is 30 s). */
export const DEFAULT_CLOSE_TIMEOUT_MS = 1_000;
/** How long `close()` waits for sockets to finish closing before terminating the rest. */
export const DEFAULT_FORCE_CLOSE_MS = 1_500;
export const DEFAULT_SHUTDOWN_REASON = 'server shutting down';
export const STREAM_RESET_REASON = 'the event stream restarted; reload and go on live';

export interface HubDeps {
	bus: EventBus;
	/** numbered events; by default the bus's events numbered in this process */
	source?: EventSource;
	/** the recent stream for replay and readers behind; by default in memory, bounded by the config */
	history?: HistorySource;
	config: HubConfig;
	logger: Logger;
	/** also export process metrics (CPU, memory, event loop) at /metrics; once per process */
	processMetrics?: boolean;
	/** more of this node's metrics for /metrics (the shared bus's) */
	extraMetrics?: Metric[];
	/** sees every text frame before the subscriber protocol (the node's producer role) */
	intercept?: FrameInterceptor;
	/** this node's id, the `node` label of every metric */
	node?: string;
}

type HubState = 'running' | 'closing' | 'closed';

export function createHub(deps: HubDeps): Hub {
	const { bus, config, logger } = deps;
	const counters = createCounters();
	const startedAt = Date.now();
	const pool = new SessionPool(config.maxConnections, config.maxConnectionsPerIp);
	const sessions = () => pool.values();
	const index = new FilterIndex<Session>();
	const history =
		deps.history ??
		new History({
			maxEvents: config.historyMaxEvents,
			maxBytes: config.historyMaxBytes,
			maxAgeMs: config.historyMaxAgeMs
		});
	const source = deps.source ?? new LocalNumbering(bus);
	const broadcaster = new Broadcaster({
		source,
		index,
		history,
		counters,
		logger: logger.child({ part: 'broadcast' }),
		onReset: (position, missed) => {
			// the stream restarted under the clients: each reloads over REST and goes on live from here
			counters.resets += pool.size;
			const frame = encodeControl('reset', {
				missed,
				epoch: position.epoch,
				seq: position.seq,
				reason: STREAM_RESET_REASON
			});
			for (const session of pool.values()) session.restartAt(position.seq, frame);
		}
	});
	const position = () => broadcaster.position;
	const figures: HubFigures = createFigures({
		config,
		counters,
		pool,
		history,
		index,
		position: () => broadcaster.position,
		latency: () => metrics.latencySummary(),
		startedAt
	});
	const metrics = new HubMetrics({
		counters,
		live: figures.live,
		processMetrics: deps.processMetrics,
		node: deps.node,
		extra: deps.extraMetrics
	});
	const onDelivered = (ms: number) => metrics.observeLatency(ms);
	const router = new Router({
		position,
		replayer: createHistoryReplayer(position, source),
		counters,
		logger: logger.child({ part: 'router' }),
		intercept: deps.intercept
	});
	const heartbeat = new Heartbeat({
		sessions,
		heartbeatIntervalMs: config.heartbeatIntervalMs,
		idleTimeoutMs: config.idleTimeoutMs,
		logger: logger.child({ part: 'heartbeat' })
	});
	// `closeTimeout` exists in ws ≥ 8.18 but not yet in @types/ws; it bounds a close
	// handshake the peer never answers (half-open TCP) so the socket does not linger 30 s.
	const wsOptions: ServerOptions & { closeTimeout: number } = {
		noServer: true,
		maxPayload: config.maxInboundBytes,
		perMessageDeflate: deflateOptions(config.compression),
		clientTracking: false,
		// Handlers are synchronous and cheap; yielding between frames would only add latency.
		allowSynchronousEvents: true,
		closeTimeout: DEFAULT_CLOSE_TIMEOUT_MS
	};
	const wss = new WebSocketServer(wsOptions);
	// ws emits errors of the server itself here (not of sockets); without a listener they would throw
	wss.on('error', (err) => {
		counters.errors += 1;
		logger.error({ err }, 'WebSocket server error');
	});

	const systemFeed = new SystemFeed({
		clients: sessions,
		counters,
		stats: figures.stats,
		logger: logger.child({ part: 'system-feed' })
	});

	let state: HubState = 'running';
	let closing: Promise<void> | null = null;
	broadcaster.start();
	heartbeat.start();
	systemFeed.start();
	logger.info({ epoch: broadcaster.epoch, max_connections: pool.max }, 'hub started');

	function welcome(clientId: string): WelcomeData {
		return {
			client_id: clientId,
			epoch: broadcaster.epoch,
			seq: broadcaster.position.seq,
			protocol: PROTOCOL_VERSION,
			heartbeat_interval_ms: config.heartbeatIntervalMs,
			idle_timeout_ms: config.idleTimeoutMs,
			limits: { max_message_bytes: config.maxInboundBytes, max_subscriptions: MAX_SUBSCRIPTIONS }
		};
	}

	function onConnection(ws: WebSocket, req: IncomingMessage, raw: RawSocket): void {
		const id = randomUUID();
		const session = new Session({
			id,
			socket: ws,
			rawSocket: raw,
			remoteAddress: remoteOf(req),
			counters,
			index,
			position: () => broadcaster.seq,
			history,
			maxBufferedBytes: config.maxBufferedBytes,
			queueMaxMessages: config.queueMaxMessages,
			batchMaxEvents: config.batchMaxEvents,
			batchFlushMs: config.batchFlushMs,
			rateLimit: {
				perSecond: config.rateLimitPerSecond,
				burst: config.rateLimitBurst,
				maxViolations: config.rateLimitMaxViolations
			},
			onDelivered,
			logger: logger.child({ client_id: id }),
			onMessage: (s, data, isBinary) => router.handleFrame(s, data, isBinary),
			onClose: (s, code, reason) => {
				pool.remove(s);
				logger.debug({ client_id: s.id, code, reason, active: pool.size }, 'client disconnected');
			}
		});
		pool.add(session);
		logger.debug({ client_id: id, remote: req.socket.remoteAddress, active: pool.size }, 'client connected');
		session.send(encodeControl('welcome', welcome(id)));
	}

	function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
		try {
			if (state !== 'running') {
				pool.recordRejected('shutting_down');
				refuseUpgrade(socket, 503, HubError.shuttingDown(), DEFAULT_RETRY_AFTER_S);
				return;
			}
			const origin = req.headers.origin;
			if (!isAllowedOrigin(origin, req.headers.host, config.allowedOrigins)) {
				pool.recordRejected('origin');
				logger.warn({ origin, remote: req.socket.remoteAddress }, 'upgrade from a foreign origin refused');
				refuseUpgrade(socket, 403, HubError.forbiddenOrigin(String(origin)));
				return;
			}
			if (!pool.hasCapacity()) {
				pool.recordRejected('capacity');
				logger.warn(
					{ max: pool.max, remote: req.socket.remoteAddress },
					'connection limit reached, upgrade refused'
				);
				refuseUpgrade(
					socket,
					503,
					HubError.overCapacity(pool.max, DEFAULT_RETRY_AFTER_S),
					DEFAULT_RETRY_AFTER_S
				);
				return;
			}
			const remote = remoteOf(req);
			if (!pool.hasCapacityFor(remote)) {
				pool.recordRejected('per_ip');
				logger.warn(
					{ remote, max_per_ip: pool.maxPerIp },
					'per-address connection limit reached, upgrade refused'
				);
				refuseUpgrade(
					socket,
					429,
					HubError.tooManyFromAddress(pool.maxPerIp, DEFAULT_RETRY_AFTER_S),
					DEFAULT_RETRY_AFTER_S
				);
				return;
			}
			// A malformed handshake is answered by ws itself (400 and the reason), without a callback.
			wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, req, socket as unknown as RawSocket));
		} catch (err) {
			counters.errors += 1;
			logger.error({ err, url: req.url }, 'upgrade failed');
			socket.destroy();
		}
	}

	async function shutdown(code: number, reason: string): Promise<void> {
		state = 'closing';
		broadcaster.stop();
		heartbeat.stop();
		systemFeed.stop();
		const open = [...pool.values()];
		logger.info({ code, connections: open.length }, 'hub closing');
		for (const session of open) session.close(code, reason);
		const allClosed = Promise.all(open.map((s) => s.closed));
		let timer: NodeJS.Timeout | undefined;
		const timedOut = new Promise<boolean>((resolve) => {
			timer = setTimeout(() => resolve(true), DEFAULT_FORCE_CLOSE_MS);
			timer.unref();
		});
		const forced = await Promise.race([allClosed.then(() => false), timedOut]);
		clearTimeout(timer);
		if (forced) {
			for (const session of open) session.terminate();
			await allClosed;
		}
		wss.close();
		state = 'closed';
		logger.info({ forced }, 'hub closed');
	}

	return {
		handleUpgrade,
		stats: figures.stats,
		systemStats: () => systemFeed.response(),
		async metrics() {
			return { contentType: metrics.contentType, body: await metrics.text() };
		},
		close(code: number = CloseCode.GOING_AWAY, reason: string = DEFAULT_SHUTDOWN_REASON): Promise<void> {
			closing ??= shutdown(code, reason);
			return closing;
		}
	};
}

/** The peer's address as the pool counts it (no proxy headers are trusted). */
function remoteOf(req: IncomingMessage): string {
	return req.socket.remoteAddress ?? 'unknown';
}
