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

/** ms without input or a scroll event of the reader's after which a scroll has come to rest */
export const SETTLE_MS = 200;

/**
 * Keeps the reader's top row in place while a scaled log grows under a paused view. Past
 * {@link MAX_SCROLL_PX} a scroll offset stands for a fraction of the log, not a row: new lines
 * move the row an unchanged offset shows. The anchor remembers the row the reader (or a jump)
 * put at the top, and the view draws its rows from {@link ScrollAnchor.topIn} (not from the
 * offset), so new lines neither slide the text nor shift it by a fraction of a pixel.
 *
 * The offset that shows the anchored row again is written only once a scroll has come to rest
 * (writing it would stop a fling or a smooth scroll): until then the offset still stands for the
 * row count of its last match, so a scroll of the reader's moves the anchor by as many rows as
 * the offset moved rather than reading a row from it. A scroll event that only echoes an offset
 * written here leaves the anchor where it was, so rounding never walks it away.
 *
 * @example
 * const anchor = new ScrollAnchor();
 * anchor.input(performance.now()); // on wheel, key, touch and pointer input
 * anchor.scrolled(el.scrollTop, geometry, performance.now()); // on every scroll event
 * const target = anchor.reanchor(geometry, performance.now()); // when the rows change, while paused
 * if (target !== null) el.scrollTop = target; // and draw with anchor.topIn(geometry) on top
 */
export class ScrollAnchor {
	readonly #settleMs: number;
	/** the (fractional) top row */
	#row = 0;
	/** the row count the offset was last matched to (it shows {@link #row} at that count) */
	#rows = 0;
	/** the offset of the last scroll event or write */
	#offset = 0;
	/** an offset written here whose scroll event has not come yet */
	#written: number | null = null;
	/** when the reader last gave input or scrolled */
	#lastMove = -Infinity;

	constructor(settleMs = SETTLE_MS) {
		this.#settleMs = settleMs;
	}

	get row(): number {
		return this.#row;
	}

	/** The reader gave input (wheel, key, touch, pointer) at `now`: a scroll may be under way. */
	input(now: number): void {
		this.#lastMove = now;
	}

	/**
	 * A scroll event at `scrollTop`: the reader's moves the anchor, the echo of a write does not.
	 * Returns whether it was the reader's.
	 */
	scrolled(scrollTop: number, g: ScrollGeometry, now: number): boolean {
		const echo = this.#written !== null && Math.abs(scrollTop - this.#written) <= ECHO_SLACK_PX;
		this.#written = null;
		const moved = scrollTop - this.#offset;
		this.#offset = scrollTop;
		if (echo) return false;
		this.#lastMove = now;
		if (g.rows === this.#rows || !isScaled(g)) {
			this.#row = topRowAt(scrollTop, g);
			this.#rows = g.rows;
			return true;
		}
		// the offset still stands for the old count (its rewrite waits for rest): read from it, the
		// row would jump by the rows that arrived since; move the row the reader sees instead
		const { maxScroll, maxTop } = ranges(g);
		if (scrollTop <= 0) this.#row = 0;
		else if (scrollTop >= maxScroll) this.#row = maxTop;
		else this.#row = Math.min(maxTop, Math.max(0, this.#row + (moved / maxScroll) * maxTop));
		return true;
	}

	/** The view was put at `scrollTop` (following the end, a jump); returns it. */
	wrote(scrollTop: number, g: ScrollGeometry): number {
		this.#row = topRowAt(scrollTop, g);
		this.#rows = g.rows;
		this.#written = scrollTop;
		this.#offset = scrollTop;
		return scrollTop;
	}

	/**
	 * The view follows the end of `g`'s rows: the anchor is the last top row, at `g`'s count, so
	 * a pause (a wheel turned up, a key) starts from the rows shown and not from the ones of the
	 * last write. Past {@link MAX_SCROLL_PX} the end's offset stays the same as lines arrive, so
	 * following writes no new offset that would move the anchor along; this writes none either.
	 */
	atEnd(g: ScrollGeometry): void {
		this.#row = ranges(g).maxTop;
		this.#rows = g.rows;
	}

	/**
	 * The offset to write so that it shows the anchored row now that the rows are `g.rows`, or
	 * null when there is none to write: the count is the one the offset was matched to, the space
	 * is not scaled (an offset is a row there), or a scroll moved within {@link SETTLE_MS} of
	 * `now` (it may still be moving; the view keeps drawing from {@link topIn} meanwhile).
	 */
	reanchor(g: ScrollGeometry, now: number): number | null {
		if (g.rows === this.#rows) return null;
		if (!isScaled(g)) {
			this.#rows = g.rows;
			return null;
		}
		if (now - this.#lastMove < this.#settleMs) return null;
		this.#rows = g.rows;
		this.#written = scrollTopFor(this.#row, g);
		this.#offset = this.#written;
		return this.#written;
	}

	/** The anchored row, as far down as the rows of `g` let a top row go. */
	topIn(g: ScrollGeometry): number {
		return Math.min(this.#row, Math.max(0, g.rows - g.viewportHeight / g.rowHeight));
	}
}
