/**
 * @module dev
 * `npm run dev`: the Vite plugin in vite.config.ts calls {@link attachDev} to give Vite's HTTP
 * server the same context and hub that server.ts builds in production. Vite's own HMR upgrades
 * are left alone.
 *
 * One context per process. HMR never attaches again (Vite runs `configureServer` once per
 * server), and attaching twice to one HTTP server returns the first attachment. A Vite restart
 * (a changed config, or `r + enter`) builds the new server before it closes the old one, so
 * attaching to the new server first closes the previous context with 1012: its browsers
 * reconnect to the new server, whose context runs freshly loaded code and marks the old
 * context's tools interrupted only after they were stopped.
 *
 * @example
 * const dev = await attachDev(server.httpServer);
 * const release = closeOnSignals(dev, () => server.close());
 * // later, in the plugin's closeServer hook:
 * release();
 * await dev.close();
 */
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Http2SecureServer } from 'node:http2';
import type { Duplex } from 'node:stream';
import { CloseCode } from '../protocol/close-codes';
import { loadConfig, type AcoConfig } from './config';
import { createContext, type AcoContext } from './context';
import { getContext, setContext } from './global';
import { isHubPath } from './upgrade';

/** Exit status after Ctrl-C, as a shell reports a process killed by SIGINT (128 + 2). */
export const SIGINT_EXIT_CODE = 130;

export interface DevAttachment {
	context: AcoContext;
	/** removes the upgrade listener and closes the context (sockets get `closeCode`); idempotent */
	close(closeCode?: number): Promise<void>;
}

// On the HTTP server itself rather than in a module variable: a module loaded again through
// Vite's module runner would not see a module variable of its previous instance.
const ATTACHMENT = Symbol.for('aco.devAttachment');

type DevHttpServer = (HttpServer | Http2SecureServer) & { [ATTACHMENT]?: Promise<DevAttachment> };

/** Builds the context and routes `/ws` upgrades on `httpServer` to its hub; once per server. */
export function attachDev(
	httpServer: HttpServer | Http2SecureServer,
	config: AcoConfig = loadConfig()
): Promise<DevAttachment> {
	const server = httpServer as DevHttpServer;
	server[ATTACHMENT] ??= attach(server, config);
	return server[ATTACHMENT];
}

async function attach(httpServer: DevHttpServer, config: AcoConfig): Promise<DevAttachment> {
	// Two contexts on one database would each think the other's running tasks were abandoned.
	await getContext()?.close(CloseCode.RESTART);
	const context = await createContext(config);
	setContext(context);
	const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
		if (isHubPath(req)) context.hub.handleUpgrade(req, socket, head);
	};
	httpServer.on('upgrade', onUpgrade);
	// the allowed Host values carry the port Vite listens on (known once it does)
	const onListening = () => {
		const address = httpServer.address();
		if (address && typeof address === 'object') context.auth.listening(address.port);
	};
	if (httpServer.listening) onListening();
	else httpServer.once('listening', onListening);
	context.logger.info({ workflowsDir: config.orchestrator.workflowsDir }, 'dev hub attached on /ws');

	let closing: Promise<void> | null = null;
	return {
		context,
		close(closeCode = CloseCode.GOING_AWAY) {
			closing ??= (async () => {
				httpServer.off('upgrade', onUpgrade);
				httpServer.off('listening', onListening);
				if (getContext() === context) setContext(undefined);
				await context.close(closeCode);
			})();
			return closing;
		}
	};
}

/**
 * Ctrl-C and SIGTERM stop the tools and close the database before the process exits. Vite
 * handles SIGTERM itself but not SIGINT, and it destroys every socket before its `closeServer`
 * hooks run, so closing starts here, first: browsers get 1001 rather than a dropped connection.
 * A second Ctrl-C kills the process at once. Returns a function that removes the listeners.
 */
export function closeOnSignals(dev: DevAttachment, closeServer: () => Promise<void>): () => void {
	const onSigterm = () => void dev.close(CloseCode.GOING_AWAY);
	const onSigint = () => {
		void dev.close(CloseCode.GOING_AWAY);
		closeServer()
			.catch((err: unknown) => dev.context.logger.error({ err }, 'dev server did not close cleanly'))
			.finally(() => process.exit(SIGINT_EXIT_CODE));
	};
	process.prependOnceListener('SIGTERM', onSigterm);
	process.once('SIGINT', onSigint);
	return () => {
		process.off('SIGTERM', onSigterm);
		process.off('SIGINT', onSigint);
	};
}
