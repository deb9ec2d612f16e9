/**
 * @module cli/tui/text
 * Text that fits a terminal cell grid: widths are columns, not code units (a CJK character or
 * an emoji takes two, a combining mark none), measured by string-width per grapheme.
 */
import stringWidth from 'string-width';

const segmenter = new Intl.Segmenter();
export const ELLIPSIS = '…';

export function width(text: string): number {
	return stringWidth(text);
}

/** Exactly `cols` columns: cut with an ellipsis when too long, padded with spaces when short. */
export function fit(text: string, cols: number): string {
	if (cols <= 0) return '';
	const w = stringWidth(text);
	if (w <= cols) return text + ' '.repeat(cols - w);
	let out = '';
	let used = 0;
	for (const { segment } of segmenter.segment(text)) {
		const sw = stringWidth(segment);
		if (used + sw > cols - 1) break;
		out += segment;
		used += sw;
	}
	return out + ELLIPSIS + ' '.repeat(cols - 1 - used);
}

/** `left` and `right` on one line of `cols` columns; `left` is cut first when they do not fit. */
export function spread(left: string, right: string, cols: number): string {
	const rw = Math.min(stringWidth(right), cols);
	if (rw >= cols) return fit(right, cols);
	return fit(left, cols - rw) + fit(right, rw);
}

/** A bar of `cols` cells filled to `percent`. */
export function progressBar(percent: number, cols: number): string {
	const p = Math.max(0, Math.min(100, Number.isFinite(percent) ? percent : 0));
	const filled = Math.round((p / 100) * cols);
	return '█'.repeat(filled) + '░'.repeat(cols - filled);
}
