/**
 * @module cli/commands/server
 * `aco server [--port] [--host] [--tui]`: starts the server (what `npm start` runs), configured
 * from the environment (see src/lib/server/config.ts) with the flags on top. With `--tui` the
 * terminal dashboard runs in the same terminal and quitting it stops the server.
 */
import path from 'node:path';
import pino from 'pino';
import { loadConfig, type AcoConfig } from '../../lib/server/config';
import { createConsoleLogger, logFormatFor, type ConsoleLogger } from '../../lib/server/logger';
import type { RunningServer } from '../../../server';
import { CliError, helpText, intOption, parseCommand, type CommandSpec } from '../args';
import { SUMMARIES } from './summaries';

/** under --tui the server logs here, inside the data folder */
export const TUI_LOG_FILE = 'aco.log';

export const spec: CommandSpec = {
	name: 'server',
	usage: 'aco server [--port <port>] [--host <host>] [--tui]',
	summary: SUMMARIES.server,
	details: [
		'Configuration comes from the environment (PORT, HOST, ACO_DATA_DIR, ACO_WORKFLOWS_DIR, ACO_TOKEN, …);',
		'flags override it. The app must be built first ("npm run build"; "npm start" builds and starts).'
	],
	options: {
		port: {
			type: 'string',
			short: 'p',
			value: '<port>',
			description: 'port to listen on (env PORT, default 3000; 0 = any free port)'
		},
		host: { type: 'string', value: '<host>', description: 'address to bind (env HOST, default 127.0.0.1)' },
		tui: {
			type: 'boolean',
			description: `also show the terminal dashboard here (the server then logs to <data dir>/${TUI_LOG_FILE})`
		}
	}
};

export async function server(argv: string[]): Promise<number> {
	const parsed = parseCommand(spec, argv);
	if (parsed.help) {
		process.stdout.write(helpText(spec));
		return 0;
	}
	let config: AcoConfig;
	try {
		config = loadConfig();
	} catch (err) {
		throw new CliError(`aco server: ${(err as Error).message}`);
	}
	const tui = parsed.values.tui === true;
	config = {
		...config,
		port: intOption('server', 'port', parsed.values.port, config.port),
		host: typeof parsed.values.host === 'string' && parsed.values.host ? parsed.values.host : config.host
	};
	if (config.port > 65_535)
		throw new CliError(`aco server: --port must be at most 65535, got ${config.port}.`);
	if (tui && !process.stdout.isTTY) {
		throw new CliError('aco server --tui needs a terminal, and stdout is not one; leave out --tui.');
	}
	// the log lines would tear the dashboard apart, so under --tui they go to a file (as JSON)
	const logFile = path.join(config.dataDir, TUI_LOG_FILE);
	let log: ConsoleLogger;
	try {
		log = tui
			? {
					logger: pino(
						{ level: config.logLevel, base: { app: 'aco' } },
						pino.destination({ dest: logFile, mkdir: true })
					),
					release: () => {}
				}
			: createConsoleLogger(config.logLevel, logFormatFor(process.env, process.stdout));
	} catch (err) {
		throw new CliError(`aco server: ${(err as Error).message}`);
	}

	let running: RunningServer;
	// loaded here: the other commands should not pay for the server's modules
	const { startServer, startupBanner } = await import('../../../server');
	try {
		running = await startServer(config, { logger: log.logger });
	} catch (err) {
		log.release();
		throw new CliError(`aco server: ${err instanceof Error ? err.message : String(err)}`, 1);
	}
	let stop: (reason: string) => void = () => {};
	const stopped = new Promise<number>((resolve) => {
		let requests = 0;
		stop = (reason) => {
			requests += 1;
			if (requests > 1) {
				process.stderr.write(`aco: ${reason} again, exiting now\n`);
				resolve(130);
				return;
			}
			running.close().then(
				() => resolve(0),
				(err) => {
					process.stderr.write(`aco: shutdown failed: ${String(err)}\n`);
					resolve(1);
				}
			);
		};
	});
	process.on('SIGINT', () => stop('SIGINT'));
	process.on('SIGTERM', () => stop('SIGTERM'));
	if (!tui) {
		// the logs go to stdout (JSON when piped); a person starting the app reads this first
		process.stderr.write(await startupBanner(running));
		log.release();
		return stopped;
	}
	const { startTui } = await import('../tui/index');
	const dashboard = startTui({
		url: running.url,
		token: config.token ?? undefined,
		onQuit: () => stop('quit')
	});
	const code = await stopped;
	await dashboard.close();
	process.stderr.write(`aco: the server stopped; its log is in ${logFile}\n`);
	return code;
}
