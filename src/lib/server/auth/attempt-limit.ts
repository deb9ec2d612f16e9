/**
 * @module auth/attempt-limit
 * How many wrong tokens a client may present (a bearer header, the sign-in form, a producer's
 * hello) before it is told to wait: `perMinute` at once, then one more every `60 / perMinute`
 * seconds (a bucket that refills), counted per client address — per /64 for IPv6, the block one
 * host is given — on this node. A client out of tries is answered 429 with `Retry-After`, its
 * token not even looked at, so guessing goes at that pace whatever the client sends.
 *
 * Memory stays bounded: at most `maxClients` addresses are kept, the one heard from least
 * recently making way for a new one, and an address whose bucket has refilled is forgotten
 * when it is next seen. No timer: buckets refill by the clock when asked.
 *
 * @example
 * const limit = new AttemptLimit({ perMinute: 10 });
 * if (limit.retryAfterMs(address) > 0) return tooMany();
 * if (!valid) limit.failed(address);
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
	/** that was its last try: it waits from now on (also worth a line) */
	exhausted: boolean;
}

export const DEFAULT_AUTH_FAILURES_PER_MINUTE = 10;
const DEFAULT_MAX_CLIENTS = 10_000;
const MINUTE_MS = 60_000;

export class AttemptLimit {
	readonly #capacity: number;
	readonly #msPerTry: number;
	readonly #maxClients: number;
	readonly #now: () => number;
	/**
	 * per address, when all its tries are back (each wrong token puts that `#msPerTry` later);
	 * in the order the addresses were last heard from, least recent first
	 */
	readonly #fullAt = new Map<string, number>();

	constructor(options: AttemptLimitOptions) {
		this.#capacity = options.perMinute;
		this.#msPerTry = MINUTE_MS / options.perMinute;
		this.#maxClients = options.maxClients ?? DEFAULT_MAX_CLIENTS;
		this.#now = options.now ?? Date.now;
	}

	/** How long the client at `address` must wait before its next token is looked at; 0: it may now. */
	retryAfterMs(address: string): number {
		const owed = this.#owed(clientKey(address), this.#now());
		return Math.max(0, Math.ceil(owed - (this.#capacity - 1) * this.#msPerTry));
	}

	/** The client at `address` presented a wrong token. */
	failed(address: string): FailedAttempt {
		const key = clientKey(address);
		const now = this.#now();
		const owed = this.#owed(key, now);
		this.#fullAt.delete(key);
		this.#fullAt.set(key, now + owed + this.#msPerTry);
		if (this.#fullAt.size > this.#maxClients) this.#fullAt.delete(this.#fullAt.keys().next().value!);
		return { first: owed === 0, exhausted: owed + this.#msPerTry > (this.#capacity - 1) * this.#msPerTry };
	}

	/** Addresses kept (for tests and metrics). */
	get size(): number {
		return this.#fullAt.size;
	}

	/** ms until all of `key`'s tries are back; 0 (and forgotten) once they are. */
	#owed(key: string, now: number): number {
		const fullAt = this.#fullAt.get(key);
		if (fullAt === undefined) return 0;
		if (fullAt > now) return fullAt - now;
		this.#fullAt.delete(key);
		return 0;
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
