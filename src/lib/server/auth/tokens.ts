/**
 * @module auth/tokens
 * API tokens with a role, from the environment and a file, kept only as SHA-256 hashes and
 * checked in constant time.
 *
 * Sources, all optional and combined:
 * - `ACO_TOKEN`: one operator token (as before roles existed).
 * - `ACO_TOKENS`: several, comma- or space-separated `role:token` (e.g. `viewer:abc…,operator:def…`).
 * - `ACO_TOKENS_FILE`: a file of lines `role token [name]`; `#` starts a comment.
 * A token may be given as `sha256:<64 hex digits>` (the hash of the real token), so the file
 * need not hold the token itself: `printf %s "$TOKEN" | sha256sum`.
 *
 * A token is random text of at least {@link MIN_TOKEN_LENGTH} characters; SHA-256 is enough
 * for such values (a slow password hash protects guessable passwords, not random tokens).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { ROLES, isRole, type Role } from '../../protocol/auth';

export const MIN_TOKEN_LENGTH = 16;
/** characters of the hash that name a token in sessions and logs (64 bits: unique, not reversible) */
export const TOKEN_ID_LENGTH = 16;
export const GENERATE_HINT = 'openssl rand -base64 32';

export interface TokenEntry {
	/** a prefix of the hash, to refer to the token without revealing it */
	id: string;
	hash: Buffer;
	role: Role;
	/** for people and logs: the name given in the file, or where the token came from */
	name: string;
}

type Env = Record<string, string | undefined>;

export function hashToken(token: string): Buffer {
	return createHash('sha256').update(token, 'utf8').digest();
}

/** One configured token as an entry that keeps only its hash. */
function entry(secret: string, role: Role, name: string, where: string): TokenEntry {
	let hash: Buffer;
	const hashed = /^sha256:([0-9a-f]{64})$/i.exec(secret);
	if (hashed) {
		hash = Buffer.from(hashed[1], 'hex');
	} else {
		if (secret.length < MIN_TOKEN_LENGTH) {
			throw new Error(
				`${where}: a token must be at least ${MIN_TOKEN_LENGTH} characters of random text; make one with "${GENERATE_HINT}".`
			);
		}
		hash = hashToken(secret);
	}
	return { id: hash.toString('hex').slice(0, TOKEN_ID_LENGTH), hash, role, name };
}

function roleOf(raw: string, where: string): Role {
	const role = raw.toLowerCase();
	if (!isRole(role)) {
		throw new Error(`${where}: "${raw}" is not a role; use ${ROLES.join(' or ')}.`);
	}
	return role;
}

/** `ACO_TOKENS`' items: `role:token`, separated by commas or white space */
function listItems(raw: string): string[] {
	return raw.split(/[\s,]+/).filter(Boolean);
}

