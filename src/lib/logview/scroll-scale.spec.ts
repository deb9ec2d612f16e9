import { describe, expect, it } from 'vitest';
import { ScrollAnchor, isScaled, rowOffset, scrollTopFor, spacerHeight, topRowAt } from './scroll-scale';

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

	describe('ScrollAnchor', () => {
		const at = (rows: number) => ({ rows, rowHeight: 20, viewportHeight: 400 });
		/** the row a browser shows at the top: it keeps whole pixels of an offset it is given */
		const shown = (scrollTop: number, rows: number) => topRowAt(Math.round(scrollTop), at(rows));

		it('keeps the row a paused reader scrolled to at the top while a scaled log grows', () => {
			const anchor = new ScrollAnchor();
			const reading = Math.round(scrollTopFor(300_000, at(600_000)));
			expect(anchor.scrolled(reading, at(600_000))).toBe(true);
			// left alone, the same offset shows a row further down with every line that arrives
			expect(Math.round(shown(reading, 601_000))).toBe(300_500);
			expect(Math.round(shown(reading, 610_000))).toBe(305_000);

			let scrollTop = reading;
			for (let rows = 600_001; rows <= 610_000; rows += 7) {
				const target = anchor.reanchor(at(rows));
				expect(target).not.toBeNull();
				scrollTop = Math.round(target!);
				// the scroll event the write causes is not the reader's: the anchor stays
				expect(anchor.scrolled(scrollTop, at(rows))).toBe(false);
				expect(Math.abs(shown(scrollTop, rows) - 300_000)).toBeLessThan(0.1);
				// and the rows are drawn from the anchored row itself, not from the rounded offset
				expect(anchor.topIn(at(rows))).toBe(anchor.row);
			}
			expect(anchor.row).toBeCloseTo(shown(reading, 600_000), 6);
		});

		it('moves with the reader, and a jump or the followed end moves it too', () => {
			const anchor = new ScrollAnchor();
			anchor.wrote(spacerHeight(at(600_000)) - 400, at(600_000));
			expect(anchor.row).toBe(600_000 - 20);
			// the echo of the write leaves it; the reader's next scroll moves it
			expect(anchor.scrolled(spacerHeight(at(600_000)) - 400, at(600_000))).toBe(false);
			expect(anchor.scrolled(scrollTopFor(1_000, at(600_000)), at(600_000))).toBe(true);
			expect(anchor.row).toBeCloseTo(1_000, 6);
			const target = anchor.reanchor(at(700_000));
			expect(topRowAt(target!, at(700_000))).toBeCloseTo(1_000, 6);
			// no new rows: nothing to write
			expect(anchor.reanchor(at(700_000))).toBeNull();
			// fewer rows than the anchor's: the top row goes no further down than the last page allows
			anchor.wrote(scrollTopFor(650_000, at(700_000)), at(700_000));
			expect(anchor.topIn(at(600_001))).toBe(600_001 - 20);
		});

		it('leaves an unscaled view alone: an offset is a row there', () => {
			const anchor = new ScrollAnchor();
			anchor.scrolled(20_000, at(10_000));
			expect(anchor.reanchor(at(20_000))).toBeNull();
			expect(anchor.row).toBe(1_000);
		});
	});
});
