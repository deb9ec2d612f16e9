import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { clientAddressOf, parseTrustedProxies } from './client-address';

/** a request from `peer`, with `X-Forwarded-For` when given */
function request(peer: string | undefined, forwardedFor?: string): IncomingMessage {
	const headers = forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor };
	return {
		socket: { remoteAddress: peer },
		connection: { remoteAddress: peer },
		headers
	} as unknown as IncomingMessage;
}

describe('clientAddressOf', () => {
	const byDefault = clientAddressOf(parseTrustedProxies(undefined));
	const viaLoopback = clientAddressOf(parseTrustedProxies('loopback'));

	it('believes no header by default', () => {
		expect(byDefault(request('127.0.0.1', '203.0.113.5'))).toBe('127.0.0.1');
		expect(byDefault(request('203.0.113.9', '198.51.100.1'))).toBe('203.0.113.9');
	});

	it('takes the client a trusted proxy on loopback forwards', () => {
		expect(viaLoopback(request('127.0.0.1', '203.0.113.5'))).toBe('203.0.113.5');
		expect(viaLoopback(request('::1', '2001:db8::7'))).toBe('2001:db8::7');
		expect(viaLoopback(request('::ffff:127.0.0.1', '203.0.113.5'))).toBe('203.0.113.5');
	});

	it('reads the header from the right: what a client wrote before its proxy added the real address is not believed', () => {
		// nginx's $proxy_add_x_forwarded_for appends the address it saw to what the client sent
		expect(viaLoopback(request('127.0.0.1', '198.51.100.1, 203.0.113.5'))).toBe('203.0.113.5');
		// through two trusted proxies, the first untrusted address from the right
		const chain = clientAddressOf(['loopback', '10.0.0.0/8']);
		expect(chain(request('127.0.0.1', '198.51.100.1, 203.0.113.5, 10.1.2.3'))).toBe('203.0.113.5');
	});

	it('ignores the header from a peer it does not trust, and keeps a trusted peer that forwards none', () => {
		expect(viaLoopback(request('203.0.113.9', '198.51.100.1'))).toBe('203.0.113.9');
		expect(viaLoopback(request('127.0.0.1'))).toBe('127.0.0.1');
		const none = clientAddressOf(parseTrustedProxies(''));
		expect(none(request('127.0.0.1', '203.0.113.5'))).toBe('127.0.0.1');
	});

	it('keeps the peer when a trusted proxy forwards something that is no address', () => {
		expect(viaLoopback(request('127.0.0.1', 'foo bar <x>'))).toBe('127.0.0.1');
		expect(viaLoopback(request('127.0.0.1', '203.0.113.5, not-an-ip'))).toBe('127.0.0.1');
	});

	it('answers for a closed socket, which has no address', () => {
		expect(byDefault(request(undefined, '203.0.113.5'))).toBe('unknown');
	});
});

describe('parseTrustedProxies', () => {
	it('reads addresses, ranges and the named sets, and names the variable and the entry it cannot read', () => {
		expect(parseTrustedProxies(' 10.0.0.0/8, loopback ,fd00::/8,')).toEqual([
			'10.0.0.0/8',
			'loopback',
			'fd00::/8'
		]);
		expect(parseTrustedProxies('')).toEqual([]);
		expect(() => parseTrustedProxies('loopback, proxy.internal')).toThrow(
			/ACO_TRUSTED_PROXIES: "proxy.internal" is not an IP address, a CIDR range/
		);
		expect(() => parseTrustedProxies('10.0.0.0/40')).toThrow(/ACO_TRUSTED_PROXIES: "10.0.0.0\/40"/);
	});
});
