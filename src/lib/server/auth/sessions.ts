/**
 * @module auth/sessions
 * Browser sign-in sessions: a token is exchanged once for a random session id carried in an
 * HttpOnly cookie. The store keeps only the SHA-256 of that id, with the token it came from
 * (ended with it), its role, and when it ends: `idleMs` after its last use, and never later than
 * `maxAgeMs` after sign-in. Sessions live in the store, so every node of a cluster accepts them.
 *
 * Use is written at most once per {@link TOUCH_EVERY_MS}, so a busy page costs one read per
 * request, not a write. Ended sessions (sign-out) are announced to listeners, which close the
 * session's WebSockets, and in a cluster to the other nodes' (auth/session-relay); expired rows
 * are swept from the store every {@link SWEEP_EVERY_MS}.
 */
import { createHash, randomBytes } from 'node:crypto';
import { SIGNED_OUT_REASON } from '../../protocol/auth';
import type { Logger } from '../logger';
import type { AuthSession, Store } from '../store/types';
import type { Principal } from './principal';
import type { TokenEntry, TokenSet } from './tokens';

export const DEFAULT_SESSION_IDLE_MS = 8 * 60 * 60_000;
export const DEFAULT_SESSION_MAX_AGE_MS = 7 * 24 * 60 * 60_000;
export const TOUCH_EVERY_MS = 60_000;
export const SWEEP_EVERY_MS = 10 * 60_000;
/** random bytes in a session id (256 bits) */
export const SESSION_ID_BYTES = 32;

export type SessionStore = Pick<
	Store,
	'createSession' | 'getSession' | 'touchSession' | 'deleteSession' | 'expireSessions'
>;

export interface SessionPolicy {
	/** a session ends this long after its last use */
	idleMs: number;
	/** and at the latest this long after sign-in */
	maxAgeMs: number;
}

export interface SessionManagerDeps {
	store: SessionStore;
	tokens: TokenSet;
	policy: SessionPolicy;
	logger: Logger;
	now?: () => number;
	/** a cluster's: sessions ended here are announced to the other nodes, theirs to this one's listeners */
	relay?: SessionRelay | null;
}

export interface SignedIn {
	/** the cookie's value: given to the browser once, never stored */
	value: string;
	principal: Principal;
	/** seconds until the session ends at the latest (the cookie's Max-Age) */
	maxAgeS: number;
}

export type SessionEndedListener = (sessionId: string, reason: string) => void;

/** Tells the other nodes of a cluster of sessions ended here, and this one of theirs (auth/session-relay). */
export interface SessionRelay {
	/** a session ended on this node: the others are told (never throws, never waits) */
	announce(sessionId: string, reason: string): void;
	/** sessions ended on other nodes; returns the function that removes the listener */
	onEnded(listener: SessionEndedListener): () => void;
}

/** The stored id of a cookie value. */
export function sessionIdOf(value: string): string {
	return createHash('sha256').update(value, 'utf8').digest('hex');
}

export class SessionManager {
	readonly #deps: SessionManagerDeps;
	readonly #now: () => number;
	readonly #listeners = new Set<SessionEndedListener>();
	#sweeper: NodeJS.Timeout | null = null;
	#unrelay: (() => void) | null;

	constructor(deps: SessionManagerDeps) {
		this.#deps = deps;
		this.#now = deps.now ?? Date.now;
		// ended on another node: its sockets here close as ours do (the store no longer has it)
		this.#unrelay = deps.relay?.onEnded((id, reason) => this.#tell(id, reason)) ?? null;
	}

	get policy(): SessionPolicy {
		return this.#deps.policy;
	}

