/**
 * @module http/connection-cap
 * A cap on the TCP connections the server holds open at once (Node's `server.maxConnections`):
 * past it Node closes a new connection as soon as it is accepted, before reading a byte, so idle
 * keep-alive connections or slow clients cannot take the process's file descriptors and memory
 * without bound. The connections already open, and the requests on them, go on; once some close,
 * new ones are accepted again.
 *
 * WebSockets count: each one is an HTTP connection upgraded. So the cap sits above the hub's own
 * (ACO_MAX_CONNECTIONS, checked in config.ts), which refuses an upgrade with 503 and a reason a
 * client can act on; this one is the backstop for everything else.
 *
 * It is per server, not per address: a connection is refused before any request on it is read,
 * when only its peer is known, and behind a proxy that is the proxy, whose connections carry many
 * clients (their addresses come per request, in `X-Forwarded-For`).
 *
 * A flood of refusals makes one log line at once, then at most one every `logIntervalMs` with how
 * many more were refused meanwhile.
 *
 * @example
 * capConnections(server, { max: config.http.maxConnections, logger });
 */
import type { Server } from 'node:net';
import type { Logger } from '../logger';

/** the shortest time between two lines about refused connections */
export const DEFAULT_REFUSAL_LOG_INTERVAL_MS = 60_000;

export interface ConnectionCapOptions {
	/** connections open at once, WebSockets included */
	max: number;
	logger: Logger;
	logIntervalMs?: number;
}

/** Caps the connections `server` holds open and logs the ones it refuses (the last count when it closes). */
export function capConnections(server: Server, options: ConnectionCapOptions): void {
	const { max, logger, logIntervalMs } = { logIntervalMs: DEFAULT_REFUSAL_LOG_INTERVAL_MS, ...options };
	server.maxConnections = max;
	/** refused since the last line, while a line was written less than `logIntervalMs` ago */
	let unreported = 0;
	let quiet: NodeJS.Timeout | undefined;

	/** writes how many were refused since the last line; false when none were */
	const report = (): boolean => {
		if (unreported === 0) return false;
		logger.warn({ max, refused: unreported }, 'HTTP connection limit: more connections refused meanwhile');
		unreported = 0;
		return true;
	};
	const endOfQuiet = () => {
		quiet = report() ? setTimeout(endOfQuiet, logIntervalMs).unref() : undefined;
	};

	// Node emits `drop` and closes the connection itself; nothing here may throw or wait
	server.on('drop', (data) => {
		if (quiet) {
			unreported += 1;
			return;
		}
		logger.warn(
			{ max, peer: data?.remoteAddress },
			'HTTP connection limit reached, connection refused (ACO_MAX_HTTP_CONNECTIONS)'
		);
		quiet = setTimeout(endOfQuiet, logIntervalMs).unref();
	});
	server.once('close', () => {
		clearTimeout(quiet);
		quiet = undefined;
		report();
	});
}
