/**
 * @module config
 * The server's configuration, read from the environment with named defaults. Everything a
 * test needs to shorten (timeouts, limits) is configurable here.
 */
import { DEFAULT_AUTH_FAILURES_PER_MINUTE } from './auth/attempt-limit';
import fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import {
	DEFAULT_HEARTBEAT_INTERVAL_MS,
	DEFAULT_IDLE_TIMEOUT_MS,
	DEFAULT_MAX_CONNECTIONS,
	DEFAULT_MAX_INBOUND_BYTES
} from '../protocol';
import { assertCredentialsWhenPublished } from './auth/bind';
import { parseAllowedHosts, parsePublicUrls } from './auth/hosts';
import { DEFAULT_SESSION_IDLE_MS, DEFAULT_SESSION_MAX_AGE_MS } from './auth/sessions';
import { loadTokens, type TokenEntry } from './auth/tokens';
import { parseOrigins } from './origin';
import { redactUrl } from './redact-url';
import { DEFAULT_DISK_RESERVE_BYTES, DEFAULT_DISK_RETRY_MS } from './disk-guard';
import { DEFAULT_READ_WORKERS } from './downloads/read-pool';
import { parseTrustedProxies } from './http/client-address';
import { parseNameList } from './masking/secret-env';
import {
	DEFAULT_OUTPUT_MAX_BYTES,
	DEFAULT_OUTPUT_MAX_LINES,
	type OutputLimitConfig
} from './orchestrator/output-limit';

export interface HubConfig {
	maxConnections: number;
	heartbeatIntervalMs: number;
	idleTimeoutMs: number;
	maxInboundBytes: number;
	/** byte cap of one client's waiting replies and its socket's unsent bytes */
	maxBufferedBytes: number;
	/** page origins besides the server's own that may open the hub and call the API from a browser */
	allowedOrigins: string[];
	/** connections one remote address may hold at once */
	maxConnectionsPerIp: number;
	/** history kept for `resume`: at most this many events, bytes and this age */
	historyMaxEvents: number;
	historyMaxBytes: number;
	historyMaxAgeMs: number;
	/** token bucket per client: messages per second and burst */
	rateLimitPerSecond: number;
	rateLimitBurst: number;
	/** refused messages within RATE_LIMIT_WINDOW_MS after which the client is closed with 4003 */
	rateLimitMaxViolations: number;
	/** events one client's live queue holds; past it the client reads the stream from history */
	queueMaxMessages: number;
	/** events per `batch` frame, and the longest a queued event waits for a writable socket */
	batchMaxEvents: number;
	batchFlushMs: number;
	compression: CompressionConfig;
	/** fragments one inbound message may arrive in (ws's `maxFragments`; it defaults to 16,384) */
	maxFragments: number;
	/** received chunks ws may hold while a frame is incomplete (ws's `maxBufferedChunks`) */
	maxBufferedChunks: number;
}

export const COMPRESSION_LEVELS = ['none', 'fast', 'default', 'best'] as const;
export type CompressionLevel = (typeof COMPRESSION_LEVELS)[number];

export interface CompressionConfig {
	level: CompressionLevel;
	/** frames smaller than this are sent uncompressed */
	thresholdBytes: number;
	/** zlib operations running at once across all clients */
	concurrency: number;
}

export interface OrchestratorConfig {
	workflowsDir: string;
	/** tasks that may run at once */
	concurrency: number;
	/** time between SIGTERM and SIGKILL when a tool is cancelled */
	killGraceMs: number;
	/** lines longer than this are split into continuation lines */
	maxLineLength: number;
	/**
	 * How long a node's hold on a task it runs lasts without renewal (PostgreSQL only; renewed
	 * every third of it). A node that dies loses its tasks to another node within about this time.
	 */
	leaseMs: number;
	/** what one tool execution may keep of its output (also for ingested tools); 1 GiB when omitted */
	outputLimit?: OutputLimitConfig;
	/** more variable names or `*` patterns whose values are masked (`ACO_MASK_ENV`) */
	maskEnv?: string[];
	/** more of the server's variables kept from tools (`ACO_TOOL_ENV_REMOVE`), besides its credentials */
	toolEnvRemove?: string[];
}

