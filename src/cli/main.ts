/**
 * @module cli/main
 * The `aco` command: picks the subcommand, runs it, and turns any failure into one line on
 * stderr and a non-zero exit code (2 for a usage error, 1 otherwise). Commands that talk to a
 * server also deliver, on the side, logs earlier `aco exec` runs kept while the server was down.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { APP_ROOT } from '../lib/server/app-root';
import {
	CONNECTION_OPTIONS,
	CliError,
	connectionOf,
	helpText,
	parseCommand,
	type CommandSpec,
	type Connection
} from './args';
import { SUMMARIES, type CommandName } from './commands/summaries';
import { storedToken } from './credentials';
import { deliverLeftovers } from './exec/leftovers';

const watchSpec: CommandSpec = {
	name: 'watch',
	usage: 'aco watch [--url <url>]',
	summary: SUMMARIES.watch,
	options: { ...CONNECTION_OPTIONS }
};

async function watch(argv: string[]): Promise<number> {
	const parsed = parseCommand(watchSpec, argv);
	if (parsed.help) {
		process.stdout.write(helpText(watchSpec));
		return 0;
	}
	const connection = connectionOf(parsed.values);
	// a kept token that is no token ends the command here, not in the dashboard's reconnects
	if (connection.token === undefined) storedToken(connection.url);
	// loaded here: only the dashboard needs its modules
	const { watch: runDashboard } = await import('./tui/index');
	// without a token of its own the dashboard sends the kept one, and names it if refused
	return runDashboard({ url: connection.url, token: connection.token, tokenSource: connection.tokenSource });
}

interface Command {
	/** loaded on use: each command pulls in only its own modules */
	load: () => Promise<(argv: string[]) => Promise<number>>;
	/** talks to a server, so it also delivers kept logs */
	connects: boolean;
}

const COMMANDS: Record<CommandName, Command> = {
	server: { load: async () => (await import('./commands/server')).server, connects: false },
	run: { load: async () => (await import('./commands/run')).run, connects: true },
	exec: { load: async () => (await import('./commands/exec')).exec, connects: true },
	logs: { load: async () => (await import('./commands/logs')).logs, connects: true },
	watch: { load: async () => watch, connects: true },
	login: { load: async () => (await import('./commands/login')).login, connects: false },
	logout: { load: async () => (await import('./commands/login')).logout, connects: false }
};

function mainHelp(): string {
	const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length)) + 2;
	return [
		'Usage: aco <command> [options]',
		'',
		'Run tasks and watch them live.',
		'',
		'Commands:',
		...Object.entries(SUMMARIES).map(([name, summary]) => `  ${name.padEnd(width)}${summary}`),
		'',
		'Server address and token: --url / --token, or ACO_URL / ACO_TOKEN, or the token "aco login" kept.',
		'Run "aco <command> --help" for a command\'s options.',
		''
	].join('\n');
}

function version(): string {
	const pkg = JSON.parse(readFileSync(path.join(APP_ROOT, 'package.json'), 'utf8')) as {
		version: string;
	};
	return pkg.version;
}

export async function main(argv: string[]): Promise<number> {
	const [name, ...rest] = argv;
	if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
		process.stdout.write(mainHelp());
		return name === undefined ? 2 : 0;
	}
	if (name === '--version' || name === '-v') {
		process.stdout.write(`aco ${version()}\n`);
		return 0;
	}
	const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name as CommandName] : undefined;
	if (!command) throw new CliError(`unknown command "${name}". Run "aco --help" for the list.`);
	const connection =
		command.connects && !rest.includes('--help') && !rest.includes('-h') ? connectionOfArgv(rest) : null;
	const leftovers = connection
		? deliverLeftovers({
				...connection,
				notice: (text) => process.stderr.write(`aco: ${text}\n`)
			}).catch(() => 0)
		: Promise.resolve(0);
	try {
		return await (
			await command.load()
		)(rest);
	} finally {
		await leftovers;
	}
}

/**
 * the server and token for leftover deliveries: --url / --token if given before `--`, else
 * ACO_URL / ACO_TOKEN (the token is meant for that server only); null for an address that is
 * not one, which the command itself reports
 */
function connectionOfArgv(argv: string[]): Connection | null {
	const own = argv.includes('--') ? argv.slice(0, argv.indexOf('--')) : argv;
	const flag = (name: string): string | undefined => {
		const i = own.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
		if (i === -1) return undefined;
		return own[i].includes('=') ? own[i].slice(`--${name}=`.length) : own[i + 1];
	};
	try {
		return connectionOf({ url: flag('url'), token: flag('token') });
	} catch {
		return null;
	}
}

/** exits once stdout and stderr have been written out (process.exit alone may cut a pipe short) */
function exit(code: number): void {
	process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}

// `aco logs … | head` closes the pipe early; that is not an error
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
	if (err.code === 'EPIPE') process.exit(0);
	throw err;
});

main(process.argv.slice(2)).then(exit, (err: unknown) => {
	const message = err instanceof Error ? err.message : String(err);
	process.stderr.write(`${message.startsWith('aco') ? message : `aco: ${message}`}\n`);
	exit(err instanceof CliError ? err.exitCode : 1);
});
