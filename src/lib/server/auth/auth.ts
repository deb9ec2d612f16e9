/**
 * @module auth/auth
 * One node's access control, built in createContext: the configured tokens, the Host and Origin
 * allowlists, and browser sessions. {@link AuthService.identify} turns a request's credentials
 * (a bearer token, else the session cookie) into a {@link Principal}; what each route needs is
 * decided in ./guard.ts, for HTTP and for the WebSocket upgrade alike.
 *
 * Without configured tokens the server is open to anyone who reaches it, so it may only bind
 * loopback and must not be published under another name (see ./bind.ts); then every caller acts
 * as the anonymous operator.
 *
 * @example
 * const auth = createAuth({ config: config.access, bindHost: config.host, store, logger });
 * auth.listening(port);
 * const who = await auth.identify({ authorization: req.headers.authorization, session: cookieValue });
 */
import { randomBytes } from 'node:crypto';
import { CloseCode } from '../../protocol/close-codes';
import type { ProducerVerdict } from '../ingest/producer';
import type { Logger } from '../logger';
import type { AccessConfig } from '../config';
import { assertCredentialsWhenPublished } from './bind';
import { HostPolicy } from './hosts';
import { ANONYMOUS_OPERATOR, type Principal } from './principal';
import { AttemptLimit } from './attempt-limit';
import { SessionManager, type SessionRelay, type SessionStore } from './sessions';
import { TokenSet, bearerOf, type TokenEntry } from './tokens';

/** the session cookie's name over plain HTTP (loopback, a LAN without TLS) */
export const SESSION_COOKIE = 'aco_session';
/**
 * the session cookie's name when the app is served over https: browsers take a `__Host-` cookie
 * only with `Secure`, `Path=/` and no `Domain`, from a secure origin, so neither a sibling
 * subdomain nor a plain-http page can plant or overwrite it (a fixed session, a signed-out user)
 */
export const SECURE_SESSION_COOKIE = '__Host-aco_session';

export interface Credentials {
	/** the `Authorization` header */
	authorization?: string | null;
	/** the session cookie's value */
	session?: string | null;
	/** the client's address, whose wrong tokens are counted (see {@link AttemptLimit}) */
	address?: string;
}

/** the client presented too many wrong tokens: its token was not taken (see {@link AttemptLimit}) */
export type TooManyAttempts = { ok: false; reason: 'too_many'; retryAfterMs: number };

export type Identification =
	| { ok: true; principal: Principal }
	| { ok: false; reason: 'missing' | 'invalid' | 'ended' }
	| TooManyAttempts;

/** A token presented in a message body (the sign-in form, a producer's hello), checked. */
export type TokenCheck = { ok: true; entry: TokenEntry } | { ok: false; reason: 'invalid' } | TooManyAttempts;

export interface AuthDeps {
	config: AccessConfig;
	/** the address the server binds (HOST) */
	bindHost: string;
	store: SessionStore;
	logger: Logger;
	now?: () => number;
	/** the machine's addresses, for a server bound to all of them */
	interfaces?: () => string[];
	/** a cluster's: sessions ended on one node close their sockets on every node at once */
	sessionRelay?: SessionRelay | null;
}

export interface CookieOptions {
	path: '/';
	httpOnly: true;
	sameSite: 'lax';
	secure: boolean;
	maxAge: number;
}

export class AuthService {
	readonly tokens: TokenSet;
	readonly hosts: HostPolicy;
	readonly sessions: SessionManager;
	readonly config: AccessConfig;
	/** wrong tokens per client address, on this node */
	readonly attempts: AttemptLimit;
	readonly #logger: Logger;
	#localToken: string | null = null;

	constructor(deps: AuthDeps) {
		// loadConfig refuses this already; a configuration built in code must not slip past it
		assertCredentialsWhenPublished(deps.config);
		this.config = deps.config;
		this.#logger = deps.logger;
		this.tokens = new TokenSet(deps.config.tokens);
		this.attempts = new AttemptLimit({ perMinute: deps.config.authFailuresPerMinute, now: deps.now });
		this.hosts = new HostPolicy({
			bindHost: deps.bindHost,
			publicUrls: deps.config.publicUrls,
			allowedHosts: deps.config.allowedHosts,
			allowedOrigins: deps.config.allowedOrigins,
			interfaces: deps.interfaces
		});
		this.sessions = new SessionManager({
			store: deps.store,
			tokens: this.tokens,
			policy: { idleMs: deps.config.sessionIdleMs, maxAgeMs: deps.config.sessionMaxAgeMs },
			logger: deps.logger,
			now: deps.now,
			relay: deps.sessionRelay ?? null
		});
	}

	/** Whether callers must present credentials (some token is configured). */
	get required(): boolean {
		return this.tokens.size > 0;
	}