export interface DatabaseConfig {
	/** `postgres://…` puts the state in PostgreSQL, shared by every node; null: SQLite in `dataDir` */
	url: string | null;
	/** connections this node holds at most (PostgreSQL) */
	maxConnections: number;
	/**
	 * How long a statement may go unanswered before the database counts as unreachable and its
	 * connection is dropped (PostgreSQL; keep it under a third of `leaseMs`, so a renewal that gets
	 * no answer fails before the next is due)
	 */
	queryTimeoutMs: number;
}

/** Who may do what, and from where (see src/lib/server/auth/). */
export interface AccessConfig {
	/**
	 * API tokens with their roles, as hashes (ACO_TOKEN, ACO_TOKENS, ACO_TOKENS_FILE). With none,
	 * a loopback server needs no credentials; one bound beyond loopback or published
	 * (ACO_PUBLIC_URL, ACO_ALLOWED_HOSTS) refuses to start, and so does one whose ACO_TOKENS or
	 * ACO_TOKENS_FILE is set but holds no token (see auth/bind.ts, auth/tokens.ts).
	 */
	tokens: TokenEntry[];
	/** the app's public origins, e.g. https://aco.example.com (ACO_PUBLIC_URL) */
	publicUrls: string[];
	/** more `Host` values accepted (ACO_ALLOWED_HOSTS) */
	allowedHosts: string[];
	/** page origins besides the server's own allowed to call it (ACO_ALLOWED_ORIGINS) */
	allowedOrigins: string[];
	/**
	 * peers whose `X-Forwarded-For` names the client (ACO_TRUSTED_PROXIES; none by default):
	 * what per-address limits and logs count behind a reverse proxy (see http/client-address)
	 */
	trustedProxies: string[];
	/** a browser session ends this long after its last use… */
	sessionIdleMs: number;
	/** …and at the latest this long after sign-in */
	sessionMaxAgeMs: number;
	/**
	 * wrong tokens one client address may present at once, and per minute after that, before it
	 * is answered 429 (ACO_AUTH_FAILURES_PER_MINUTE; see auth/attempt-limit)
	 */
	authFailuresPerMinute: number;
	/** how often the sessions of open WebSockets are checked against the store (sign-out on another node) */
	sessionCheckMs: number;
	/** things worth a warning at start (a tokens file others can read) */
	warnings: string[];
}

/** Node's HTTP parser limits: what a request may cost before any route sees it. */
export interface HttpLimitsConfig {
	/** bytes of one request's header block (Node's `maxHeaderSize`) */
	maxHeaderBytes: number;
	/** header lines in one request; beyond it the answer is 431 */
	maxHeaders: number;
	/** time to receive a request's headers (Node's `headersTimeout`) */
	headersTimeoutMs: number;
	/** time to receive a whole request, body included (Node's `requestTimeout`) */
	requestTimeoutMs: number;
	/** how long an idle keep-alive connection stays open (Node's `keepAliveTimeout`) */
	keepAliveTimeoutMs: number;
	/**
	 * TCP connections open at once, WebSockets included (Node's `maxConnections`); past it a new
	 * connection is closed unread. Always above the hub's `maxConnections` (see http/connection-cap).
	 */
	maxConnections: number;
}

export interface IngestConfig {
	/** a running ingested task that reports nothing for this long is failed ("lost contact"); 0: never */
	silenceMs: number;
	/** after a cancel is requested, how long the producer has to confirm it before the task is cancelled without it */
	cancelTimeoutMs: number;
}

export interface RedisConfig {
	/** `redis://[user:password@]host:port[/db]` (or `rediss://` for TLS) */
	url: string;
	/** prefix of every key aco writes, so several clusters can share one Redis */
	prefix: string;
	/** events kept while Redis is unreachable; past either bound they are dropped and clients reset */
	bufferMaxEvents: number;
	bufferMaxBytes: number;
}

