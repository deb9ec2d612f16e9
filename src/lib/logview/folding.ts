/**
 * @module logview/folding
 * Folding math: which line numbers a set of collapsed `::group::` sections, the progress-bar
 * runs and workflow command lines hide, and the mapping between view rows (0-based, hidden lines skipped) and line numbers
 * (1-based). A group shows its first line (the toggle); a run, always folded, shows its last (the
 * bar's newest state).
 * Both directions are binary searches over the merged hidden ranges, so a log with thousands of
 * folded groups still maps a scroll position in microseconds.
 */
import type { LogCommandRange, LogGroup, LogProgressRun } from './types';

/**
 * lines `from..to` (inclusive) are hidden; `shownAfter`: a hidden line is shown by the row after
 * the range (a progress run's newest line) instead of the one before (a group's toggle)
 */
export interface HiddenRange {
	from: number;
	to: number;
	shownAfter?: boolean;
}

/**
 * The lines hidden by collapsed groups: a collapsed group keeps its `::group::` line (the fold
 * toggle) and hides the rest through its `::endgroup::`; an open-ended group hides to `total`.
 * Nested ranges merge into the outer one.
 */
export function hiddenRanges(
	groups: readonly LogGroup[],
	collapsed: ReadonlySet<number>,
	total: number,
	progress: readonly LogProgressRun[] = [],
	commands: readonly LogCommandRange[] = []
): HiddenRange[] {
	const raw: HiddenRange[] = [];
	// workflow command lines (`::progress`, `::endgroup::`, …) take no row at all
	for (const range of commands) {
		const to = Math.min(range.end, total);
		if (to >= range.start) raw.push({ from: range.start, to });
	}
	for (const group of groups) {
		if (!collapsed.has(group.start)) continue;
		const to = Math.min(group.end ?? total, total);
		if (to > group.start) raw.push({ from: group.start + 1, to });
	}
	// a run hides all but its last line; an open one reaches the newest line so far
	for (const run of progress) {
		const last = Math.min(run.end ?? total, total);
		if (last > run.start) raw.push({ from: run.start, to: last - 1, shownAfter: true });
	}
	raw.sort((a, b) => a.from - b.from);
	const merged: HiddenRange[] = [];
	for (const range of raw) {
		const prev = merged.at(-1);
		// ranges that touch stay apart when they show their lines on different sides (a run right
		// after a folded group); overlapping ones merge into the outer, which decides
		const touches = (p: HiddenRange) => range.from === p.to + 1 && range.shownAfter === p.shownAfter;
		if (prev && (range.from <= prev.to || touches(prev))) prev.to = Math.max(prev.to, range.to);
		else merged.push({ ...range });
	}
	return merged;
}

export class FoldMap {
	readonly #ranges: HiddenRange[];
	/** lines hidden before range i */
	readonly #before: number[];
	readonly #hidden: number;

	constructor(ranges: HiddenRange[] = []) {
		this.#ranges = ranges;
		this.#before = [];
		let sum = 0;
		for (const range of ranges) {
			this.#before.push(sum);
			sum += range.to - range.from + 1;
		}
		this.#hidden = sum;
	}

	get empty(): boolean {
		return this.#ranges.length === 0;
	}

	/** Rows shown for a log of `total` lines. */
	rowCount(total: number): number {
		let hidden = 0;
		for (let i = this.#ranges.length - 1; i >= 0; i--) {
			const range = this.#ranges[i];
			if (range.from > total) continue;
			hidden = this.#before[i] + Math.min(range.to, total) - range.from + 1;
			break;
		}
		return Math.max(0, total - hidden);
	}

	/** The line number shown at `row` (0-based). */
	rowToLine(row: number): number {
		const visible = row + 1;
		// last range whose start comes after fewer than `visible` shown lines
		let lo = 0;
		let hi = this.#ranges.length - 1;
		let found = -1;
		while (lo <= hi) {
			const mid = (lo + hi) >> 1;
			if (this.#ranges[mid].from - 1 - this.#before[mid] < visible) {
				found = mid;
				lo = mid + 1;
			} else hi = mid - 1;
		}
		if (found < 0) return visible;
		const range = this.#ranges[found];
		return visible + this.#before[found] + (range.to - range.from + 1);
	}

	/** The row that shows line `n`; a hidden line maps to the row of its group's toggle. */
	lineToRow(n: number): number {
		let lo = 0;
		let hi = this.#ranges.length - 1;
		let found = -1;
		while (lo <= hi) {
			const mid = (lo + hi) >> 1;
			if (this.#ranges[mid].from <= n) {
				found = mid;
				lo = mid + 1;
			} else hi = mid - 1;
		}
		if (found < 0) return n - 1;
		const range = this.#ranges[found];
		// a hidden line shows as the row before its range (a line hidden from line 1: the first row)
		if (n <= range.to) return Math.max(0, range.from - (range.shownAfter ? 1 : 2) - this.#before[found]);
		return n - 1 - (this.#before[found] + range.to - range.from + 1);
	}

	/** Whether line `n` is inside a collapsed group or is a progress run's older state. */
	isHidden(n: number): boolean {
		return this.#covers(n);
	}

	get hiddenTotal(): number {
		return this.#hidden;
	}

	#covers(n: number): boolean {
		let lo = 0;
		let hi = this.#ranges.length - 1;
		while (lo <= hi) {
			const mid = (lo + hi) >> 1;
			const range = this.#ranges[mid];
			if (n < range.from) hi = mid - 1;
			else if (n > range.to) lo = mid + 1;
			else return true;
		}
		return false;
	}
}
