/**
 * @module bus/redis/client
 * ioredis connections set up for the shared stream. The bus keeps its own bounded buffer of
 * what could not be published, so ioredis is told not to queue commands while offline and not
 * to resend a command whose reply was lost (a resent publish could number events twice).
 * Reconnects go on forever with a capped backoff: an outage ends when Redis is back.
 */
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../../logger';

/** Longest wait between reconnect attempts. */
export const DEFAULT_RECONNECT_MAX_MS = 1_000;
/** A connection attempt that takes longer than this is abandoned and retried. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 2_000;

export interface ClientOptions {
	url: string;
	/** shows in `CLIENT LIST`, e.g. `aco:node-1:publish` */
	name: string;
	reconnectMaxMs?: number;
	/** a non-blocking command without a reply within this time fails (and the socket is dropped) */
	commandTimeoutMs?: number;
}

/** The reconnect delay after `attempt` failures: 50 ms doubling, capped, with a little jitter. */
export function reconnectDelay(attempt: number, maxMs = DEFAULT_RECONNECT_MAX_MS): number {
	const base = Math.min(maxMs, 50 * 2 ** Math.min(attempt - 1, 10));
	return Math.round(base * (0.8 + Math.random() * 0.2));
}

export function createClient(options: ClientOptions): Redis {
	const redisOptions: RedisOptions = {
		connectionName: options.name,
		lazyConnect: true,
		enableOfflineQueue: false,
		autoResendUnfulfilledCommands: false,
		maxRetriesPerRequest: 0,
		connectTimeout: DEFAULT_CONNECT_TIMEOUT_MS,
		retryStrategy: (attempt) => reconnectDelay(attempt, options.reconnectMaxMs),
		// RESP2: the replies are plain arrays either way; Redis 5/6 servers speak nothing else
		protocol: 2,
		...(options.commandTimeoutMs ? { commandTimeout: options.commandTimeoutMs } : {})
	};
	return new Redis(options.url, redisOptions);
}

/** Resolves once the client is ready (connected and past its ready check), or at `signal`. */
export function whenReady(client: Redis, signal: AbortSignal): Promise<boolean> {
	if (client.status === 'ready') return Promise.resolve(true);
	if (signal.aborted) return Promise.resolve(false);
	return new Promise((resolve) => {
		const done = (ready: boolean) => {
			client.off('ready', onReady);
			signal.removeEventListener('abort', onAbort);
			resolve(ready);
		};
		const onReady = () => done(true);
		const onAbort = () => done(false);
		client.on('ready', onReady);
		signal.addEventListener('abort', onAbort);
	});
}

/**
 * Logs `clients`' connection errors, each once until one of the clients is ready again (without
 * an `error` listener ioredis prints every failed reconnect). Returns the same once-only warning
 * for errors the caller meets itself.
 */
export function warnConnectionErrors(clients: Redis[], logger: Logger, what: string): (err: unknown) => void {
	let last: string | null = null;
	const warn = (err: unknown) => {
		const message = describeError(err);
		if (message !== last) logger.warn({ err: message }, `Redis connection error (${what})`);
		last = message;
	};
	for (const client of clients) {
		client.on('error', warn);
		client.on('ready', () => (last = null));
	}
	return warn;
}

/** The error message without the stack, for logs and health figures. */
export function describeError(err: unknown): string {
	return err instanceof Error ? err.message : String(err);
}

/** Waits `ms`, or less when `signal` aborts; the timer does not hold the process open. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
	return new Promise((resolve) => {
		const timer = setTimeout(done, ms);
		timer.unref();
		signal.addEventListener('abort', done, { once: true });
		function done() {
			clearTimeout(timer);
			signal.removeEventListener('abort', done);
			resolve();
		}
	});
}