export const DEFAULT_REDIS_PREFIX = 'aco:';
export const DEFAULT_REDIS_BUFFER_EVENTS = 100_000;
export const DEFAULT_REDIS_BUFFER_BYTES = 64 * 1024 * 1024;

/**
 * Said after a service URL that does not read: it is shown redacted (the password as `***`), and
 * the usual cause is a password with a character a URL gives a meaning to
 */
const PERCENT_ENCODE_HINT =
	' (password shown as ***; if the password holds / # ? @ : or %, percent-encode them: / as %2F, # as %23, ? as %3F, @ as %40, : as %3A, % as %25)';

/** The Redis part of the configuration: null (the in-process bus) unless ACO_REDIS_URL is set. */
export function loadRedisConfig(env: Env): RedisConfig | null {
	const url = env.ACO_REDIS_URL;
	if (!url) return null;
	let scheme: string;
	try {
		scheme = new URL(url).protocol;
	} catch {
		throw new Error(
			`ACO_REDIS_URL must be a URL like redis://127.0.0.1:6379, got ${JSON.stringify(redactUrl(url))}${PERCENT_ENCODE_HINT}`
		);
	}
	if (scheme !== 'redis:' && scheme !== 'rediss:') {
		throw new Error(`ACO_REDIS_URL must start with redis:// or rediss://, got ${JSON.stringify(scheme)}`);
	}
	return {
		url,
		prefix: env.ACO_REDIS_PREFIX || DEFAULT_REDIS_PREFIX,
		bufferMaxEvents: int(env, 'ACO_REDIS_BUFFER_EVENTS', DEFAULT_REDIS_BUFFER_EVENTS, 1),
		bufferMaxBytes: int(env, 'ACO_REDIS_BUFFER_BYTES', DEFAULT_REDIS_BUFFER_BYTES, 1024)
	};
}

export interface AcoConfig {
	port: number;
	host: string;
	dataDir: string;
	logLevel: string;
	access: AccessConfig;
	http: HttpLimitsConfig;
	/** this node's name among the nodes of a cluster (leases, metrics, stats); unique per process */
	nodeId: string;
	database: DatabaseConfig;
	hub: HubConfig;
	orchestrator: OrchestratorConfig;
	ingest: IngestConfig;
	/** bytes kept free in the data folder so tasks can still be failed when its disk fills (disk-guard) */
	diskReserveBytes: number;
	/** how often a full data folder is checked for room again */
	diskRetryMs: number;
	/** SQLite: threads that read log downloads off the event loop; 0 reads them on it */
	logReadWorkers: number;
	/** the event bus and replay history shared by every node; null: in-process */
	redis: RedisConfig | null;
}

export const DEFAULT_PORT = 3000;
export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_CONCURRENCY = 4;
export const DEFAULT_KILL_GRACE_MS = 5_000;
export const DEFAULT_MAX_LINE_LENGTH = 64 * 1024;
export const DEFAULT_MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
export const DEFAULT_MAX_CONNECTIONS_PER_IP = 100;
export const DEFAULT_HISTORY_MAX_EVENTS = 100_000;
export const DEFAULT_HISTORY_MAX_BYTES = 64 * 1024 * 1024;
export const DEFAULT_HISTORY_MAX_AGE_MS = 10 * 60_000;
export const DEFAULT_RATE_LIMIT_PER_SECOND = 100;
export const DEFAULT_RATE_LIMIT_BURST = 200;
export const DEFAULT_RATE_LIMIT_MAX_VIOLATIONS = 100;
export const DEFAULT_QUEUE_MAX_MESSAGES = 100;
export const DEFAULT_BATCH_MAX_EVENTS = 10;
export const DEFAULT_BATCH_FLUSH_MS = 100;
export const DEFAULT_COMPRESSION_LEVEL: CompressionLevel = 'none';
export const DEFAULT_COMPRESSION_THRESHOLD_BYTES = 1024;
export const DEFAULT_COMPRESSION_CONCURRENCY = 10;
/** no client of ours fragments its messages; a few fragments are tolerated, thousands are an attack */
export const DEFAULT_MAX_FRAGMENTS = 16;
/** a 64 KiB frame arriving in 1,460-byte segments is 45 chunks */
export const DEFAULT_MAX_BUFFERED_CHUNKS = 1_024;
export const DEFAULT_SESSION_CHECK_MS = 5_000;
export const DEFAULT_MAX_HEADER_BYTES = 16 * 1024;
/** browsers send about 20 header lines, proxies add a few */
export const DEFAULT_MAX_HEADERS = 100;
export const DEFAULT_HEADERS_TIMEOUT_MS = 20_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 120_000;
/**
 * Clients (undici, browsers, proxies) reuse an idle connection for seconds after a response;
 * closing it sooner races their next request ("other side closed"). 65 s is what load balancers
 * expect. Node (18+) times headers from a request's first byte, so an idle connection is not
 * cut by the shorter headers timeout.
 */