	/** Starts the session sweeper; call once the node is up. */
	start(): void {
		if (this.required) this.sessions.start();
		for (const warning of this.config.warnings) this.#logger.warn(warning);
		this.#logger.info(
			{ required: this.required, tokens: this.tokens.describe(), public_urls: this.config.publicUrls },
			this.required ? 'credentials required' : 'no credentials configured: open to loopback callers only'
		);
	}

	/** The port the server listens on: the default allowed hosts carry it. */
	listening(port: number): void {
		this.hosts.listening(port);
	}

	/**
	 * Who presents these credentials. A bearer token is checked first and alone: a wrong one is
	 * `invalid` even with a good cookie. Without configured tokens everyone is the anonymous operator.
	 * Only a sign-in session is looked up in the store; everything else is answered at once, without
	 * a promise (every WebSocket handshake asks).
	 */
	identify(credentials: Credentials): Identification | Promise<Identification> {
		if (!this.required) return { ok: true, principal: ANONYMOUS_OPERATOR };
		if (credentials.authorization) {
			const checked = this.checkToken(
				bearerOf(credentials.authorization),
				credentials.address,
				'a bearer token'
			);
			return checked.ok ? { ok: true, principal: principalOfToken(checked.entry) } : checked;
		}
		if (credentials.session) {
			return this.sessions
				.resolve(credentials.session)
				.then((principal): Identification =>
					principal ? { ok: true, principal } : { ok: false, reason: 'ended' }
				);
		}
		return { ok: false, reason: 'missing' };
	}

	/**
	 * An operator token for clients inside this process (the terminal dashboard of
	 * `aco server --tui`), made on first use and valid until the process ends; it never leaves
	 * the process's memory. Undefined when the server needs no credentials.
	 */
	localToken(): string | undefined {
		if (!this.required) return undefined;
		if (this.#localToken === null) {
			this.#localToken = randomBytes(32).toString('base64url');
			this.tokens.add(this.#localToken, 'operator', 'in-process');
		}
		return this.#localToken;
	}

	/**
	 * Checks a token the client at `address` presented (`what`: where, for the log), counting a
	 * wrong one against it. A client out of tries is refused whatever it sends, unless the token
	 * was taken from that address within the hour (see {@link AttemptLimit}). Logged once when a
	 * client starts presenting wrong tokens and once when it runs out, not for every one (a guesser
	 * would fill the log). Without an address nothing is counted.
	 */
	checkToken(token: string | null | undefined, address: string | undefined, what: string): TokenCheck {
		const entry = this.tokens.verify(token);
		if (address === undefined) return entry ? { ok: true, entry } : { ok: false, reason: 'invalid' };
		const retryAfterMs = this.attempts.retryAfterMs(address);
		if (retryAfterMs > 0 && !(entry && this.attempts.proven(address, entry.id))) {
			// a wrong one still counts: the pass for proven tokens closes if guessing goes on
			if (!entry) this.attempts.failed(address);
			return { ok: false, reason: 'too_many', retryAfterMs: this.attempts.retryAfterMs(address) };
		}
		if (entry) {
			this.attempts.took(address, entry.id);
			return { ok: true, entry };
		}
		const { first, exhausted } = this.attempts.failed(address);
		if (exhausted) {
			this.#logger.warn(
				{ remote: address, per_minute: this.config.authFailuresPerMinute },
				`${what} this server does not know, again: the client waits before its next token is taken`
			);
		} else if (first) {
			this.#logger.warn({ remote: address }, `${what} this server does not know`);
		}
		return { ok: false, reason: 'invalid' };
	}

	/**
	 * Whether a WebSocket producer may ingest: by a token in its `producer.hello`, else by its
	 * connection's own credentials. Ingesting needs the operator role.
	 */
	authorizeProducer(principal: Principal, helloToken: string | undefined, address?: string): ProducerVerdict {
		if (!this.required) return { ok: true, authenticated: false };
		if (helloToken !== undefined) {
			const checked = this.checkToken(helloToken, address, 'a producer.hello token');
			if (!checked.ok && checked.reason === 'too_many') {
				return {
					ok: false,
					code: 'too_many_attempts',
					message: tooManyAttemptsMessage(checked.retryAfterMs),
					// for a while: a producer comes back (another one at its address may be guessing)
					closeCode: CloseCode.TOO_MANY_ATTEMPTS
				};
			}
			if (!checked.ok) {
				return {
					ok: false,
					code: 'unauthorized',
					message:
						'The token in "producer.hello" is not one this server accepts (ACO_TOKEN, ACO_TOKENS or ACO_TOKENS_FILE).',
					closeCode: CloseCode.UNAUTHORIZED
				};
			}
			principal = principalOfToken(checked.entry);
		}
		if (principal.role === 'operator') return { ok: true, authenticated: true };
		return {
			ok: false,
			code: 'forbidden',
			message: `Ingesting needs the operator role; "${principal.name}" is a ${principal.role}. Send an operator token in "producer.hello".`,
			closeCode: CloseCode.FORBIDDEN
		};
	}

	/**
	 * The session cookie's name on this server: `__Host-` prefixed when its public URL is https
	 * (the cookie is then always `Secure`), the plain name otherwise. Only this name is read.
	 */
	get sessionCookie(): string {
		return this.hosts.secure ? SECURE_SESSION_COOKIE : SESSION_COOKIE;
	}

	/**
	 * The session cookie's attributes: HttpOnly, SameSite=Lax, Path=/, no Domain, Secure when the
	 * app is served over https; `maxAgeS` 0 clears it (a `__Host-` one needs `Secure` for that too).
	 */
	cookieOptions(requestIsHttps: boolean, maxAgeS: number): CookieOptions {
		return {
			path: '/',
			httpOnly: true,
			sameSite: 'lax',
			secure: requestIsHttps || this.hosts.secure,
			maxAge: maxAgeS
		};
	}

	close(): void {
		this.sessions.close();
	}
}

/** A wait in whole seconds, as `Retry-After` and the words a client out of tries is told give it. */
export function retryAfterSeconds(retryAfterMs: number): string {
	return String(Math.ceil(retryAfterMs / 1000));
}

/** What a client out of tries is told (see {@link AttemptLimit}). */
export function tooManyAttemptsMessage(retryAfterMs: number): string {
	return (
		`Too many wrong tokens from this address: try again in ${retryAfterSeconds(retryAfterMs)} s. ` +
		"Check the token against the server's ACO_TOKEN, ACO_TOKENS or ACO_TOKENS_FILE."
	);
}

export function principalOfToken(entry: TokenEntry): Principal {
	return { role: entry.role, via: 'token', name: entry.name, tokenId: entry.id };
}

export function createAuth(deps: AuthDeps): AuthService {
	return new AuthService(deps);
}