/** a tokens file's lines without comments: `[role, token, ...name]` (blank lines as []) */
function fileLines(text: string): string[][] {
	return text.split(/\r?\n/).map((rawLine) => {
		const line = rawLine.replace(/(^|\s)#.*$/, '').trim();
		return line ? line.split(/\s+/) : [];
	});
}

/** `ACO_TOKENS`: `role:token` items separated by commas or white space. */
export function parseTokenList(raw: string, variable = 'ACO_TOKENS'): TokenEntry[] {
	return listItems(raw).map((item, i) => {
		const where = `${variable} item ${i + 1}`;
		const colon = item.indexOf(':');
		if (colon <= 0) throw new Error(`${where} must be "role:token", e.g. viewer:<token>.`);
		const role = roleOf(item.slice(0, colon), where);
		return entry(item.slice(colon + 1), role, `${variable}[${i + 1}]`, where);
	});
}

/** A tokens file: lines `role token [name]`, blank lines and `#` comments ignored. */
export function parseTokensFile(text: string, file: string): TokenEntry[] {
	const entries: TokenEntry[] = [];
	fileLines(text).forEach(([roleText, secret, ...rest], i) => {
		if (roleText === undefined) return;
		const where = `${file} line ${i + 1}`;
		if (!secret) throw new Error(`${where} must be "role token [name]", e.g. "viewer <token> grafana".`);
		const role = roleOf(roleText, where);
		entries.push(entry(secret, role, rest.join(' ') || `${file}:${i + 1}`, where));
	});
	return entries;
}

/**
 * The text of every token the environment configures, each on its own (not those given as
 * `sha256:…`, whose text the server never sees), so that a tool that prints one is masked. A
 * file that cannot be read gives none (the server would not have started with it).
 */
export function plainTokens(env: Env, readFile: (path: string) => string): string[] {
	const texts = env.ACO_TOKEN ? [env.ACO_TOKEN] : [];
	for (const item of listItems(env.ACO_TOKENS ?? '')) texts.push(item.slice(item.indexOf(':') + 1));
	if (env.ACO_TOKENS_FILE) {
		try {
			for (const [, secret] of fileLines(readFile(env.ACO_TOKENS_FILE))) if (secret) texts.push(secret);
		} catch {
			// unreadable: loadTokens said so when the server started
		}
	}
	return texts.filter((text) => text.length > 0 && !/^sha256:[0-9a-f]{64}$/i.test(text));
}

export interface LoadTokensOptions {
	readFile: (path: string) => string;
	/** tells about a tokens file others may read */
	warn?: (message: string) => void;
	statMode?: (path: string) => number;
}

/**
 * Every token the environment configures; throws naming the variable, file and line of a bad one,
 * and when `ACO_TOKENS` or `ACO_TOKENS_FILE` is set and no token comes of it or of the others.
 * Without tokens a loopback server lets every caller in, so a file whose tokens were all commented
 * out to revoke them would open the server instead of closing it. An empty `ACO_TOKEN` counts as
 * unset: it is how a shell or a test clears the token the `aco` commands send.
 */
export function loadTokens(env: Env, options: LoadTokensOptions): TokenEntry[] {
	const entries: TokenEntry[] = [];
	if (env.ACO_TOKEN) entries.push(entry(env.ACO_TOKEN, 'operator', 'ACO_TOKEN', 'ACO_TOKEN'));
	if (env.ACO_TOKENS) entries.push(...parseTokenList(env.ACO_TOKENS));
	const file = env.ACO_TOKENS_FILE;
	if (file) {
		let text: string;
		try {
			text = options.readFile(file);
		} catch (err) {
			throw new Error(
				`ACO_TOKENS_FILE: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? err}).`
			);
		}
		const mode = options.statMode?.(file);
		if (mode !== undefined && (mode & 0o077) !== 0) {
			options.warn?.(
				`${file} can be read by other users (mode ${(mode & 0o777).toString(8)}); "chmod 600 ${file}" keeps its tokens yours.`
			);
		}
		entries.push(...parseTokensFile(text, file));
	}
	const seen = new Map<string, TokenEntry>();
	for (const e of entries) {
		const before = seen.get(e.id);
		if (before && before.role !== e.role) {
			throw new Error(
				`${e.name} repeats the token of ${before.name} with another role; give each role its own token.`
			);
		}
		seen.set(e.id, e);
	}
	if (seen.size === 0 && (env.ACO_TOKENS !== undefined || file !== undefined)) {
		throw new Error(emptySourceMessage(env));
	}
	return [...seen.values()];
}

/**
 * Why a token source that is set configures nothing, and what to do. It names the variables and
 * the file, never a value of ACO_TOKENS (whatever it holds, it is no valid token list).
 */
function emptySourceMessage(env: Env): string {
	const file = env.ACO_TOKENS_FILE;
	const empty: string[] = [];
	const unset: string[] = [];
	if (file !== undefined) {
		empty.push(file ? `ACO_TOKENS_FILE: ${file} holds no token` : 'ACO_TOKENS_FILE names no file');
		unset.push('ACO_TOKENS_FILE');
	}
	if (env.ACO_TOKENS !== undefined) {
		empty.push('ACO_TOKENS holds no "role:token" item');
		unset.unshift('ACO_TOKENS');
	}
	const add = file
		? `Add a line "operator <token> <name>" to ${file}`
		: 'Set ACO_TOKEN=<operator token>, ACO_TOKENS="viewer:<token>,operator:<token>" or ACO_TOKENS_FILE=<file>';
	return (
		`${empty.join(' and ')}, and no other token is configured: refusing to start without credentials, ` +
		`since a token list emptied to revoke its tokens must not open the server to every caller. ` +
		`${add} (make a token with "${GENERATE_HINT}"), ` +
		`or unset ${unset.join(' and ')} to run without credentials, open to this machine's users only.`
	);
}

/** The configured tokens; verification compares hashes in constant time and looks at every one. */
export class TokenSet {
	#entries: readonly TokenEntry[];

	constructor(entries: readonly TokenEntry[]) {
		this.#entries = entries;
	}

	/** Adds a token (kept as its hash, like the others). */
	add(token: string, role: Role, name: string): TokenEntry {
		const added = entry(token, role, name, name);
		this.#entries = [...this.#entries, added];
		return added;
	}

	get size(): number {
		return this.#entries.length;
	}

	/** The entry of a presented token, or null. Takes the same time whichever entry matches. */
	verify(token: string | null | undefined): TokenEntry | null {
		if (!token) return null;
		const hash = hashToken(token);
		let found: TokenEntry | null = null;
		for (const e of this.#entries) {
			// no early exit: the time does not tell which entry (or whether one) matched
			if (timingSafeEqual(hash, e.hash) && found === null) found = e;
		}
		return found;
	}

	byId(id: string): TokenEntry | undefined {
		return this.#entries.find((e) => e.id === id);
	}

	/** names and roles, for the startup log (never a token or its hash) */
	describe(): { name: string; role: Role }[] {
		return this.#entries.map(({ name, role }) => ({ name, role }));
	}
}

/**
 * The header when it uses the Bearer scheme (well formed or not), else null: another scheme (a
 * proxy in front asking for HTTP Basic, which browsers then send with every request) is not
 * meant for aco, and the request's session cookie counts instead.
 */
export function bearerHeader(header: string | null | undefined): string | null {
	return header && /^Bearer(?:[ \t]|$)/i.test(header) ? header : null;
}

/** The token of an `Authorization: Bearer <token>` header, or null. */
export function bearerOf(header: string | null | undefined): string | null {
	const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? '');
	return match ? match[1] : null;
}