	/** Starts sweeping expired sessions out of the store. */
	start(): void {
		if (this.#sweeper) return;
		this.#sweeper = setInterval(() => void this.sweep(), SWEEP_EVERY_MS);
		this.#sweeper.unref();
		void this.sweep();
	}

	close(): void {
		if (this.#sweeper) clearInterval(this.#sweeper);
		this.#sweeper = null;
		this.#unrelay?.();
		this.#unrelay = null;
		this.#listeners.clear();
	}

	/**
	 * A new session for a verified token. The session the browser held before (`previous`, the
	 * old cookie's value) ends: a sign-in always gets a fresh id (no session fixation).
	 */
	async create(entry: TokenEntry, previous?: string | null): Promise<SignedIn> {
		if (previous) await this.end(sessionIdOf(previous), 'replaced by a new sign-in');
		const value = randomBytes(SESSION_ID_BYTES).toString('base64url');
		const now = this.#now();
		const expiresAt = this.#expiry(now, now);
		const session: AuthSession = {
			id: sessionIdOf(value),
			role: entry.role,
			token_id: entry.id,
			created_at: new Date(now).toISOString(),
			last_seen_at: new Date(now).toISOString(),
			expires_at: new Date(expiresAt).toISOString()
		};
		await this.#deps.store.createSession(session);
		this.#deps.logger.info({ token: entry.name, role: entry.role }, 'signed in');
		return {
			value,
			principal: principalOf(session.id, entry, expiresAt),
			maxAgeS: Math.floor(this.#deps.policy.maxAgeMs / 1000)
		};
	}

	/** The principal of a cookie value, or null when there is no such live session. */
	async resolve(value: string): Promise<Principal | null> {
		return this.#check(sessionIdOf(value));
	}

	/**
	 * Checks a session again (an open WebSocket's, periodically) and counts it as in use.
	 * Returns when it ends now, or null when it has ended.
	 */
	async revalidate(sessionId: string): Promise<number | null> {
		return (await this.#check(sessionId))?.expiresAt ?? null;
	}

	/** Signs out the session of a cookie value; returns its id when there was one. */
	async signOut(value: string): Promise<string | null> {
		const id = sessionIdOf(value);
		return (await this.end(id, SIGNED_OUT_REASON)) ? id : null;
	}

	/** Ends a session and tells the listeners (who close its sockets), here and on the other nodes. */
	async end(sessionId: string, reason: string): Promise<boolean> {
		const existed = await this.#deps.store.deleteSession(sessionId);
		this.#tell(sessionId, reason);
		if (existed) this.#deps.relay?.announce(sessionId, reason);
		return existed;
	}

	onEnded(listener: SessionEndedListener): () => void {
		this.#listeners.add(listener);
		return () => this.#listeners.delete(listener);
	}

	#tell(sessionId: string, reason: string): void {
		for (const listener of this.#listeners) listener(sessionId, reason);
	}

	/** Deletes expired sessions from the store; returns how many. Never throws. */
	async sweep(): Promise<number> {
		try {
			return await this.#deps.store.expireSessions(new Date(this.#now()).toISOString());
		} catch (err) {
			this.#deps.logger.warn({ err }, 'could not sweep expired sessions');
			return 0;
		}
	}

	async #check(id: string): Promise<Principal | null> {
		const { store, tokens } = this.#deps;
		const session = await store.getSession(id);
		if (!session) return null;
		const now = this.#now();
		const entry = tokens.byId(session.token_id);
		if (Date.parse(session.expires_at) <= now || !entry) {
			// expired, or its token is no longer configured: it ends for good
			await store.deleteSession(id);
			return null;
		}
		let expiresAt = Date.parse(session.expires_at);
		if (now - Date.parse(session.last_seen_at) >= TOUCH_EVERY_MS) {
			expiresAt = this.#expiry(Date.parse(session.created_at), now);
			const touched = await store.touchSession(
				id,
				new Date(now).toISOString(),
				new Date(expiresAt).toISOString()
			);
			if (!touched) return null;
		}
		return principalOf(id, entry, expiresAt);
	}

	#expiry(createdAt: number, lastSeenAt: number): number {
		const { idleMs, maxAgeMs } = this.#deps.policy;
		return Math.min(createdAt + maxAgeMs, lastSeenAt + idleMs);
	}
}

/** The session acts with its token's current role (a token turned viewer makes its sessions viewers). */
function principalOf(sessionId: string, entry: TokenEntry, expiresAt: number): Principal {
	return {
		role: entry.role,
		via: 'session',
		name: entry.name,
		tokenId: entry.id,
		sessionId,
		expiresAt
	};
}
