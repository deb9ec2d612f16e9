import { describe, expect, it } from 'vitest';
import { isScaled, rowOffset, scrollTopFor, spacerHeight, topRowAt } from './scroll-scale';

describe('scroll-scale', () => {
	const small = { rows: 1000, rowHeight: 20, viewportHeight: 400 };
	const huge = { rows: 5_000_000, rowHeight: 20, viewportHeight: 400, maxPx: 10_000_000 };

	it('maps rows to pixels one to one while the space fits', () => {
		expect(isScaled(small)).toBe(false);
		expect(spacerHeight(small)).toBe(20_000);
		expect(topRowAt(2000, small)).toBe(100);
		expect(scrollTopFor(100, small)).toBe(2000);
		expect(rowOffset(105, 2000, small)).toBe(2100);
	});

	it('scales a space taller than the browser allows, reaching the first and last rows', () => {
		expect(isScaled(huge)).toBe(true);
		expect(spacerHeight(huge)).toBe(10_000_000);
		expect(topRowAt(0, huge)).toBe(0);
		const bottom = spacerHeight(huge) - huge.viewportHeight;
		expect(topRowAt(bottom, huge)).toBe(huge.rows - huge.viewportHeight / huge.rowHeight);
		expect(Math.round(topRowAt(scrollTopFor(2_500_000, huge), huge))).toBe(2_500_000);
		// the top row is drawn at the top of the viewport
		expect(rowOffset(Math.floor(topRowAt(bottom / 2, huge)), bottom / 2, huge)).toBeLessThanOrEqual(
			bottom / 2
		);
	});
});