export const DEFAULT_KEEP_ALIVE_TIMEOUT_MS = 65_000;
/**
 * The floor of the default cap on open HTTP connections (ACO_MAX_HTTP_CONNECTIONS). Every
 * WebSocket is one of them, so the default grows with ACO_MAX_CONNECTIONS, by
 * {@link HTTP_CONNECTIONS_PER_WEBSOCKET}.
 */
export const DEFAULT_MAX_HTTP_CONNECTIONS = 10_000;
/**
 * A browser tab holds one WebSocket and up to six HTTP/1.1 connections to a host, each kept alive
 * for ACO_KEEP_ALIVE_TIMEOUT_MS after its last response; one more for the CLI or a probe. With the
 * hub full of tabs, their page loads and downloads still fit under the default cap.
 */
export const HTTP_CONNECTIONS_PER_WEBSOCKET = 8;
export const DEFAULT_LEASE_MS = 15_000;
export const DEFAULT_DATABASE_MAX_CONNECTIONS = 10;
/** as store/pg/pg-db's DEFAULT_QUERY_TIMEOUT_MS (not imported: this module loads no database driver) */
export const DEFAULT_DATABASE_QUERY_TIMEOUT_MS = 4_000;
export const DEFAULT_INGEST_SILENCE_MS = 5 * 60_000;
export const DEFAULT_INGEST_CANCEL_TIMEOUT_MS = 30_000;

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
	const raw = env[name];
	if (raw === undefined || raw === '') return fallback;
	const value = Number(raw);
	if (!Number.isInteger(value) || value < min || value > max) {
		const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `from ${min} to ${max}`;
		throw new Error(`${name} must be an integer ${range}, got ${JSON.stringify(raw)}`);
	}
	return value;
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
	const raw = env[name];
	if (raw === undefined || raw === '') return fallback;
	if (!(allowed as readonly string[]).includes(raw)) {
		throw new Error(`${name} must be one of ${allowed.join(', ')}, got ${JSON.stringify(raw)}`);
	}
	return raw as T;
}

/** The hub's configuration with every default; tests spread their overrides over it. */
export function defaultHubConfig(): HubConfig {
	return loadHubConfig({});
}

