/**
 * @module hub/access
 * Who may open the hub, and for how long. An upgrade is admitted or refused (401/403 as plain
 * HTTP, before the handshake) by a {@link HubAccess} the node hands in; each admitted client
 * carries its principal. A client signed in through a browser session is closed with 4503 the
 * moment that session ends: at once on sign-out on this node, within a second of its expiry,
 * and within `checkEveryMs` when it ended elsewhere (another node of a cluster shares the store).
 * A client whose upgrade was admitted just before its session ended on this node, and whose
 * handshake finished just after, is closed as it arrives: the watch remembers ended sessions a while.
 */
import type { IncomingMessage } from 'node:http';
import { CloseCode } from '../../protocol/close-codes';
import { ANONYMOUS_OPERATOR, type Principal } from '../auth/principal';
import type { Logger } from '../logger';
import { isAllowedOrigin } from '../origin';

export type Admission =
	| { ok: true; principal: Principal }
	| { ok: false; status: number; code: string; message: string; headers?: Record<string, string> };

export interface HubAccess {
	/**
	 * decides an upgrade from its headers, before the handshake; a promise only when the answer
	 * needs I/O (a sign-in session looked up in the store)
	 */
	admit(req: IncomingMessage): Admission | Promise<Admission>;
	/** checks a browser session again: when it now ends (ms since the epoch), or null when it has ended */
	revalidate(sessionId: string): Promise<number | null>;
	/** sessions ended on this node (sign-out); returns the function that removes the listener */
	onSessionEnded(listener: (sessionId: string, reason: string) => void): () => void;
	/** how often the sessions of open clients are checked again */
	checkEveryMs: number;
}

/** What the watch needs of a client. */
export interface WatchedClient {
	readonly principal: Principal;
	close(code: number, reason?: string): void;
}

/** how often expiries are looked at: a session that ends is closed within this */
export const EXPIRY_SWEEP_MS = 1_000;
/**
 * how long, and how many, sessions ended on this node are remembered for clients still in their
 * handshake (an admission looks the session up in the store before the socket is added); past
 * either the periodic check closes such a client
 */
export const ENDED_MEMORY_MS = 60_000;
export const ENDED_MEMORY_MAX = 10_000;
export const SESSION_EXPIRED_REASON = 'sign-in session expired; sign in again';

/**
 * The hub's access when the node hands none (a hub on its own, as in tests): every client is
 * the anonymous operator; pages from other sites are refused as before credentials existed.
 */
export function openAccess(allowedOrigins: readonly string[]): HubAccess {
	return {
		admit(req) {
			const origin = req.headers.origin;
			if (isAllowedOrigin(origin, req.headers.host, allowedOrigins))
				return { ok: true, principal: ANONYMOUS_OPERATOR };
			return {
				ok: false,
				status: 403,
				code: 'forbidden_origin',
				message: `Pages from ${String(origin)} may not open this hub. Serve the page from this server or add its origin to ACO_ALLOWED_ORIGINS.`
			};
		},
		async revalidate() {
			return null;
		},
		onSessionEnded() {
			return () => {};
		},
		checkEveryMs: 60_000
	};
}

interface Watched<C> {
	clients: Set<C>;
	expiresAt: number;
}

export interface AccessWatchOptions {
	access: HubAccess;
	logger: Logger;
	now?: () => number;
	sweepMs?: number;
}

/** Closes the clients of browser sessions that have ended. Owns its timer and listener. */
export class AccessWatch<C extends WatchedClient> {
	readonly #options: AccessWatchOptions;
	readonly #now: () => number;
	readonly #bySession = new Map<string, Watched<C>>();
	/** sessions ended lately, oldest first: why, and when (ids are random, never reused) */
	readonly #ended = new Map<string, { reason: string; at: number }>();
	#timer: NodeJS.Timeout | null = null;
	#lastCheck = 0;
	#checking = false;
	#unlisten: (() => void) | null = null;

