/**
 * @module routes/system/sparkline
 * The SVG path of a small line chart: values over a time window into a box, y from 0 to a
 * rounded top, with the line broken where samples are missing (the node was down, the page
 * was asleep) rather than drawn straight across the gap.
 */

export interface SparklineBox {
	/** the window's start and end (ms) */
	from: number;
	to: number;
	width: number;
	height: number;
	/** the value at the top of the box */
	max: number;
	/** a gap between two samples longer than this breaks the line */
	maxGapMs: number;
}

/** `M x y L x y …` for the points inside the window; empty when there are none. */
export function sparklinePath(
	times: readonly number[],
	values: readonly number[],
	box: SparklineBox
): string {
	const span = Math.max(1, box.to - box.from);
	const x = (t: number) => ((t - box.from) / span) * box.width;
	const y = (v: number) => box.height - (Math.max(0, Math.min(v, box.max)) / box.max) * box.height;
	const parts: string[] = [];
	let previous: number | null = null;
	for (let i = 0; i < times.length; i++) {
		const t = times[i]!;
		const v = values[i];
		if (t < box.from || t > box.to || v === undefined || !Number.isFinite(v)) continue;
		const move = previous === null || t - previous > box.maxGapMs;
		parts.push(`${move ? 'M' : 'L'}${round(x(t))} ${round(y(v))}`);
		previous = t;
	}
	return parts.join(' ');
}

/** A round top for a chart whose highest value is `value`: 1, 2 or 5 times a power of ten, at least `floor`. */
export function niceMax(value: number, floor = 1): number {
	const v = Math.max(value, floor);
	const power = 10 ** Math.floor(Math.log10(v));
	for (const step of [1, 2, 5, 10]) if (v <= step * power) return step * power;
	return 10 * power;
}

function round(n: number): number {
	return Math.round(n * 10) / 10;
}
