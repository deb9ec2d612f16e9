import { describe, expect, it } from 'vitest';
import { Backoff, backoffWindow, fullJitterDelay } from './backoff';

describe('backoff', () => {
	it('doubles the window from the base until it reaches the cap', () => {
		const windows = [0, 1, 2, 3, 4, 5, 6, 7].map((n) => backoffWindow(n, 500, 30_000));
		expect(windows).toEqual([500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000]);
	});

	it('stays at the cap for very large attempt numbers', () => {
		expect(backoffWindow(5000, 500, 30_000)).toBe(30_000);
	});

	it('spreads delays over the whole window (full jitter)', () => {
		expect(fullJitterDelay(3, { random: () => 0 })).toBe(0);
		expect(fullJitterDelay(3, { random: () => 0.5 })).toBe(2000);
		expect(fullJitterDelay(3, { random: () => 0.999_999 })).toBe(3999);
	});

	it('never waits longer than the cap', () => {
		const delays = Array.from({ length: 40 }, (_, n) =>
			fullJitterDelay(n, { random: () => 0.999_999, capMs: 5000 })
		);
		expect(Math.max(...delays)).toBeLessThan(5000);
	});

	it('hands out growing windows per attempt and starts over after reset', () => {
		const backoff = new Backoff({ random: () => 0.5 });
		expect([backoff.next(), backoff.next(), backoff.next()]).toEqual([250, 500, 1000]);
		expect(backoff.attempt).toBe(3);
		backoff.reset();
		expect(backoff.attempt).toBe(0);
		expect(backoff.next()).toBe(250);
	});

	it('gives up after the attempt limit', () => {
		const backoff = new Backoff({ maxAttempts: 2, random: () => 0.5 });
		expect(backoff.next()).not.toBeNull();
		expect(backoff.next()).not.toBeNull();
		expect(backoff.exhausted).toBe(true);
		expect(backoff.next()).toBeNull();
	});

	it('never gives up by default', () => {
		const backoff = new Backoff({ random: () => 0 });
		for (let i = 0; i < 1000; i++) expect(backoff.next()).toBe(0);
		expect(backoff.exhausted).toBe(false);
	});
});
