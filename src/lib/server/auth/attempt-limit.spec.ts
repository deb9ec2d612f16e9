import { describe, expect, it } from 'vitest';
import { AttemptLimit, clientKey } from './attempt-limit';

function limited(perMinute: number, maxClients?: number) {
	const clock = { ms: 1_000_000 };
	const limit = new AttemptLimit({ perMinute, maxClients, now: () => clock.ms });
	return { limit, clock };
}

describe('AttemptLimit', () => {
	it('lets a client present `perMinute` wrong tokens at once, then one more every 60/perMinute s', () => {
		const { limit, clock } = limited(10);
		const outcomes = Array.from({ length: 10 }, () => {
			expect(limit.retryAfterMs('203.0.113.7')).toBe(0);
			return limit.failed('203.0.113.7');
		});
		expect(outcomes[0]).toEqual({ first: true, exhausted: false });
		expect(outcomes.slice(1, 9).every((o) => !o.first && !o.exhausted)).toBe(true);
		expect(outcomes[9]).toEqual({ first: false, exhausted: true });
		expect(limit.retryAfterMs('203.0.113.7')).toBe(6_000);
		clock.ms += 4_000;
		expect(limit.retryAfterMs('203.0.113.7')).toBe(2_000);
		clock.ms += 2_000;
		expect(limit.retryAfterMs('203.0.113.7')).toBe(0);
		// one try came back: the next wrong one spends it (running out again is no news)
		expect(limit.failed('203.0.113.7')).toEqual({ first: false, exhausted: false });
		expect(limit.retryAfterMs('203.0.113.7')).toBe(6_000);
		// all back after a minute: running out is news again
		clock.ms += 60_000;
		for (let i = 0; i < 9; i++) limit.failed('203.0.113.7');
		expect(limit.failed('203.0.113.7')).toEqual({ first: false, exhausted: true });
	});

	it('lets a token taken from an address within the hour through while the address waits', () => {
		const { limit, clock } = limited(2);
		limit.took('198.51.100.7', 'tok_ci');
		limit.failed('198.51.100.7');
		limit.failed('198.51.100.7');
		expect(limit.retryAfterMs('198.51.100.7')).toBeGreaterThan(0);
		expect(limit.proven('198.51.100.7', 'tok_ci')).toBe(true);
		expect(limit.proven('198.51.100.7', 'tok_other')).toBe(false);
		expect(limit.proven('198.51.100.8', 'tok_ci')).toBe(false);
		clock.ms += 60 * 60_000;
		expect(limit.proven('198.51.100.7', 'tok_ci')).toBe(false);
		// nothing left to remember about it
		expect(limit.size).toBe(0);
	});

	it('closes the pass for proven tokens once wrong ones, counted on while the address waits, reach twice its tries', () => {
		const { limit, clock } = limited(2);
		limit.took('198.51.100.9', 'tok_ci');
		limit.failed('198.51.100.9');
		limit.failed('198.51.100.9');
		expect(limit.retryAfterMs('198.51.100.9')).toBe(30_000);
		// a guesser behind the same address goes on: two more are counted, then the pass closes
		limit.failed('198.51.100.9');
		expect(limit.proven('198.51.100.9', 'tok_ci')).toBe(true);
		limit.failed('198.51.100.9');
		expect(limit.proven('198.51.100.9', 'tok_ci')).toBe(false);
		// what it owes stops at twice its tries: the wait is bounded
		for (let i = 0; i < 100; i++) limit.failed('198.51.100.9');
		expect(limit.retryAfterMs('198.51.100.9')).toBe(90_000);
		clock.ms += 30_000;
		expect(limit.proven('198.51.100.9', 'tok_ci')).toBe(true);
	});

	it('makes room from an address that owes nothing before one that waits', () => {
		const { limit } = limited(1, 3);
		limit.failed('192.0.2.2');
		limit.took('192.0.2.1', 'tok');
		limit.failed('192.0.2.3');
		limit.failed('192.0.2.4');
		expect(limit.size).toBe(3);
		expect(limit.proven('192.0.2.1', 'tok')).toBe(false);
		for (const address of ['192.0.2.2', '192.0.2.3', '192.0.2.4'])
			expect(limit.retryAfterMs(address), address).toBeGreaterThan(0);
	});

	it('counts each address on its own, and forgets one whose tries have all come back', () => {
		const { limit, clock } = limited(2);
		limit.failed('198.51.100.1');
		limit.failed('198.51.100.1');
		expect(limit.retryAfterMs('198.51.100.1')).toBe(30_000);
		expect(limit.retryAfterMs('198.51.100.2')).toBe(0);
		expect(limit.size).toBe(1);
		clock.ms += 60_000;
		expect(limit.retryAfterMs('198.51.100.1')).toBe(0);
		expect(limit.size).toBe(0);
		expect(limit.failed('198.51.100.1').first).toBe(true);
	});

	it('counts an IPv6 host by its /64, and an IPv4 address written as IPv6 as itself', () => {
		const { limit } = limited(2);
		limit.failed('2001:db8:1:2::1');
		limit.failed('2001:0db8:0001:0002:ffff:ffff:ffff:fffe');
		expect(limit.retryAfterMs('2001:db8:1:2:abcd::9')).toBeGreaterThan(0);
		expect(limit.retryAfterMs('2001:db8:1:3::1')).toBe(0);
		expect(clientKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
		expect(clientKey('::1')).toBe('0:0:0:0::/64');
		expect(clientKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
	});

	it('keeps at most maxClients addresses, making way from the one heard from least recently', () => {
		const { limit } = limited(1, 3);
		for (const address of ['192.0.2.1', '192.0.2.2', '192.0.2.3']) limit.failed(address);
		// heard from again: now the most recent
		limit.failed('192.0.2.1');
		limit.failed('192.0.2.4');
		expect(limit.size).toBe(3);
		expect(limit.retryAfterMs('192.0.2.2')).toBe(0);
		for (const address of ['192.0.2.1', '192.0.2.3', '192.0.2.4'])
			expect(limit.retryAfterMs(address), address).toBeGreaterThan(0);
	});
});