/** Reads the hub's part of the configuration from environment variables. */
export function loadHubConfig(env: Env): HubConfig {
	return {
		maxConnections: int(env, 'ACO_MAX_CONNECTIONS', DEFAULT_MAX_CONNECTIONS, 1),
		heartbeatIntervalMs: int(env, 'ACO_HEARTBEAT_INTERVAL_MS', DEFAULT_HEARTBEAT_INTERVAL_MS, 10),
		idleTimeoutMs: int(env, 'ACO_IDLE_TIMEOUT_MS', DEFAULT_IDLE_TIMEOUT_MS, 10),
		maxInboundBytes: int(env, 'ACO_MAX_INBOUND_BYTES', DEFAULT_MAX_INBOUND_BYTES, 256),
		maxBufferedBytes: int(env, 'ACO_MAX_BUFFERED_BYTES', DEFAULT_MAX_BUFFERED_BYTES, 1024),
		allowedOrigins: parseOrigins(env.ACO_ALLOWED_ORIGINS),
		maxConnectionsPerIp: int(env, 'ACO_MAX_CONNECTIONS_PER_IP', DEFAULT_MAX_CONNECTIONS_PER_IP, 1),
		historyMaxEvents: int(env, 'ACO_HISTORY_MAX_EVENTS', DEFAULT_HISTORY_MAX_EVENTS, 0),
		historyMaxBytes: int(env, 'ACO_HISTORY_MAX_BYTES', DEFAULT_HISTORY_MAX_BYTES, 0),
		historyMaxAgeMs: int(env, 'ACO_HISTORY_MAX_AGE_MS', DEFAULT_HISTORY_MAX_AGE_MS, 0),
		rateLimitPerSecond: int(env, 'ACO_RATE_LIMIT_PER_SECOND', DEFAULT_RATE_LIMIT_PER_SECOND, 1),
		rateLimitBurst: int(env, 'ACO_RATE_LIMIT_BURST', DEFAULT_RATE_LIMIT_BURST, 1),
		rateLimitMaxViolations: int(env, 'ACO_RATE_LIMIT_MAX_VIOLATIONS', DEFAULT_RATE_LIMIT_MAX_VIOLATIONS, 1),
		queueMaxMessages: int(env, 'ACO_QUEUE_MAX_MESSAGES', DEFAULT_QUEUE_MAX_MESSAGES, 1),
		batchMaxEvents: int(env, 'ACO_BATCH_MAX_EVENTS', DEFAULT_BATCH_MAX_EVENTS, 1),
		batchFlushMs: int(env, 'ACO_BATCH_FLUSH_MS', DEFAULT_BATCH_FLUSH_MS, 1),
		compression: {
			level: oneOf(env, 'ACO_COMPRESSION', COMPRESSION_LEVELS, DEFAULT_COMPRESSION_LEVEL),
			thresholdBytes: int(env, 'ACO_COMPRESSION_THRESHOLD_BYTES', DEFAULT_COMPRESSION_THRESHOLD_BYTES, 0),
			concurrency: int(env, 'ACO_COMPRESSION_CONCURRENCY', DEFAULT_COMPRESSION_CONCURRENCY, 1)
		},
		maxFragments: int(env, 'ACO_WS_MAX_FRAGMENTS', DEFAULT_MAX_FRAGMENTS, 1),
		maxBufferedChunks: int(env, 'ACO_WS_MAX_BUFFERED_CHUNKS', DEFAULT_MAX_BUFFERED_CHUNKS, 16)
	};
}

/** Reads who may do what (tokens, hosts, origins, sessions) from environment variables. */
export function loadAccessConfig(env: Env, cwd = process.cwd()): AccessConfig {
	const warnings: string[] = [];
	const tokens = loadTokens(env, {
		readFile: (file) => fs.readFileSync(path.resolve(cwd, file), 'utf8'),
		statMode: (file) => fs.statSync(path.resolve(cwd, file)).mode,
		warn: (message) => warnings.push(message)
	});
	const publicUrls = parsePublicUrls(env.ACO_PUBLIC_URL);
	const allowedHosts = parseAllowedHosts(env.ACO_ALLOWED_HOSTS);
	// a proxy's requests come from loopback: a published server needs tokens wherever it binds
	assertCredentialsWhenPublished({ tokens, publicUrls, allowedHosts });
	return {
		tokens,
		publicUrls,
		allowedHosts,
		allowedOrigins: parseOrigins(env.ACO_ALLOWED_ORIGINS),
		trustedProxies: parseTrustedProxies(env.ACO_TRUSTED_PROXIES),
		sessionIdleMs: int(env, 'ACO_SESSION_IDLE_MS', DEFAULT_SESSION_IDLE_MS, 1_000),
		sessionMaxAgeMs: int(env, 'ACO_SESSION_MAX_AGE_MS', DEFAULT_SESSION_MAX_AGE_MS, 1_000),
		sessionCheckMs: int(env, 'ACO_SESSION_CHECK_MS', DEFAULT_SESSION_CHECK_MS, 100),
		authFailuresPerMinute: int(env, 'ACO_AUTH_FAILURES_PER_MINUTE', DEFAULT_AUTH_FAILURES_PER_MINUTE, 1),
		warnings
	};
}

