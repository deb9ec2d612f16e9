/**
 * @module hub/hub
 * The WebSocket hub: composes the pool (admission, registry), sessions (one client each, with
 * its rate limit and bounded queue), the heartbeat (liveness), the router (client messages),
 * the broadcaster (bus → channels of clients with the same subscriptions → clients), history
 * (replay on resume, readers behind the stream), shared frames, compression and
 * metrics.
 * Each concern lives in its own module; this one wires them and owns the lifecycle
 * `running → closing → closed`.
 *
 * @example
 * const hub = createHub({ bus, config: config.hub, logger: logger.child({ component: 'hub' }) });
 * server.on('upgrade', (req, socket, head) => hub.handleUpgrade(req, socket, head));
 * await hub.close(1001, 'server shutting down');
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type ServerOptions, type WebSocket } from 'ws';
import { CloseCode } from '../../protocol/close-codes';
import { PROTOCOL_VERSION } from '../../protocol/limits';
import { MAX_SUBSCRIPTIONS } from '../../protocol/messages';
import type { Metric } from 'prom-client';
import type { EventBus } from '../bus/types';
import type { HubConfig } from '../config';
import type { Logger } from '../logger';
import type { Principal } from '../auth/principal';
import { AccessWatch, openAccess, type Admission, type HubAccess } from './access';
import { Broadcaster } from './broadcast';
import { LocalNumbering, type EventSource, type HistorySource } from './stream';
import { deflateOptions, frameCompression, narrowDeflateWindow } from './compression';
import { FrameCache } from './frame-cache';
import { WireBuffers } from './wire-buffers';
import { DEFAULT_WRITE_SLICE_MS, WriteTurns, type WriteShare } from './write-turns';
import { createCounters } from './counters';
import { Channels } from './channels';
import { encodeControl, welcomeEncoder } from './frames';
import { Heartbeat } from './heartbeat';
import { History } from './history';
import { HubError } from './hub-error';
import { HubMetrics } from './metrics';
import { createFigures, type HubFigures } from './figures';
import { DEFAULT_RETRY_AFTER_S, refuseUpgrade, SessionPool } from './pool';
import { createHistoryReplayer } from './resume';
import { ResumeWindows } from './resume-windows';
import { Router } from './router';
import { DEFAULT_WRITE_HIGH_WATER_BYTES, Session, type RawSocket } from './session';
import { SystemFeed } from './system-feed';
import type { FrameInterceptor, Hub } from './types';
import type { ClientAddressOf } from '../http/client-address';

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
	/** who may connect (credentials, Host, Origin); without it everyone may, from same-host pages */
	access?: HubAccess;
	/** this node's id, the `node` label of every metric */
	node?: string;
	/** the address a connection comes from, as the per-address limit counts it; by default its peer's */
	clientAddress?: ClientAddressOf;
	/**
	 * how much of each loop turn writing to clients may take, asked at each turn; by default the
	 * full slice. The node's gives way while a tool it runs floods (loop-share.ts)
	 */
	writeShare?: WriteShare;
}

type HubState = 'running' | 'closing' | 'closed';

