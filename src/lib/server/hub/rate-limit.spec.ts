import { describe, expect, it } from 'vitest';
import { RateLimiter } from './rate-limit';

describe('RateLimiter', () => {
	it('lets a burst through, then refills at the rate', () => {
		const limiter = new RateLimiter({ perSecond: 10, burst: 3, maxViolations: 100 }, 0);
		expect([0, 0, 0, 0].map(() => limiter.take(0).decision)).toEqual(['ok', 'ok', 'ok', 'throttled']);
		expect(limiter.take(100).decision).toBe('ok');
		expect(limiter.take(100).decision).toBe('throttled');
	});

	it('reports the first refusal of a window once and closes a client that keeps flooding', () => {
		const limiter = new RateLimiter({ perSecond: 1, burst: 1, maxViolations: 3, windowMs: 1000 }, 0);
		limiter.take(0);
		expect(limiter.take(0)).toEqual({ decision: 'throttled', first: true });
		expect(limiter.take(0)).toEqual({ decision: 'throttled', first: false });
		limiter.take(0);
		expect(limiter.take(0).decision).toBe('close');
	});

	it('forgives refusals of an earlier window', () => {
		const limiter = new RateLimiter({ perSecond: 1, burst: 1, maxViolations: 2, windowMs: 1000 }, 0);
		limiter.take(0);
		limiter.take(10);
		limiter.take(20);
		expect(limiter.take(2500).decision).toBe('ok');
		expect(limiter.take(2500)).toEqual({ decision: 'throttled', first: true });
	});
});