/**
 * Node's HTTP limits from environment variables. `webSockets` is the hub's cap
 * (ACO_MAX_CONNECTIONS): WebSockets are HTTP connections too, so the cap on those must be above it,
 * or the server would refuse page loads, and then WebSockets without a word, before the hub ever
 * answered 503.
 */
export function loadHttpLimits(env: Env, webSockets = DEFAULT_MAX_CONNECTIONS): HttpLimitsConfig {
	const limits: HttpLimitsConfig = {
		maxHeaderBytes: int(env, 'ACO_MAX_HEADER_BYTES', DEFAULT_MAX_HEADER_BYTES, 1024),
		maxHeaders: int(env, 'ACO_MAX_HEADERS', DEFAULT_MAX_HEADERS, 16),
		headersTimeoutMs: int(env, 'ACO_HEADERS_TIMEOUT_MS', DEFAULT_HEADERS_TIMEOUT_MS, 1_000),
		requestTimeoutMs: int(env, 'ACO_REQUEST_TIMEOUT_MS', DEFAULT_REQUEST_TIMEOUT_MS, 1_000),
		keepAliveTimeoutMs: int(env, 'ACO_KEEP_ALIVE_TIMEOUT_MS', DEFAULT_KEEP_ALIVE_TIMEOUT_MS, 1_000),
		maxConnections: int(
			env,
			'ACO_MAX_HTTP_CONNECTIONS',
			Math.max(DEFAULT_MAX_HTTP_CONNECTIONS, webSockets * HTTP_CONNECTIONS_PER_WEBSOCKET),
			1
		)
	};
	if (limits.headersTimeoutMs > limits.requestTimeoutMs) {
		throw new Error('ACO_HEADERS_TIMEOUT_MS must not be longer than ACO_REQUEST_TIMEOUT_MS');
	}
	if (limits.maxConnections <= webSockets) {
		throw new Error(
			`ACO_MAX_HTTP_CONNECTIONS (${limits.maxConnections}) must be greater than ACO_MAX_CONNECTIONS (${webSockets}): ` +
				'every WebSocket is an HTTP connection too, and pages need some of their own; leave room for about ' +
				`${HTTP_CONNECTIONS_PER_WEBSOCKET} per WebSocket (${webSockets * HTTP_CONNECTIONS_PER_WEBSOCKET})`
		);
	}
	return limits;
}

/** `<hostname>-<6 random characters>`: unique per process, readable in logs */
export function defaultNodeId(): string {
	return `${os.hostname()}-${randomBytes(6).toString('base64url').slice(0, 6)}`;
}

function databaseUrl(env: Env): string | null {
	const url = env.ACO_DATABASE_URL?.trim();
	if (!url) return null;
	if (!/^postgres(ql)?:\/\//.test(url)) {
		throw new Error(
			`ACO_DATABASE_URL must be a postgres:// URL (leave it unset for the embedded SQLite database), got ${JSON.stringify(redactUrl(url))}${PERCENT_ENCODE_HINT}`
		);
	}
	return url;
}

/**
 * A warning for a PostgreSQL statement timeout that is not under a third of the lease, or null:
 * a statement sent before a node learnt of an outage could still run once the database answers
 * again, after leases ran out (a release of expired leases among them). (Renewals wait a sixth of
 * the lease at most whatever this is: orchestrator/fence renewTimeoutMs.)
 */
