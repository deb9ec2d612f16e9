/**
 * @module auth/attempt-limit
 * How many wrong tokens a client may present (a bearer header, the sign-in form, a producer's
 * hello) before it is told to wait: `perMinute` at once, then one more every `60 / perMinute`
 * seconds (a bucket that refills), counted per client address — per /64 for IPv6, the block one
 * host is given — on this node. A client out of tries is answered 429 with `Retry-After`, and
 * its token is not taken, so guessing goes at that pace whatever the client sends.
 *
 * Clients behind one address (a NAT, a proxy not named in ACO_TRUSTED_PROXIES) share its tries,
 * so one that keeps presenting a stale token would hold back the others: a token that was taken
 * from an address within the last hour still is while the address waits ({@link proven}), as
 * long as the address owes less than twice its tries. Wrong tokens go on counting while it waits,
 * up to that: so a guesser behind the same address, who could tell such a token from a wrong one,
 * gets at most twice the tries at once, then one every `60 / perMinute` s as before, and once it
 * has spent them every token waits, proven or not.
 *
 * Memory stays bounded: at most `maxClients` addresses are kept, one that owes nothing (among
 * those heard from least recently) making way for a new one, and an address whose tries are all
 * back and that proved no token is forgotten when it is next seen. No timer: tries come back by
 * the clock when asked.
 *
 * @example
 * const limit = new AttemptLimit({ perMinute: 10 });
 * const wait = limit.retryAfterMs(address);
 * if (wait > 0 && !(entry && limit.proven(address, entry.id))) return tooMany(wait);
 * if (!entry) limit.failed(address); else limit.took(address, entry.id);
 */
import { isIPv6 } from 'node:net';

export interface AttemptLimitOptions {
	/** wrong tokens a client may present at once, and per minute after that */
	perMinute: number;
	/** addresses kept at most */
	maxClients?: number;
	/** the clock, in ms */
	now?: () => number;
}

/** What a wrong token did to its client's tries. */
export interface FailedAttempt {
	/** the client had all its tries before this one: worth a line in the log */
	first: boolean;
	/** that was its last try, the first time since its tries were all back: worth a line too */
	exhausted: boolean;
}

export const DEFAULT_AUTH_FAILURES_PER_MINUTE = 10;
const DEFAULT_MAX_CLIENTS = 10_000;
const MINUTE_MS = 60_000;
/** addresses looked at, least recent first, for one that owes nothing when one must go */
const EVICTION_SCAN = 64;
/** how long a token taken from an address still is while the address waits */
export const PROVEN_MS = 60 * MINUTE_MS;

interface Client {
	/** when all its tries are back (each wrong token puts that `#msPerTry` later); 0: they are */
	fullAt: number;
	/** it ran out since its tries were last all back (logged once) */
	ranOut: boolean;
	/** ids of the tokens taken from it, with when they were last */
	proven: Map<string, number>;
}

export class AttemptLimit {
	readonly #capacity: number;
	readonly #msPerTry: number;
	/** the most an address owes: twice its tries (wrong tokens beyond are not counted further) */
	readonly #maxOwed: number;
	readonly #maxClients: number;
	readonly #now: () => number;
	/** in the order the addresses were last heard from, least recent first */
	readonly #clients = new Map<string, Client>();

	constructor(options: AttemptLimitOptions) {
		this.#capacity = options.perMinute;
		this.#msPerTry = MINUTE_MS / options.perMinute;
		this.#maxOwed = 2 * MINUTE_MS;
		this.#maxClients = options.maxClients ?? DEFAULT_MAX_CLIENTS;
		this.#now = options.now ?? Date.now;
	}