export function createHub(deps: HubDeps): Hub {
	const { bus, config, logger } = deps;
	const remoteOf = deps.clientAddress ?? peerAddress;
	const access = deps.access ?? openAccess(config.allowedOrigins);
	const counters = createCounters();
	const startedAt = Date.now();
	const pool = new SessionPool(config.maxConnections, config.maxConnectionsPerIp);
	const sessions = () => pool.values();
	const frames = new FrameCache(frameCompression(config.compression));
	const writeShare = deps.writeShare;
	const writeSliceMs = writeShare ? () => writeShare.writeSliceMs() : () => DEFAULT_WRITE_SLICE_MS;
	const onFarBehind = writeShare ? () => writeShare.readerFarBehind() : undefined;
	const turns = new WriteTurns({
		sliceMs: writeSliceMs,
		onError: (err) => {
			counters.errors += 1;
			logger.error({ err }, 'writing to a session failed');
		}
	});
	const channels = new Channels<Session>({
		frames,
		batchMaxEvents: config.batchMaxEvents,
		runBytes: DEFAULT_WRITE_HIGH_WATER_BYTES,
		sliceMs: writeSliceMs,
		onError: (err, session) => {
			// one broken session must not keep the event from the others
			counters.errors += 1;
			logger.error({ err, client_id: session.id }, 'delivery to a session failed');
		}
	});
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
		recipients: channels,
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
		channels,
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
	const onDelivered = (ms: number, count: number) => metrics.observeLatency(ms, count);
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
	const watch = new AccessWatch<Session>({ access, logger: logger.child({ part: 'access' }) });
	// one logger for every session: each of their lines names its client_id (a child logger per
	// connection cost an object graph and a serialisation per handshake)
	const sessionLogger = logger.child({ part: 'session' });
	// `closeTimeout` exists in ws ≥ 8.18 but not yet in @types/ws; it bounds a close
	// handshake the peer never answers (half-open TCP) so the socket does not linger 30 s.
	const wsOptions: ServerOptions & { closeTimeout: number } = {
		noServer: true,
		maxPayload: config.maxInboundBytes,
		// A message in thousands of 1-byte fragments, or a frame trickled in as thousands of TCP
		// reads, is held piece by piece until it completes; these bound the pieces (1008 past them).
		maxFragments: config.maxFragments,
		maxBufferedChunks: config.maxBufferedChunks,
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
	// handshakes whose client inflates with a window smaller than the shared frames' (compression.ts);
	// ws emits 'headers' just before it hands over the socket
	const narrowWindows = new WeakSet<IncomingMessage>();
	if (wsOptions.perMessageDeflate) {
		wss.on('headers', (headers, req) => {
			if (narrowDeflateWindow(headers)) narrowWindows.add(req);
		});
	}

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
	watch.start();
	logger.info({ epoch: broadcaster.epoch, max_connections: pool.max }, 'hub started');

	const welcome = welcomeEncoder({
		protocol: PROTOCOL_VERSION,
		heartbeat_interval_ms: config.heartbeatIntervalMs,
		idle_timeout_ms: config.idleTimeoutMs,
		limits: { max_message_bytes: config.maxInboundBytes, max_subscriptions: MAX_SUBSCRIPTIONS }
	});

	// what every session shares, made once rather than per handshake
	const resumeWindows = new ResumeWindows(config.batchFlushMs);
	const wireBuffers = new WireBuffers();
	const sessionPosition = () => broadcaster.seq;
	const sessionRateLimit = {
		perSecond: config.rateLimitPerSecond,
		burst: config.rateLimitBurst,
		maxViolations: config.rateLimitMaxViolations
	};
	const onSessionMessage = (s: Session, data: RawData, isBinary: boolean) =>
		router.handleFrame(s, data, isBinary);
	const onSessionClose = (s: Session, code: number, reason: string) => {
		pool.remove(s);
		watch.remove(s);
		if (logger.isLevelEnabled('debug')) {
			logger.debug({ client_id: s.id, code, reason, active: pool.size }, 'client disconnected');
		}
	};

	function onConnection(ws: WebSocket, req: IncomingMessage, raw: RawSocket, principal: Principal): void {
		const id = randomUUID();
		const session = new Session({
			id,
			principal,
			socket: ws,
			rawSocket: raw,
			remoteAddress: remoteOf(req),
			counters,
			channels,
			position: sessionPosition,
			history,
			maxBufferedBytes: config.maxBufferedBytes,
			queueMaxMessages: config.queueMaxMessages,
			batchMaxEvents: config.batchMaxEvents,
			batchFlushMs: config.batchFlushMs,
			rateLimit: sessionRateLimit,
			onDelivered,
			frames,
			turns,
			...(onFarBehind ? { onFarBehind } : {}),
			wireBuffers,
			resumeWindows,
			deflate: ws.extensions.includes('permessage-deflate') && !narrowWindows.has(req),
			logger: sessionLogger,
			onMessage: onSessionMessage,
			onClose: onSessionClose
		});
		pool.add(session);
		watch.add(session);
		if (logger.isLevelEnabled('debug')) {
			logger.debug(
				{
					client_id: id,
					remote: session.remoteAddress,
					active: pool.size,
					role: principal.role,
					via: principal.via
				},
				'client connected'
			);
		}
		session.send(welcome(id, broadcaster.epoch, broadcaster.position.seq));
		// still corked (admitted): their answers leave in the welcome's write
		router.handleConnect(session, req.url);
	}

	function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
		if (state !== 'running') {
			pool.recordRejected('shutting_down');
			refuseUpgrade(socket, 503, HubError.shuttingDown(), DEFAULT_RETRY_AFTER_S);
			return;
		}
		let admission: Admission | Promise<Admission>;
		try {
			admission = access.admit(req);
		} catch (err) {
			uncheckable(req, socket, err);
			return;
		}
		// most handshakes are decided at once (a token, or no credentials needed): no promise, no
		// microtask and no interim listener between the upgrade event and ws taking the socket
		if (!(admission instanceof Promise)) {
			decided(req, socket, head, admission);
			return;
		}
		// nothing listens to the socket until ws takes it; an error meanwhile must not crash the process
		const onError = () => socket.destroy();
		socket.on('error', onError);
		admission.then(
			(answer) => {
				socket.off('error', onError);
				decided(req, socket, head, answer);
			},
			(err: unknown) => {
				socket.off('error', onError);
				uncheckable(req, socket, err);
			}
		);
	}

	/** Refuses the upgrade the access check turned down, or goes on with it. */
	function decided(req: IncomingMessage, socket: Duplex, head: Buffer, admission: Admission): void {
		if (socket.destroyed) return;
		if (!admission.ok) {
			pool.recordRejected(
				admission.code === 'forbidden_host'
					? 'host'
					: admission.code === 'forbidden_origin'
						? 'origin'
						: 'auth'
			);
			logger.warn(
				{
					code: admission.code,
					status: admission.status,
					origin: req.headers.origin,
					remote: remoteOf(req)
				},
				'upgrade refused'
			);
			const closeCode = admission.status === 401 ? CloseCode.UNAUTHORIZED : CloseCode.FORBIDDEN;
			refuseUpgrade(
				socket,
				admission.status,
				new HubError(admission.code, admission.message, { closeCode }),
				undefined,
				admission.headers
			);
			return;
		}
		admitted(req, socket, head, admission.principal);
	}

	/** The access check failed (e.g. the database that keeps sessions is away): a retryable refusal. */
	function uncheckable(req: IncomingMessage, socket: Duplex, err: unknown): void {
		counters.errors += 1;
		logger.warn({ err, url: req.url }, 'could not check the credentials of an upgrade');
		const error = new HubError(
			'credentials_unavailable',
			'The server cannot check credentials right now. Retry shortly.',
			{ closeCode: CloseCode.OVERLOADED, retryable: true, cause: err }
		);
		refuseUpgrade(socket, 503, error, DEFAULT_RETRY_AFTER_S);
	}

	/** The checks that need no await, then the handshake (ws completes it synchronously). */
	function admitted(req: IncomingMessage, socket: Duplex, head: Buffer, principal: Principal): void {
		try {
			if (state !== 'running') {
				pool.recordRejected('shutting_down');
				refuseUpgrade(socket, 503, HubError.shuttingDown(), DEFAULT_RETRY_AFTER_S);
				return;
			}
			if (!pool.hasCapacity()) {
				pool.recordRejected('capacity');
				logger.warn({ max: pool.max, remote: remoteOf(req) }, 'connection limit reached, upgrade refused');
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
			// ws answers 101 and calls back synchronously: corked, the 101 and the welcome leave in
			// one write (one system call and one packet per handshake instead of two)
			socket.cork();
			try {
				wss.handleUpgrade(req, socket, head, (ws) =>
					onConnection(ws, req, socket as unknown as RawSocket, principal)
				);
			} finally {
				socket.uncork();
			}
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
		watch.stop();
		resumeWindows.stop();
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
		turns.close();
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

/** The peer's own address (no proxy header trusted). */
function peerAddress(req: IncomingMessage): string {
	return req.socket.remoteAddress ?? 'unknown';
}
