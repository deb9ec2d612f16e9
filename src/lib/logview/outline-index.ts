/**
 * @module logview/outline-index
 * Lookups over an outline, rebuilt whenever it is replaced (never mutated after), and the
 * folded-group set's updates, each returning a new set.
 */
import type { LogAnnotation, LogGroup, LogProgressRun, LogSearchMatch } from './types';

export function groupsByStart(groups: readonly LogGroup[]): ReadonlyMap<number, LogGroup> {
	return new Map(groups.map((g) => [g.start, g]));
}

export function groupEnds(groups: readonly LogGroup[]): ReadonlySet<number> {
	return new Set(groups.flatMap((g) => (g.end === null ? [] : [g.end])));
}

export function annotationsByLine(annotations: readonly LogAnnotation[]): ReadonlyMap<number, LogAnnotation> {
	return new Map(annotations.map((a) => [a.line, a]));
}

export function rangesByLine(matches: readonly LogSearchMatch[]): ReadonlyMap<number, [number, number][]> {
	return new Map(matches.map((m) => [m.line, m.ranges]));
}

/** `set` with `value` added, or removed when it was there. */
export function toggled(set: ReadonlySet<number>, value: number): ReadonlySet<number> {
	const next = new Set(set);
	if (!next.delete(value)) next.add(value);
	return next;
}

/** `collapsed` without the groups that hide `line`. */
export function revealing(
	collapsed: ReadonlySet<number>,
	groups: readonly LogGroup[],
	line: number
): ReadonlySet<number> {
	const next = new Set(collapsed);
	for (const group of groups) {
		if (group.start < line && (group.end === null || line <= group.end)) next.delete(group.start);
	}
	return next;
}

/** A stored list of folded group starts; anything else is ignored. */
export function parseCollapsed(raw: string | null | undefined): ReadonlySet<number> {
	try {
		const list: unknown = raw ? JSON.parse(raw) : [];
		return new Set(Array.isArray(list) ? list.filter((n): n is number => Number.isInteger(n)) : []);
	} catch {
		return new Set();
	}
}

export const NO_LINES: ReadonlySet<number> = new Set();

/**
 * The server's progress runs with what live lines showed since (runs opened, runs ended), which
 * the outline learns only at its next load: an open run ends at the first live close after it.
 */
export function mergeProgress(
	server: readonly LogProgressRun[],
	liveStarts: readonly number[],
	liveCloses: readonly number[]
): LogProgressRun[] {
	const ends = new Map<number, number | null>(server.map((run) => [run.start, run.end]));
	for (const start of liveStarts) if (!ends.has(start)) ends.set(start, null);
	const closes = [...liveCloses].sort((a, b) => a - b);
	return [...ends]
		.sort((a, b) => a[0] - b[0])
		.map(([start, end]) => ({ start, end: end ?? firstAtLeast(closes, start) }));
}

function firstAtLeast(sorted: readonly number[], value: number): number | null {
	let lo = 0;
	let hi = sorted.length;
	while (lo < hi) {
		const mid = (lo + hi) >> 1;
		if (sorted[mid] < value) lo = mid + 1;
		else hi = mid;
	}
	return lo < sorted.length ? sorted[lo] : null;
}
