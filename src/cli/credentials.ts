/**
 * @module cli/credentials
 * Tokens `aco login` keeps, one per server, so other commands need neither `--token` nor
 * `ACO_TOKEN`. The file is the user's alone (0600 in a 0700 folder), written whole to a temp file
 * and renamed, so a crash never leaves half a file; an unreadable or damaged file counts as empty.
 *
 * Where: `$ACO_CONFIG_DIR/credentials.json`, by default `$XDG_CONFIG_HOME/aco` or `~/.config/aco`.
 * Which token a command uses: `--token`, then `ACO_TOKEN`, then the one kept for the server.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Role } from '../lib/protocol/auth';
import { checkToken } from './args';

export const CREDENTIALS_FILE = 'credentials.json';

export interface StoredCredential {
	token: string;
	role: Role;
	saved_at: string;
}

interface CredentialsFile {
	version: 1;
	/** by server origin, e.g. http://127.0.0.1:3000 */
	servers: Record<string, StoredCredential>;
}

type Env = Record<string, string | undefined>;

export function configDir(env: Env = process.env): string {
	if (env.ACO_CONFIG_DIR) return path.resolve(env.ACO_CONFIG_DIR);
	const base = env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config');
	return path.join(base, 'aco');
}

export function credentialsPath(env: Env = process.env): string {
	return path.join(configDir(env), CREDENTIALS_FILE);
}

/** The key of a server address: its http(s) origin (a ws(s) address counts as its http(s) twin). */
export function serverKey(url: string): string {
	const parsed = new URL(url);
	if (parsed.protocol === 'ws:') parsed.protocol = 'http:';
	if (parsed.protocol === 'wss:') parsed.protocol = 'https:';
	return parsed.origin;
}

function read(file: string): CredentialsFile {
	try {
		const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<CredentialsFile>;
		if (parsed && typeof parsed.servers === 'object' && parsed.servers) {
			return { version: 1, servers: parsed.servers };
		}
	} catch {
		// missing or damaged: nothing is kept
	}
	return { version: 1, servers: {} };
}

function write(file: string, content: CredentialsFile): void {
	const dir = path.dirname(file);
	fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
	const temp = path.join(dir, `.${CREDENTIALS_FILE}.${process.pid}.tmp`);
	fs.writeFileSync(temp, `${JSON.stringify(content, null, '\t')}\n`, { mode: 0o600 });
	// a file written before by another tool may be looser; the rename replaces it with ours
	fs.chmodSync(temp, 0o600);
	fs.renameSync(temp, file);
}

/**
 * The token kept for the server at `url`, or undefined. The file may have been edited by hand:
 * a kept token is trimmed and checked as `--token` is (a CliError names the file).
 */
export function storedToken(url: string, env: Env = process.env): string | undefined {
	let key: string;
	try {
		key = serverKey(url);
	} catch {
		return undefined;
	}
	const file = credentialsPath(env);
	const token: unknown = read(file).servers[key]?.token;
	if (typeof token !== 'string') return undefined;
	return checkToken(token, `${file} (kept for ${key}; run "aco login" again)`);
}

/**
 * For a refusal of the token sent to `url` (401): where it came from, as a sentence that says
 * what to do — the source a command was given it from (`--token`, `ACO_TOKEN`), else the file
 * `aco login` kept it in (sign in again, or log out), else that none was sent. Null for a token
 * handed over without a source (`aco login` checking the one it is given).
 */
export function tokenOrigin(
	url: string,
	given: { token?: string; tokenSource?: string },
	env: Env = process.env
): string | null {
	if (given.token !== undefined)
		return given.tokenSource ? `The token sent came from ${given.tokenSource}.` : null;
	let key: string;
	let kept: string | undefined;
	try {
		key = serverKey(url);
		kept = storedToken(url, env);
	} catch {
		return null;
	}
	if (kept === undefined) {
		return `No token was sent: give one with --token or ACO_TOKEN, or keep one with "aco login --url ${key}".`;
	}
	return (
		`The token sent is the one "aco login" kept for ${key} in ${credentialsPath(env)}: sign in ` +
		`again with "aco login --url ${key}", or forget it with "aco logout --url ${key}".`
	);
}

/** Keeps a token for the server at `url` (replacing one kept before); returns the file's path. */
export function saveToken(url: string, token: string, role: Role, env: Env = process.env): string {
	const file = credentialsPath(env);
	const content = read(file);
	content.servers[serverKey(url)] = { token, role, saved_at: new Date().toISOString() };
	write(file, content);
	return file;
}

/** Forgets the server's token; returns whether one was kept. */
export function forgetToken(url: string, env: Env = process.env): boolean {
	const file = credentialsPath(env);
	const content = read(file);
	const key = serverKey(url);
	if (!(key in content.servers)) return false;
	delete content.servers[key];
	write(file, content);
	return true;
}