export function databaseTimingWarning(config: Pick<AcoConfig, 'database' | 'orchestrator'>): string | null {
	const { url, queryTimeoutMs } = config.database;
	const { leaseMs } = config.orchestrator;
	if (!url || queryTimeoutMs * 3 < leaseMs) return null;
	return (
		`ACO_DATABASE_QUERY_TIMEOUT_MS (${queryTimeoutMs} ms) is not under a third of ACO_LEASE_MS (${leaseMs} ms): ` +
		`a statement left without an answer may fail only after the lease it renews ran out; ` +
		`set ACO_DATABASE_QUERY_TIMEOUT_MS below ${Math.ceil(leaseMs / 3)} or ACO_LEASE_MS above ${queryTimeoutMs * 3}`
	);
}

/** Reads the configuration from environment variables; throws with the variable's name on a bad value. */
export function loadConfig(env: Env = process.env, cwd = process.cwd()): AcoConfig {
	const hub = loadHubConfig(env);
	return {
		port: int(env, 'PORT', DEFAULT_PORT),
		host: env.HOST || DEFAULT_HOST,
		dataDir: path.resolve(cwd, env.ACO_DATA_DIR || 'data'),
		logLevel: env.ACO_LOG_LEVEL || 'info',
		access: loadAccessConfig(env, cwd),
		http: loadHttpLimits(env, hub.maxConnections),
		nodeId: env.ACO_NODE_ID?.trim() || defaultNodeId(),
		database: {
			url: databaseUrl(env),
			maxConnections: int(env, 'ACO_DATABASE_MAX_CONNECTIONS', DEFAULT_DATABASE_MAX_CONNECTIONS, 2),
			queryTimeoutMs: int(env, 'ACO_DATABASE_QUERY_TIMEOUT_MS', DEFAULT_DATABASE_QUERY_TIMEOUT_MS, 100)
		},
		hub,
		redis: loadRedisConfig(env),
		orchestrator: {
			workflowsDir: path.resolve(cwd, env.ACO_WORKFLOWS_DIR || 'workflows'),
			concurrency: int(env, 'ACO_CONCURRENCY', DEFAULT_CONCURRENCY, 1),
			killGraceMs: int(env, 'ACO_KILL_GRACE_MS', DEFAULT_KILL_GRACE_MS, 0),
			// longer pieces would not fit a log page's budget (store/log-pages) or the ingest API's lines
			maxLineLength: int(env, 'ACO_MAX_LINE_LENGTH', DEFAULT_MAX_LINE_LENGTH, 16, DEFAULT_MAX_LINE_LENGTH),
			leaseMs: int(env, 'ACO_LEASE_MS', DEFAULT_LEASE_MS, 300),
			outputLimit: {
				maxBytes: int(env, 'ACO_OUTPUT_MAX_BYTES', DEFAULT_OUTPUT_MAX_BYTES, 1024),
				maxLines: int(env, 'ACO_OUTPUT_MAX_LINES', DEFAULT_OUTPUT_MAX_LINES, 10)
			},
			maskEnv: parseNameList(env.ACO_MASK_ENV),
			toolEnvRemove: parseNameList(env.ACO_TOOL_ENV_REMOVE)
		},
		ingest: {
			silenceMs: int(env, 'ACO_INGEST_SILENCE_MS', DEFAULT_INGEST_SILENCE_MS, 0),
			cancelTimeoutMs: int(env, 'ACO_INGEST_CANCEL_TIMEOUT_MS', DEFAULT_INGEST_CANCEL_TIMEOUT_MS, 0)
		},
		diskReserveBytes: int(env, 'ACO_DISK_RESERVE_BYTES', DEFAULT_DISK_RESERVE_BYTES, 0),
		diskRetryMs: int(env, 'ACO_DISK_RETRY_MS', DEFAULT_DISK_RETRY_MS, 10),
		logReadWorkers: int(env, 'ACO_LOG_READ_WORKERS', DEFAULT_READ_WORKERS, 0)
	};
}
