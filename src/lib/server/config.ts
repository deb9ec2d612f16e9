/**
 * @module config
 * The server's configuration, read from the environment with named defaults. Everything a
 * test needs to shorten (timeouts, limits) is configurable here.
 */
import path from 'node:path';
import {
	DEFAULT_HEARTBEAT_INTERVAL_MS,
	DEFAULT_IDLE_TIMEOUT_MS,
	DEFAULT_MAX_CONNECTIONS,
	DEFAULT_MAX_INBOUND_BYTES
} from '../protocol';
import { parseOrigins } from './origin';

export interface HubConfig {
	maxConnections: number;
	heartbeatIntervalMs: number;
	idleTimeoutMs: number;
	maxInboundBytes: number;
	/** unread bytes one client may leave in its socket before it is closed with 4002 */
	maxBufferedBytes: number;
	/** page origins besides the server's own that may open the hub and call the API from a browser */
	allowedOrigins: string[];
}

export interface OrchestratorConfig {
	workflowsDir: string;
	/** tasks that may run at once */
	concurrency: number;
	/** time between SIGTERM and SIGKILL when a tool is cancelled */
	killGraceMs: number;
	/** lines longer than this are split into continuation lines */
	maxLineLength: number;
}

export interface AcoConfig {
	port: number;
	host: string;
	dataDir: string;
	logLevel: string;
	/** when set, mutations (REST POSTs) and WebSocket producers must present it as a bearer token */
	token: string | null;
	hub: HubConfig;
	orchestrator: OrchestratorConfig;
}

export const DEFAULT_PORT = 3000;
export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_CONCURRENCY = 4;
export const DEFAULT_KILL_GRACE_MS = 5_000;
export const DEFAULT_MAX_LINE_LENGTH = 64 * 1024;
export const DEFAULT_MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, fallback: number, min = 0): number {
	const raw = env[name];
	if (raw === undefined || raw === '') return fallback;
	const value = Number(raw);
	if (!Number.isInteger(value) || value < min) {
		throw new Error(`${name} must be an integer ≥ ${min}, got ${JSON.stringify(raw)}`);
	}
	return value;
}

/** Reads the configuration from environment variables; throws with the variable's name on a bad value. */
export function loadConfig(env: Env = process.env, cwd = process.cwd()): AcoConfig {
	return {
		port: int(env, 'PORT', DEFAULT_PORT),
		host: env.HOST || DEFAULT_HOST,
		dataDir: path.resolve(cwd, env.ACO_DATA_DIR || 'data'),
		logLevel: env.ACO_LOG_LEVEL || 'info',
		token: env.ACO_TOKEN || null,
		hub: {
			maxConnections: int(env, 'ACO_MAX_CONNECTIONS', DEFAULT_MAX_CONNECTIONS, 1),
			heartbeatIntervalMs: int(env, 'ACO_HEARTBEAT_INTERVAL_MS', DEFAULT_HEARTBEAT_INTERVAL_MS, 10),
			idleTimeoutMs: int(env, 'ACO_IDLE_TIMEOUT_MS', DEFAULT_IDLE_TIMEOUT_MS, 10),
			maxInboundBytes: int(env, 'ACO_MAX_INBOUND_BYTES', DEFAULT_MAX_INBOUND_BYTES, 256),
			maxBufferedBytes: int(env, 'ACO_MAX_BUFFERED_BYTES', DEFAULT_MAX_BUFFERED_BYTES, 1024),
			allowedOrigins: parseOrigins(env.ACO_ALLOWED_ORIGINS)
		},
		orchestrator: {
			workflowsDir: path.resolve(cwd, env.ACO_WORKFLOWS_DIR || 'workflows'),
			concurrency: int(env, 'ACO_CONCURRENCY', DEFAULT_CONCURRENCY, 1),
			killGraceMs: int(env, 'ACO_KILL_GRACE_MS', DEFAULT_KILL_GRACE_MS, 0),
			maxLineLength: int(env, 'ACO_MAX_LINE_LENGTH', DEFAULT_MAX_LINE_LENGTH, 16)
		}
	};
}
