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

/**
 * Where to draw `row` (px from the spacer top) when the viewport is at `scrollTop` with `top` (the
 * row that offset shows, unless an anchor holds a more exact one) at its top edge.
 */
export function rowOffset(
	row: number,
	scrollTop: number,
	g: ScrollGeometry,
	top = topRowAt(scrollTop, g)
): number {
	return scrollTop + (row - top) * g.rowHeight;
}

/** px a scroll event may differ from an offset written here and still be its echo (rounding) */
const ECHO_SLACK_PX = 1;

/**
 * Keeps the reader's top row in place while a scaled log grows under a paused view. Past
 * {@link MAX_SCROLL_PX} a scroll offset stands for a fraction of the log, not a row: new lines
 * move the row an unchanged offset shows. The anchor remembers the row the reader (or a jump)
 * put at the top and gives the offset that shows it again. A scroll event that only echoes an
 * offset written here leaves the anchor where it was, so rounding never walks it away; and the
 * view draws its rows from {@link ScrollAnchor.topIn} (not from the rounded offset), so they do
 * not shift by a fraction of a pixel with each line either.
 *
 * @example
 * const anchor = new ScrollAnchor();
 * anchor.scrolled(el.scrollTop, geometry); // on every scroll event
 * const target = anchor.reanchor(geometry); // when the rows change, while paused
 * if (target !== null) el.scrollTop = target; // and draw with anchor.topIn(geometry) on top
 */
export class ScrollAnchor {
	/** the (fractional) top row */
	#row = 0;
	/** the row count the offset was last matched to */
	#rows = 0;
	/** an offset written here whose scroll event has not come yet */
	#written: number | null = null;

	get row(): number {
		return this.#row;
	}

	/**
	 * A scroll event at `scrollTop`: the reader's moves the anchor, the echo of a write does not.
	 * Returns whether it was the reader's.
	 */
	scrolled(scrollTop: number, g: ScrollGeometry): boolean {
		const echo = this.#written !== null && Math.abs(scrollTop - this.#written) <= ECHO_SLACK_PX;
		this.#written = null;
		if (echo) return false;
		this.#row = topRowAt(scrollTop, g);
		this.#rows = g.rows;
		return true;
	}

	/** The view was put at `scrollTop` (following the end, a jump); returns it. */
	wrote(scrollTop: number, g: ScrollGeometry): number {
		this.#row = topRowAt(scrollTop, g);
		this.#rows = g.rows;
		this.#written = scrollTop;
		return scrollTop;
	}

	/**
	 * The offset that shows the anchored row at the top now that the rows are `g.rows`, or null
	 * when the view need not move (the count is the one the anchor knows, or the space is not
	 * scaled: an offset is a row there).
	 */
	reanchor(g: ScrollGeometry): number | null {
		if (g.rows === this.#rows) return null;
		this.#rows = g.rows;
		if (!isScaled(g)) return null;
		this.#written = scrollTopFor(this.#row, g);
		return this.#written;
	}

	/** The anchored row, as far down as the rows of `g` let a top row go. */
	topIn(g: ScrollGeometry): number {
		return Math.min(this.#row, Math.max(0, g.rows - g.viewportHeight / g.rowHeight));
	}
}