	constructor(options: AccessWatchOptions) {
		this.#options = options;
		this.#now = options.now ?? Date.now;
	}

	start(): void {
		if (this.#timer) return;
		this.#lastCheck = this.#now();
		this.#unlisten = this.#options.access.onSessionEnded((id, reason) => this.end(id, reason));
		this.#timer = setInterval(() => this.sweep(), this.#options.sweepMs ?? EXPIRY_SWEEP_MS);
		this.#timer.unref();
	}

	stop(): void {
		if (this.#timer) clearInterval(this.#timer);
		this.#timer = null;
		this.#unlisten?.();
		this.#unlisten = null;
		this.#bySession.clear();
		this.#ended.clear();
	}

	/** Watches a client if it came with a browser session; closes it at once if that has ended. */
	add(client: C): void {
		const { sessionId, expiresAt } = client.principal;
		if (!sessionId) return;
		const ended = this.#ended.get(sessionId);
		if (ended) {
			client.close(CloseCode.SESSION_ENDED, ended.reason);
			return;
		}
		let watched = this.#bySession.get(sessionId);
		if (!watched) {
			watched = { clients: new Set(), expiresAt: expiresAt ?? Number.POSITIVE_INFINITY };
			this.#bySession.set(sessionId, watched);
		}
		watched.clients.add(client);
	}

	remove(client: C): void {
		const { sessionId } = client.principal;
		if (!sessionId) return;
		const watched = this.#bySession.get(sessionId);
		if (!watched) return;
		watched.clients.delete(client);
		if (watched.clients.size === 0) this.#bySession.delete(sessionId);
	}

	/** Closes every client of the session at once (4503). */
	end(sessionId: string, reason: string): void {
		this.#remember(sessionId, reason);
		const watched = this.#bySession.get(sessionId);
		if (!watched) return;
		this.#bySession.delete(sessionId);
		this.#options.logger.info(
			{ clients: watched.clients.size, reason },
			'closing the sockets of an ended session'
		);
		for (const client of watched.clients) client.close(CloseCode.SESSION_ENDED, reason);
	}

	/**
	 * Asks the store about sessions that look expired (use elsewhere may have moved their end),
	 * and every `checkEveryMs` about all of them (a sign-out on another node); closes the ended.
	 */
	sweep(): void {
		const now = this.#now();
		for (const [id, { at }] of this.#ended) {
			if (now - at < ENDED_MEMORY_MS) break;
			this.#ended.delete(id);
		}
		if (this.#checking || this.#bySession.size === 0) return;
		const due = [...this.#bySession].filter(([, w]) => w.expiresAt <= now).map(([id]) => id);
		const all = now - this.#lastCheck >= this.#options.access.checkEveryMs;
		if (!all && due.length === 0) return;
		if (all) this.#lastCheck = now;
		this.#checking = true;
		void this.#recheck(all ? [...this.#bySession.keys()] : due, new Set(due)).finally(
			() => (this.#checking = false)
		);
	}

	#remember(sessionId: string, reason: string): void {
		this.#ended.delete(sessionId);
		this.#ended.set(sessionId, { reason, at: this.#now() });
		if (this.#ended.size > ENDED_MEMORY_MAX) this.#ended.delete(this.#ended.keys().next().value!);
	}

	async #recheck(ids: string[], due: Set<string>): Promise<void> {
		for (const id of ids) {
			let expiresAt: number | null;
			try {
				expiresAt = await this.#options.access.revalidate(id);
			} catch (err) {
				// the store is away: a session past its known end closes, the others wait for the next check
				this.#options.logger.warn({ err }, 'could not check a session again');
				if (due.has(id)) this.end(id, SESSION_EXPIRED_REASON);
				continue;
			}
			const watched = this.#bySession.get(id);
			if (!watched) continue;
			if (expiresAt === null || expiresAt <= this.#now()) this.end(id, SESSION_EXPIRED_REASON);
			else watched.expiresAt = expiresAt;
		}
	}
}
