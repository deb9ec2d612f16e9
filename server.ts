/**
 * aco's composition root: an http server that mounts SvelteKit's handler (adapter-node build)
 * and routes WebSocket upgrades on /ws to the hub. Configuration comes from the environment
 * (see src/lib/server/config.ts). Nothing else builds a server.
 *
 * Shutdown on SIGINT/SIGTERM, in order: stop accepting, close sockets with 1012 (restart: a
 * stopped server is nearly always started again — a deploy, systemd, a container — so clients
 * come back within a couple of seconds of it, jittered), stop the running tools (their tasks
 * are marked interrupted), close the database.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { CloseCode } from './src/lib/protocol/close-codes';
import { APP_ROOT } from './src/lib/server/app-root';
import { assertSafeBinding } from './src/lib/server/auth/bind';
import { loadConfig, type AcoConfig } from './src/lib/server/config';
import { createContext, type AcoContext } from './src/lib/server/context';
import { setContext } from './src/lib/server/global';
import { createConsoleLogger, logFormatFor, type Logger } from './src/lib/server/logger';
import { capConnections } from './src/lib/server/http/connection-cap';
import {
	applyServerLimits,
	clientErrorResponse,
	refuseRequest,
	refuseUpgradeRequest,
	serverOptions,
	tooManyHeaders
} from './src/lib/server/http/limits';
import { BASE_SECURITY_HEADERS } from './src/lib/server/http/security-headers';
import { hubUpgradeListener } from './src/lib/server/upgrade';

type RequestHandler = (req: http.IncomingMessage, res: http.ServerResponse, next?: () => void) => void;

export interface RunningServer {
	url: string;
	port: number;
	context: AcoContext;
	/** graceful shutdown; idempotent */
	close(): Promise<void>;
}

/**
 * The request header adapter-node reads the scheme from. It assumes https when told nothing, so
 * a page served over plain HTTP would have its own form posts refused as cross-site; server.ts
 * sets it on every request (overwriting whatever a client sent).
 */
const SCHEME_HEADER = 'x-aco-scheme';
/**
 * The request header adapter-node's `getClientAddress()` reads: the client's address as
 * `context.clientAddress` finds it through trusted proxies, set by server.ts on every request
 * (overwriting whatever a client sent), so routes count and log what the hub does.
 */
const ADDRESS_HEADER = 'x-aco-client-address';

async function loadHandler(): Promise<RequestHandler> {
	// read by adapter-node once, when its module loads; not left behind for the tools' environment
	const before = { PROTOCOL_HEADER: process.env.PROTOCOL_HEADER, ADDRESS_HEADER: process.env.ADDRESS_HEADER };
	process.env.PROTOCOL_HEADER = SCHEME_HEADER;
	process.env.ADDRESS_HEADER = ADDRESS_HEADER;
	const file = pathToFileURL(path.join(APP_ROOT, 'build', 'handler.js')).href;
	try {
		const mod = (await import(/* @vite-ignore */ file)) as { handler: RequestHandler };
		return mod.handler;
	} catch (err) {
		throw new Error(
			`Could not load the app from build/handler.js; run "npm run build" first. (${String(err)})`
		);
	} finally {
		for (const [name, value] of Object.entries(before)) {
			if (value === undefined) delete process.env[name];
			else process.env[name] = value;
		}
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
	// before anything is opened: a server open to the network without credentials must not start
	assertSafeBinding(config.host, config.access.tokens.length);
	const handler = await loadHandler();
	const context = await createContext(config, options.logger);
	setContext(context);
	const { logger } = context;

	const server = http.createServer(serverOptions(config.http), (req, res) => {
		if (tooManyHeaders(req, config.http)) {
			refuseRequest(res, config.http);
			return;
		}
		req.headers[SCHEME_HEADER] = context.auth.hosts.schemeOf(req.headers.host);
		req.headers[ADDRESS_HEADER] = context.clientAddress(req);
		// static files are served before SvelteKit's hooks run; they get the same headers
		for (const [name, value] of Object.entries(BASE_SECURITY_HEADERS)) res.setHeader(name, value);
		handler(req, res, () => {
			res.statusCode = 404;
			res.end('Not found');
		});
	});
	applyServerLimits(server, config.http);
	capConnections(server, { max: config.http.maxConnections, logger });
	const toHub = hubUpgradeListener(context.hub);
	server.on('upgrade', (req, socket, head) => {
		if (tooManyHeaders(req, config.http)) refuseUpgradeRequest(socket, config.http);
		else toHub(req, socket, head);
	});
	server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
		if (socket.writable) socket.end(clientErrorResponse(err.code));
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
	context.auth.listening(port);
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
				await context.close(CloseCode.RESTART);
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

/**
 * What a person starting aco reads first (on stderr, so piped stdout stays JSON): where it
 * listens, where its data is, and which workflows it found.
 */
export async function startupBanner(running: RunningServer): Promise<string> {
	const { config } = running.context;
	const { workflows, errors } = await running.context.orchestrator.listWorkflows();
	const dir = config.orchestrator.workflowsDir;
	const folderError = errors.find((e) => e.file === dir);
	const names = workflows.map((w) => w.name);
	const shown = names.slice(0, 6).join(', ') + (names.length > 6 ? ', …' : '');
	const found = folderError
		? `${folderError.reason}; point ACO_WORKFLOWS_DIR at one`
		: names.length === 0
			? 'no workflows in it'
			: `${names.length} workflow${names.length === 1 ? '' : 's'}: ${shown}`;
	const broken = errors.filter((e) => e !== folderError).map((e) => path.basename(e.file));
	const notLoaded = broken.length ? `; not loaded: ${broken.join(', ')}` : '';
	return [
		`aco is running at ${running.url} (Ctrl-C to stop)`,
		`  data       ${config.dataDir}`,
		`  workflows  ${dir} (${found}${notLoaded})`,
		''
	].join('\n');
}

async function main(): Promise<void> {
	let running: RunningServer;
	let release = () => {};
	try {
		const config = loadConfig();
		const log = createConsoleLogger(config.logLevel, logFormatFor(process.env, process.stdout));
		release = log.release;
		running = await startServer(config, { logger: log.logger });
	} catch (err) {
		release();
		process.stderr.write(`aco: ${err instanceof Error ? err.message : String(err)}\n`);
		process.exit(1);
	}
	process.stderr.write(await startupBanner(running));
	release();
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