	/** How long the client at `address` must wait before a token of its is taken; 0: it may now. */
	retryAfterMs(address: string): number {
		const owed = this.#owed(this.#current(clientKey(address)), this.#now());
		return Math.max(0, Math.ceil(owed - (this.#capacity - 1) * this.#msPerTry));
	}

	/** The client at `address` presented a wrong token (also while it waits: see {@link proven}). */
	failed(address: string): FailedAttempt {
		const now = this.#now();
		const client = this.#touch(clientKey(address));
		const owed = this.#owed(client, now);
		client.fullAt = now + Math.min(owed + this.#msPerTry, this.#maxOwed);
		const out = owed + this.#msPerTry > (this.#capacity - 1) * this.#msPerTry;
		const exhausted = out && !client.ranOut;
		if (out) client.ranOut = true;
		return { first: owed === 0, exhausted };
	}

	/** Token `tokenId` was taken from `address`: it still is for an hour while the address waits. */
	took(address: string, tokenId: string): void {
		this.#touch(clientKey(address)).proven.set(tokenId, this.#now());
	}

	/**
	 * Whether token `tokenId` was taken from `address` within the last hour, and the address owes
	 * less than twice its tries: then it is taken while the address waits.
	 */
	proven(address: string, tokenId: string): boolean {
		const client = this.#current(clientKey(address));
		const at = client?.proven.get(tokenId);
		const now = this.#now();
		if (at === undefined || now - at >= PROVEN_MS) return false;
		return this.#owed(client, now) + this.#msPerTry <= this.#maxOwed;
	}

	/** Addresses kept (for tests and metrics). */
	get size(): number {
		return this.#clients.size;
	}

	/** ms until all of `client`'s tries are back; 0 once they are. */
	#owed(client: Client | undefined, now: number): number {
		if (!client || client.fullAt <= now) return 0;
		return client.fullAt - now;
	}

	/** The client kept for `key`, forgotten first if nothing about it matters any more. */
	#current(key: string): Client | undefined {
		const client = this.#clients.get(key);
		if (!client) return undefined;
		const now = this.#now();
		if (client.fullAt > now) return client;
		client.ranOut = false;
		for (const [id, at] of client.proven) if (now - at >= PROVEN_MS) client.proven.delete(id);
		if (client.proven.size > 0) return client;
		this.#clients.delete(key);
		return undefined;
	}

	/** The client for `key`, made the most recently heard from (and made if new). */
	#touch(key: string): Client {
		const client = this.#current(key) ?? { fullAt: 0, ranOut: false, proven: new Map() };
		this.#clients.delete(key);
		this.#clients.set(key, client);
		if (this.#clients.size > this.#maxClients) this.#makeRoom(key);
		return client;
	}

	/**
	 * Forgets one address: among those heard from least recently, the first that owes nothing (it
	 * only proved tokens), so a crowd of good clients does not give a waiting guesser its tries
	 * back (never `keep`, just heard from); the least recent of all when each of those owes.
	 */
	#makeRoom(keep: string): void {
		const now = this.#now();
		let looked = 0;
		for (const [key, client] of this.#clients) {
			if (key !== keep && client.fullAt <= now) {
				this.#clients.delete(key);
				return;
			}
			if (++looked >= EVICTION_SCAN) break;
		}
		this.#clients.delete(this.#clients.keys().next().value!);
	}
}

/** The key an address is counted under: itself, or for IPv6 its /64 (a host's usual block). */
export function clientKey(address: string): string {
	const plain = address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
	if (!isIPv6(plain)) return plain;
	return `${expandIPv6(plain).slice(0, 4).join(':')}::/64`;
}

/** The eight groups of an IPv6 address, `::` written out (a zone id dropped). */
function expandIPv6(address: string): string[] {
	const [head, tail] = address.split('%')[0].split('::');
	const left = head ? head.split(':') : [];
	const right = tail === undefined ? [] : tail ? tail.split(':') : [];
	const zeros = tail === undefined ? [] : new Array<string>(8 - left.length - right.length).fill('0');
	return [...left, ...zeros, ...right].map((group) => group.toLowerCase().replace(/^0+(?=.)/, ''));
}
