import { describe, expect, it } from 'vitest';
import { DEFAULT_SIDE, otherSide, overlaps } from './toast-dodge';

describe('toast dodge', () => {
	it("moves toasts between bottom and top, always on the right (clear of a log's line numbers)", () => {
		expect(DEFAULT_SIDE).toBe('bottom-right');
		expect(otherSide('bottom-right')).toBe('top-right');
		expect(otherSide('top-right')).toBe('bottom-right');
	});

	it('tells overlapping boxes from ones that only touch', () => {
		const box = { left: 0, top: 0, right: 10, bottom: 10 };
		expect(overlaps(box, { left: 5, top: 5, right: 20, bottom: 20 })).toBe(true);
		expect(overlaps(box, { left: 10, top: 0, right: 20, bottom: 10 })).toBe(false);
	});
});
