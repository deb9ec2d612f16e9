/**
 * @module logview/highlight
 * Splits a line's styled spans at search-match boundaries, so a match is marked in place
 * without losing its colours. Offsets are into the display text (the spans' concatenation).
 */

export interface Marked<S> {
	span: S;
	text: string;
	/** -1 outside a match, else the index of the match range on this line */
	match: number;
}

export function markRanges<S extends { text: string }>(
	spans: readonly S[],
	ranges: readonly (readonly [number, number])[]
): Marked<S>[] {
	const out: Marked<S>[] = [];
	let offset = 0;
	for (const span of spans) {
		const end = offset + span.text.length;
		let cursor = offset;
		for (let r = 0; r < ranges.length && cursor < end; r++) {
			const [from, to] = ranges[r];
			if (to <= cursor || from >= end || to <= from) continue;
			if (from > cursor) out.push({ span, text: span.text.slice(cursor - offset, from - offset), match: -1 });
			const stop = Math.min(to, end);
			out.push({ span, text: span.text.slice(Math.max(from, cursor) - offset, stop - offset), match: r });
			cursor = stop;
		}
		if (cursor < end) out.push({ span, text: span.text.slice(cursor - offset), match: -1 });
		offset = end;
	}
	return out;
}
