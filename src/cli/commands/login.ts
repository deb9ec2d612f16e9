/**
 * @module cli/commands/login
 * `aco login [--url] [--token]`: checks a token with the server and keeps it for later commands
 * (see ../credentials.ts). The token comes from `--token`, `ACO_TOKEN`, standard input when it is
 * piped, or a prompt that does not echo; piping or the prompt keeps it out of the shell history
 * and the process list. `aco logout [--url]` forgets it.
 */
import type { SessionResponse } from '../../lib/protocol/auth';
import {
	CONNECTION_OPTIONS,
	CliError,
	checkToken,
	connectionOf,
	helpText,
	parseCommand,
	type CommandSpec
} from '../args';
import { forgetToken, saveToken } from '../credentials';
import { AcoHttp, HttpError } from '../http';
import { SUMMARIES } from './summaries';

export const loginSpec: CommandSpec = {
	name: 'login',
	usage: 'aco login [--url <url>] [--token <token>]',
	summary: SUMMARIES.login,
	details: [
		'Without --token (or ACO_TOKEN), the token is read from standard input when it is piped',
		'("aco login < token.txt"), else asked for without echo. It is checked with the server, then',
		'kept in ~/.config/aco/credentials.json (ACO_CONFIG_DIR), readable only by you.'
	],
	options: { ...CONNECTION_OPTIONS }
};

export const logoutSpec: CommandSpec = {
	name: 'logout',
	usage: 'aco logout [--url <url>]',
	summary: SUMMARIES.logout,
	options: { url: CONNECTION_OPTIONS.url }
};

export async function login(argv: string[]): Promise<number> {
	const parsed = parseCommand(loginSpec, argv);
	if (parsed.help) {
		process.stdout.write(helpText(loginSpec));
		return 0;
	}
	const connection = connectionOf(parsed.values);
	const token =
		connection.token ?? checkToken(await readToken(), process.stdin.isTTY ? 'the prompt' : 'standard input');
	if (!token) throw new CliError('aco login: no token given; paste one, pipe it in, or pass --token.');
	let session: SessionResponse;
	try {
		session = await new AcoHttp({ url: connection.url, token }).request<SessionResponse>('GET', '/session', {
			expect: ['auth_required']
		});
	} catch (err) {
		if (err instanceof HttpError && err.status === 401) {
			throw new CliError(`aco login: ${connection.url} does not accept this token; nothing was kept.`, 1);
		}
		throw err;
	}
	if (!session.auth_required) {
		process.stderr.write(
			`aco: ${connection.url} needs no token (it runs without credentials); nothing was kept.\n`
		);
		return 0;
	}
	const file = saveToken(connection.url, token, session.role);
	process.stderr.write(
		`aco: signed in to ${connection.url} as ${session.role} ("${session.name}"); the token is kept in ${file}.\n`
	);
	return 0;
}

export async function logout(argv: string[]): Promise<number> {
	const parsed = parseCommand(logoutSpec, argv);
	if (parsed.help) {
		process.stdout.write(helpText(logoutSpec));
		return 0;
	}
	const { url } = connectionOf(parsed.values);
	const forgotten = forgetToken(url);
	process.stderr.write(
		forgotten
			? `aco: signed out of ${url}; its token is no longer kept.\n`
			: `aco: no token was kept for ${url}.\n`
	);
	return 0;
}

/** The token from piped standard input, or typed at a prompt that does not echo it. */
async function readToken(): Promise<string> {
	const stdin = process.stdin;
	if (!stdin.isTTY) {
		let text = '';
		stdin.setEncoding('utf8');
		for await (const chunk of stdin) text += chunk as string;
		return text;
	}
	process.stderr.write('Token: ');
	stdin.setRawMode(true);
	stdin.setEncoding('utf8');
	stdin.resume();
	return new Promise<string>((resolve, reject) => {
		let value = '';
		const finish = () => {
			stdin.off('data', onData);
			stdin.setRawMode(false);
			stdin.pause();
			process.stderr.write('\n');
		};
		const onData = (chunk: string) => {
			for (const ch of chunk) {
				if (ch === '\r' || ch === '\n') {
					finish();
					resolve(value);
					return;
				}
				if (ch === '\u0003') {
					finish();
					reject(new CliError('aco login: cancelled.', 130));
					return;
				}
				if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
				else value += ch;
			}
		};
		stdin.on('data', onData);
	});
}
