import { describe, expect, it } from 'vitest';
import { FoldMap, hiddenRanges } from './folding';

const groups = [
	{ name: 'a', start: 3, end: 6 },
	{ name: 'b', start: 10, end: 20 },
	{ name: 'inner', start: 12, end: 15 },
	{ name: 'open', start: 30, end: null }
];

describe('folding', () => {
	it('hides a collapsed group after its toggle line, through its end', () => {
		expect(hiddenRanges(groups, new Set([3]), 40)).toEqual([{ from: 4, to: 6 }]);
	});

	it('merges a collapsed group inside another collapsed group', () => {
		expect(hiddenRanges(groups, new Set([10, 12]), 40)).toEqual([{ from: 11, to: 20 }]);
	});

	it('hides an open group up to the last line so far', () => {
		expect(hiddenRanges(groups, new Set([30]), 40)).toEqual([{ from: 31, to: 40 }]);
		expect(hiddenRanges(groups, new Set([30]), 50)).toEqual([{ from: 31, to: 50 }]);
	});

	it('maps rows to lines and back around folded groups', () => {
		const map = new FoldMap(hiddenRanges(groups, new Set([3, 10]), 40));
		// rows show lines 1-3, 7-10, 21-40
		expect(map.rowCount(40)).toBe(40 - 3 - 10);
		const shown = Array.from({ length: map.rowCount(40) }, (_, row) => map.rowToLine(row));
		expect(shown).toEqual([1, 2, 3, 7, 8, 9, 10, ...Array.from({ length: 20 }, (_, i) => 21 + i)]);
		shown.forEach((line, row) => expect(map.lineToRow(line)).toBe(row));
	});

	it('maps a hidden line to the row of its group toggle', () => {
		const map = new FoldMap(hiddenRanges(groups, new Set([10]), 40));
		expect(map.lineToRow(15)).toBe(map.lineToRow(10));
		expect(map.isHidden(15)).toBe(true);
		expect(map.isHidden(10)).toBe(false);
		expect(map.isHidden(21)).toBe(false);
	});

	it('maps a million rows without folds one to one', () => {
		const map = new FoldMap();
		expect(map.rowCount(1_000_000)).toBe(1_000_000);
		expect(map.rowToLine(499_999)).toBe(500_000);
		expect(map.lineToRow(500_000)).toBe(499_999);
	});
});
