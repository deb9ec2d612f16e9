import { describe, expect, it } from 'vitest';
import {
	SETTLE_MS,
	ScrollAnchor,
	isScaled,
	rowOffset,
	scrollTopFor,
	spacerHeight,
	topRowAt
} from './scroll-scale';

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
			expect(anchor.scrolled(reading, at(600_000), 0)).toBe(true);
			// left alone, the same offset shows a row further down with every line that arrives
			expect(Math.round(shown(reading, 601_000))).toBe(300_500);
			expect(Math.round(shown(reading, 610_000))).toBe(305_000);

			let scrollTop = reading;
			for (let rows = 600_001; rows <= 610_000; rows += 7) {
				const target = anchor.reanchor(at(rows), SETTLE_MS);
				expect(target).not.toBeNull();
				scrollTop = Math.round(target!);
				// the scroll event the write causes is not the reader's: the anchor stays
				expect(anchor.scrolled(scrollTop, at(rows), 0)).toBe(false);
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
			expect(anchor.scrolled(spacerHeight(at(600_000)) - 400, at(600_000), 0)).toBe(false);
			expect(anchor.scrolled(scrollTopFor(1_000, at(600_000)), at(600_000), 0)).toBe(true);
			expect(anchor.row).toBeCloseTo(1_000, 6);
			const target = anchor.reanchor(at(700_000), SETTLE_MS);
			expect(topRowAt(target!, at(700_000))).toBeCloseTo(1_000, 6);
			// no new rows: nothing to write
			expect(anchor.reanchor(at(700_000), SETTLE_MS)).toBeNull();
			// fewer rows than the anchor's: the top row goes no further down than the last page allows
			anchor.wrote(scrollTopFor(650_000, at(700_000)), at(700_000));
			expect(anchor.topIn(at(600_001))).toBe(600_001 - 20);
		});

		it('holds the row while a scroll settles, and writes its offset only once it has come to rest', () => {
			const anchor = new ScrollAnchor();
			const reading = Math.round(scrollTopFor(300_000, at(600_000)));
			anchor.scrolled(reading, at(600_000), 1_000);
			const start = anchor.row;
			// 750 rows arrive in the next 150 ms (10,000 lines/s): the row drawn on top stays, and the
			// offset is not written under a scroll that may still be moving
			expect(anchor.reanchor(at(600_750), 1_150)).toBeNull();
			expect(anchor.topIn(at(600_750))).toBeCloseTo(start, 6);
			// at rest: the offset that shows the same row at the new count
			const target = anchor.reanchor(at(600_750), 1_000 + SETTLE_MS);
			expect(topRowAt(target!, at(600_750))).toBeCloseTo(start, 6);
		});

		it('moves the row by what the reader scrolled when lines arrived since the offset was matched', () => {
			const anchor = new ScrollAnchor();
			const reading = Math.round(scrollTopFor(300_000, at(600_000)));
			anchor.scrolled(reading, at(600_000), 1_000);
			const start = anchor.row;
			// a fling goes on while 10,000 rows arrive: each of its events moves the row by its own
			// pixels, not to the row its offset stands for at the new count (5,000 rows further down)
			const g = at(610_000);
			const perPx = (g.rows - 20) / (spacerHeight(g) - 400);
			expect(anchor.scrolled(reading - 100, g, 1_050)).toBe(true);
			expect(anchor.row).toBeCloseTo(start - 100 * perPx, 3);
			expect(anchor.scrolled(reading - 300, g, 1_100)).toBe(true);
			expect(anchor.row).toBeCloseTo(start - 300 * perPx, 3);
			expect(anchor.topIn(g)).toBeCloseTo(start - 300 * perPx, 3);
			// at rest the offset is matched to the new count, and the next scroll reads from it again
			const target = anchor.reanchor(g, 1_100 + SETTLE_MS);
			expect(topRowAt(target!, g)).toBeCloseTo(start - 300 * perPx, 3);
			anchor.scrolled(target!, g, 2_000);
			anchor.scrolled(scrollTopFor(1_000, g), g, 2_050);
			expect(anchor.row).toBeCloseTo(1_000, 6);
			// a scroll to the very top is the first row, whatever arrived
			anchor.scrolled(0, at(620_000), 2_100);
			expect(anchor.row).toBe(0);
		});

		it("follow, grow, pause: the row on top is the one shown while following (± the wheel's move)", () => {
			// the view's calls: following writes the end's offset, which stays the same once scaled
			const anchor = new ScrollAnchor();
			const bottom = spacerHeight(at(600_000)) - 400;
			anchor.atEnd(at(600_000));
			anchor.wrote(bottom, at(600_000));
			anchor.scrolled(bottom, at(600_000), 0);
			// 1,000 lines arrive while following: no new offset, the anchor is kept at the end
			for (let rows = 600_100; rows <= 601_000; rows += 100) anchor.atEnd(at(rows));
			const g = at(601_000);
			const shown = topRowAt(bottom, g);
			// a wheel turned up pauses: the row drawn on top is the one shown, not where following began
			anchor.input(10_000);
			expect(anchor.reanchor(g, 10_000)).toBeNull();
			expect(anchor.topIn(g)).toBeCloseTo(shown, 6);
			// and the wheel's scroll moves it by its 100 px (about 6 rows), not 1,000 rows back
			anchor.scrolled(bottom - 100, g, 10_016);
			const perPx = (g.rows - 20) / (spacerHeight(g) - 400);
			expect(anchor.topIn(g)).toBeCloseTo(shown - 100 * perPx, 3);
			expect(shown - anchor.topIn(g)).toBeLessThan(10);
		});

		it('counts input as movement: no write right after a wheel or touch', () => {
			const anchor = new ScrollAnchor();
			anchor.wrote(scrollTopFor(300_000, at(600_000)), at(600_000));
			anchor.input(5_000);
			expect(anchor.reanchor(at(601_000), 5_100)).toBeNull();
			expect(anchor.reanchor(at(601_000), 5_000 + SETTLE_MS)).not.toBeNull();
		});

		it('leaves an unscaled view alone: an offset is a row there', () => {
			const anchor = new ScrollAnchor();
			anchor.scrolled(20_000, at(10_000), 0);
			expect(anchor.reanchor(at(20_000), SETTLE_MS)).toBeNull();
			expect(anchor.row).toBe(1_000);
		});
	});
});
