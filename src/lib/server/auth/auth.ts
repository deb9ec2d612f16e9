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
import { SessionManager, type SessionStore } from './sessions';
import { TokenSet, bearerOf, type TokenEntry } from './tokens';

/** the session cookie */
export const SESSION_COOKIE = 'aco_session';

export interface Credentials {
	/** the `Authorization` header */
	authorization?: string | null;
	/** the session cookie's value */
	session?: string | null;
}

export type Identification =
	{ ok: true; principal: Principal } | { ok: false; reason: 'missing' | 'invalid' | 'ended' };

export interface AuthDeps {
	config: AccessConfig;
	/** the address the server binds (HOST) */
	bindHost: string;
	store: SessionStore;
	logger: Logger;
	now?: () => number;
	/** the machine's addresses, for a server bound to all of them */
	interfaces?: () => string[];
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
	readonly #logger: Logger;
	#localToken: string | null = null;

	constructor(deps: AuthDeps) {
		// loadConfig refuses this already; a configuration built in code must not slip past it
		assertCredentialsWhenPublished(deps.config);
		this.config = deps.config;
		this.#logger = deps.logger;
		this.tokens = new TokenSet(deps.config.tokens);
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
			now: deps.now
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
			const entry = this.tokens.verify(bearerOf(credentials.authorization));
			return entry ? { ok: true, principal: principalOfToken(entry) } : { ok: false, reason: 'invalid' };
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

	/** The entry of a token presented in a message body (a producer's hello, the sign-in form). */
	verifyToken(token: string | null | undefined): TokenEntry | null {
		return this.tokens.verify(token);
	}

	/**
	 * Whether a WebSocket producer may ingest: by a token in its `producer.hello`, else by its
	 * connection's own credentials. Ingesting needs the operator role.
	 */
	authorizeProducer(principal: Principal, helloToken: string | undefined): ProducerVerdict {
		if (!this.required) return { ok: true, authenticated: false };
		if (helloToken !== undefined) {
			const entry = this.tokens.verify(helloToken);
			if (!entry) {
				return {
					ok: false,
					code: 'unauthorized',
					message:
						'The token in "producer.hello" is not one this server accepts (ACO_TOKEN, ACO_TOKENS or ACO_TOKENS_FILE).',
					closeCode: CloseCode.UNAUTHORIZED
				};
			}
			principal = principalOfToken(entry);
		}
		if (principal.role === 'operator') return { ok: true, authenticated: true };
		return {
			ok: false,
			code: 'forbidden',
			message: `Ingesting needs the operator role; "${principal.name}" is a ${principal.role}. Send an operator token in "producer.hello".`,
			closeCode: CloseCode.FORBIDDEN
		};
	}

	/** The session cookie's attributes: HttpOnly, SameSite=Lax, Secure when the app is served over https. */
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

export function principalOfToken(entry: TokenEntry): Principal {
	return { role: entry.role, via: 'token', name: entry.name, tokenId: entry.id };
}

export function createAuth(deps: AuthDeps): AuthService {
	return new AuthService(deps);
}
