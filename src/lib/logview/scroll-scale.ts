/**
 * @module logview/scroll-scale
 * Maps rows to scroll pixels for fixed-height rows. Browsers cap an element's height (Chrome at
 * about 33.5M px; Firefox lower), so past {@link MAX_SCROLL_PX} the scroll space is scaled:
 * the scrollbar spans all rows proportionally and rows are drawn relative to the viewport.
 */

/** well under every browser's cap on element height */
export const MAX_SCROLL_PX = 10_000_000;

export interface ScrollGeometry {
	rows: number;
	rowHeight: number;
	viewportHeight: number;
	maxPx?: number;
}

/** The height of the scroll spacer. */
export function spacerHeight(g: ScrollGeometry): number {
	return Math.min(g.rows * g.rowHeight, g.maxPx ?? MAX_SCROLL_PX);
}

export function isScaled(g: ScrollGeometry): boolean {
	return g.rows * g.rowHeight > (g.maxPx ?? MAX_SCROLL_PX);
}

function ranges(g: ScrollGeometry): { maxScroll: number; maxTop: number } {
	const maxScroll = Math.max(1, spacerHeight(g) - g.viewportHeight);
	const maxTop = Math.max(0, g.rows - g.viewportHeight / g.rowHeight);
	return { maxScroll, maxTop };
}

/** The (fractional) row at the top of the viewport for a scroll offset. */
export function topRowAt(scrollTop: number, g: ScrollGeometry): number {
	if (!isScaled(g)) return Math.max(0, scrollTop / g.rowHeight);
	const { maxScroll, maxTop } = ranges(g);
	return Math.min(maxTop, Math.max(0, (scrollTop / maxScroll) * maxTop));
}

/** The scroll offset that puts `row` at the top of the viewport. */
export function scrollTopFor(row: number, g: ScrollGeometry): number {
	if (!isScaled(g)) return Math.max(0, row * g.rowHeight);
	const { maxScroll, maxTop } = ranges(g);
	return maxTop === 0 ? 0 : Math.min(maxScroll, Math.max(0, (row / maxTop) * maxScroll));
}

/** Where to draw `row` (px from the spacer top) when the viewport is at `scrollTop`. */
export function rowOffset(row: number, scrollTop: number, g: ScrollGeometry): number {
	return scrollTop + (row - topRowAt(scrollTop, g)) * g.rowHeight;
}
