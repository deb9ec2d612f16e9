import { describe, expect, it } from 'vitest';
import { defaultSide, otherSide, overlaps } from './toast-dodge';

describe('toast dodge', () => {
	it('moves toasts across on a wide screen and between bottom and top on a narrow one', () => {
		expect(defaultSide(1280)).toBe('bottom-left');
		expect(otherSide('bottom-left', 1280)).toBe('bottom-right');
		expect(otherSide('bottom-right', 1280)).toBe('bottom-left');
		expect(defaultSide(390)).toBe('bottom-center');
		expect(otherSide('bottom-center', 390)).toBe('top-center');
		expect(otherSide('top-center', 390)).toBe('bottom-center');
	});

	it('tells overlapping boxes from ones that only touch', () => {
		const box = { left: 0, top: 0, right: 10, bottom: 10 };
		expect(overlaps(box, { left: 5, top: 5, right: 20, bottom: 20 })).toBe(true);
		expect(overlaps(box, { left: 10, top: 0, right: 20, bottom: 10 })).toBe(false);
	});
});
