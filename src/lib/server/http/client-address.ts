/**
 * @module http/client-address
 * The address a request comes from, as the per-address limits (WebSocket connections, regex
 * searches of open access) and the logs count it. Behind a reverse proxy every request's peer is
 * the proxy, so a whole team would share one address's limits. When the peer is a trusted proxy
 * (ACO_TRUSTED_PROXIES, none by default: any program on a trusted address could name itself
 * anyone, and without a proxy there a loopback forwarder such as `ssh -L` passes a client's own
 * header on), the client is the nearest address in `X-Forwarded-For` that is not itself a
 * trusted proxy, read from the right as Express's `trust proxy` reads it (proxy-addr). From any
 * other peer the header is ignored: anyone can send one.
 *
 * @example
 * const clientAddress = clientAddressOf(['loopback']);
 * clientAddress(req) // '203.0.113.7' for a request from 127.0.0.1 with X-Forwarded-For: 203.0.113.7
 */
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import proxyAddr from 'proxy-addr';

/** no peer is trusted unless named: the README's proxy setup names `loopback` */
export const DEFAULT_TRUSTED_PROXIES: readonly string[] = [];

export type ClientAddressOf = (req: IncomingMessage) => string;

/**
 * The proxies named by ACO_TRUSTED_PROXIES: addresses, CIDR ranges (`10.0.0.0/8`) and the names
 * `loopback`, `linklocal` and `uniquelocal`, comma-separated; empty trusts none.
 * @throws Error naming the variable and the entry when one is none of those
 */
export function parseTrustedProxies(raw: string | undefined): string[] {
	if (raw === undefined) return [...DEFAULT_TRUSTED_PROXIES];
	const entries = raw
		.split(',')
		.map((entry) => entry.trim())
		.filter(Boolean);
	for (const entry of entries) {
		try {
			proxyAddr.compile(entry);
		} catch {
			throw new Error(
				`ACO_TRUSTED_PROXIES: ${JSON.stringify(entry)} is not an IP address, a CIDR range (10.0.0.0/8) ` +
					'or one of loopback, linklocal, uniquelocal'
			);
		}
	}
	return entries;
}

/** How the requests of this server are told apart by address, trusting `proxies` to forward theirs. */
export function clientAddressOf(proxies: readonly string[]): ClientAddressOf {
	const trust = proxyAddr.compile([...proxies]);
	return (req) => {
		const peer = req.socket.remoteAddress;
		// a socket already closed has no address; proxy-addr cannot read one then
		if (!peer) return 'unknown';
		if (proxies.length === 0) return peer;
		let address: string;
		try {
			address = proxyAddr(req, trust);
		} catch {
			return peer;
		}
		// proxy-addr hands back an entry it cannot read as it is: a malformed header counts as the peer's own request
		return isIP(address) ? address : peer;
	};
}
