/**
 * aco's composition root: an http server that mounts SvelteKit's handler (adapter-node build)
 * and routes WebSocket upgrades on /ws to the hub. Configuration comes from the environment
 * (see src/lib/server/config.ts). Nothing else builds a server.
 *
 * Shutdown on SIGINT/SIGTERM, in order: stop accepting, close sockets with 1001, stop the
 * running tools (their tasks are marked interrupted), close the database.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { APP_ROOT } from './src/lib/server/app-root';
import { loadConfig, type AcoConfig } from './src/lib/server/config';
import { createContext, type AcoContext } from './src/lib/server/context';
import { setContext } from './src/lib/server/global';
import type { Logger } from './src/lib/server/logger';
import { hubUpgradeListener } from './src/lib/server/upgrade';

type RequestHandler = (req: http.IncomingMessage, res: http.ServerResponse, next?: () => void) => void;

export interface RunningServer {
	url: string;
	port: number;
	context: AcoContext;
	/** graceful shutdown; idempotent */
	close(): Promise<void>;
}

async function loadHandler(): Promise<RequestHandler> {
	const file = pathToFileURL(path.join(APP_ROOT, 'build', 'handler.js')).href;
	try {
		const mod = (await import(/* @vite-ignore */ file)) as { handler: RequestHandler };
		return mod.handler;
	} catch (err) {
		throw new Error(
			`Could not load the app from build/handler.js; run "npm run build" first. (${String(err)})`
		);
	}
}

export interface StartOptions {
	/** where the server logs; JSON lines on stdout at `config.logLevel` when omitted */
	logger?: Logger;
}

/** Starts aco on `config` (read from the environment by default); `aco server` calls this. */
export async function startServer(
	config: AcoConfig = loadConfig(),
	options: StartOptions = {}
): Promise<RunningServer> {
	const handler = await loadHandler();
	const context = await createContext(config, options.logger);
	setContext(context);
	const { logger } = context;

	const server = http.createServer((req, res) => {
		handler(req, res, () => {
			res.statusCode = 404;
			res.end('Not found');
		});
	});
	server.on('upgrade', hubUpgradeListener(context.hub));
	server.on('clientError', (_err, socket) => {
		if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
		else socket.destroy();
	});

	try {
		await new Promise<void>((resolve, reject) => {
			server.once('error', reject);
			server.listen(config.port, config.host, () => {
				server.off('error', reject);
				resolve();
			});
		});
	} catch (err) {
		// e.g. EADDRINUSE: release the data folder's lock and the database before reporting it
		setContext(undefined);
		await context.close(1001);
		throw err;
	}
	const { port } = server.address() as AddressInfo;
	if (!isLoopback(config.host) && config.token === null) {
		// Without ACO_TOKEN, anyone who can reach this address can start runs and read logs.
		logger.warn(
			{ host: config.host },
			'listening beyond loopback without authentication: anyone who can reach this address can start workflows and read every log'
		);
	}
	const host = config.host.includes(':') ? `[${config.host}]` : config.host;
	const url = `http://${host}:${port}`;
	logger.info(
		{ url, port, dataDir: config.dataDir, workflowsDir: config.orchestrator.workflowsDir },
		'listening'
	);

	let closing: Promise<void> | null = null;
	return {
		url,
		port,
		context,
		close() {
			closing ??= (async () => {
				logger.info('shutting down');
				const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
				await context.close(1001);
				server.closeIdleConnections();
				const force = setTimeout(() => server.closeAllConnections(), 2_000);
				force.unref();
				await stopped;
				clearTimeout(force);
				setContext(undefined);
				logger.info('stopped');
			})();
			return closing;
		}
	};
}

function isLoopback(host: string): boolean {
	return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

async function main(): Promise<void> {
	let running: RunningServer;
	try {
		running = await startServer();
	} catch (err) {
		console.error(`aco: ${err instanceof Error ? err.message : String(err)}`);
		process.exit(1);
	}
	// The JSON logs go to stdout; a person starting the app wants the address in plain words.
	process.stderr.write(`aco is running at ${running.url} (Ctrl-C to stop)\n`);
	let signals = 0;
	const stop = (signal: string) => {
		signals += 1;
		if (signals > 1) {
			console.error(`aco: ${signal} again, exiting now`);
			process.exit(130);
		}
		running.close().then(
			() => process.exit(0),
			(err) => {
				console.error('aco: shutdown failed', err);
				process.exit(1);
			}
		);
	};
	process.on('SIGINT', () => stop('SIGINT'));
	process.on('SIGTERM', () => stop('SIGTERM'));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
	void main();
}
