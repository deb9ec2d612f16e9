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

describe('folding progress runs', () => {
	it('shows a run as one row, its last line, and maps its hidden lines to that row', () => {
		// lines 3-6 are one progress bar (3, 4, 5 snapshots, 6 its final state)
		const map = new FoldMap(hiddenRanges([], new Set(), 10, [{ start: 3, end: 6 }]));
		expect(map.rowCount(10)).toBe(7);
		const shown = Array.from({ length: 7 }, (_, row) => map.rowToLine(row));
		expect(shown).toEqual([1, 2, 6, 7, 8, 9, 10]);
		shown.forEach((line, row) => expect(map.lineToRow(line)).toBe(row));
		expect(map.lineToRow(3)).toBe(2);
		expect(map.lineToRow(5)).toBe(2);
		expect(map.isHidden(4)).toBe(true);
		expect(map.isHidden(6)).toBe(false);
	});

	it('shows an open run as its newest line so far', () => {
		const runs = [{ start: 4, end: null }];
		expect(new FoldMap(hiddenRanges([], new Set(), 4, runs)).rowCount(4)).toBe(4);
		const map = new FoldMap(hiddenRanges([], new Set(), 7, runs));
		expect(map.rowCount(7)).toBe(4);
		expect(map.rowToLine(3)).toBe(7);
	});

	it('keeps a run right after a folded group as its own row', () => {
		// group 2-5 folded (shows 2), run 6-8 (shows 8), then a second group 9-10 open
		const folded = [
			{ name: 'g', start: 2, end: 5 },
			{ name: 'h', start: 9, end: 10 }
		];
		const map = new FoldMap(hiddenRanges(folded, new Set([2]), 12, [{ start: 6, end: 8 }]));
		const shown = Array.from({ length: map.rowCount(12) }, (_, row) => map.rowToLine(row));
		expect(shown).toEqual([1, 2, 8, 9, 10, 11, 12]);
		expect(map.lineToRow(4)).toBe(1);
		expect(map.lineToRow(7)).toBe(2);
		shown.forEach((line, row) => expect(map.lineToRow(line)).toBe(row));
	});

	it('lets a folded group hide the runs inside it', () => {
		const map = new FoldMap(
			hiddenRanges([{ name: 'g', start: 2, end: 9 }], new Set([2]), 12, [{ start: 4, end: 6 }])
		);
		const shown = Array.from({ length: map.rowCount(12) }, (_, row) => map.rowToLine(row));
		expect(shown).toEqual([1, 2, 10, 11, 12]);
		expect(map.lineToRow(5)).toBe(1);
	});
});
