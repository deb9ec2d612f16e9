import { describe, expect, it } from 'vitest';
import { niceMax, sparklinePath } from './sparkline';

const box = { from: 0, to: 100, width: 200, height: 50, max: 10, maxGapMs: 30 };

describe('sparklinePath', () => {
	it('maps time to x and value to y, 0 at the bottom and max at the top', () => {
		expect(sparklinePath([0, 50, 100], [0, 5, 10], { ...box, maxGapMs: 60 })).toBe('M0 50 L100 25 L200 0');
	});

	it('breaks the line across a gap in the samples and leaves out points outside the window', () => {
		expect(sparklinePath([-10, 0, 20, 80, 100], [1, 0, 0, 10, 10], box)).toBe('M0 50 L40 50 M160 0 L200 0');
	});

	it('keeps values above the top inside the box and draws nothing without points', () => {
		expect(sparklinePath([100], [99], box)).toBe('M200 0');
		expect(sparklinePath([], [], box)).toBe('');
	});
});

describe('niceMax', () => {
	it('rounds up to 1, 2 or 5 times a power of ten', () => {
		expect([0, 0.4, 1, 1.2, 3, 7, 12, 180, 4_000_000].map((v) => niceMax(v))).toEqual([
			1, 1, 1, 2, 5, 10, 20, 200, 5_000_000
		]);
		expect(niceMax(0.02, 0.01)).toBe(0.02);
	});
});
