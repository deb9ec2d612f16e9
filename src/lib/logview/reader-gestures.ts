/**
 * @module logview/reader-gestures
 * Which input of the reader's scrolls a log up, and so pauses its following at once (before the
 * scroll event, which a slow drag or a stream can outrun). Only input that can move the log:
 * a log already at its top (or too short to scroll) does not move up, and pausing it would stop
 * following for nothing (and, on the task page, pin its step).
 */

/**
 * px a finger must move down (and more down than sideways) before a drag reads as a scroll up:
 * a tap drifts a few px, and Chromium (Android: 8 dp) scrolls nothing for about this much, so a tap
 * on a line link or a fold must not stop following
 */
export const TOUCH_SLOP_PX = 15;

const UP_KEYS = new Set(['ArrowUp', 'PageUp']);

/** what a key does to a log: see {@link ReaderGestures.key} */
export type KeyAction = 'pause' | 'follow' | 'top' | null;

/**
 * Reads touch drags, wheel turns and keys on one log.
 *
 * @example
 * const gestures = new ReaderGestures();
 * el.ontouchstart = (e) => gestures.touchStart(e.touches[0].clientX, e.touches[0].clientY);
 * el.ontouchmove = (e) => {
 * 	if (gestures.touchMove(e.touches[0].clientX, e.touches[0].clientY, el.scrollTop)) viewer.pause();
 * };
 */
export class ReaderGestures {
	readonly #slopPx: number;
	/** where the finger went down; null: no touch under way */
	#start: { x: number; y: number } | null = null;
	/** where it was at the move before */
	#lastY = 0;

	constructor(slopPx = TOUCH_SLOP_PX) {
		this.#slopPx = slopPx;
	}

	touchStart(x: number, y: number): void {
		this.#start = { x, y };
		this.#lastY = y;
	}

	touchEnd(): void {
		this.#start = null;
	}

	/**
	 * The finger is at (`x`, `y`) with the log at `scrollTop`: whether this drag scrolls the log
	 * up. A finger moving down scrolls it up, once it has moved past the slop and more down than
	 * sideways since it went down (a sideways swipe, a tap's jitter, a drag up do not), and only
	 * while it moves down: a reader who drags back to the end in the same touch follows again.
	 */
	touchMove(x: number, y: number, scrollTop: number): boolean {
		if (!this.#start) return false;
		const down = y > this.#lastY;
		this.#lastY = y;
		if (!down || scrollTop <= 0) return false;
		const dy = y - this.#start.y;
		return dy > this.#slopPx && dy > Math.abs(x - this.#start.x);
	}

	/** A wheel turned by `deltaY` over the log at `scrollTop`: whether it scrolls the log up. */
	wheel(deltaY: number, scrollTop: number): boolean {
		return deltaY < 0 && scrollTop > 0;
	}

	/**
	 * A key pressed on the log at `scrollTop`: 'top' (Home: pause and go straight to the first
	 * line), 'pause' (a key that scrolls up), 'follow' (End) or null (the browser's scroll, if
	 * any, does). Home and the keys that scroll up do nothing on a log that cannot move up.
	 */
	key(key: string, shift: boolean, scrollTop: number): KeyAction {
		if (key === 'End' && !shift) return 'follow';
		if (scrollTop <= 0) return null;
		if (key === 'Home' && !shift) return 'top';
		if (UP_KEYS.has(key) || (key === ' ' && shift)) return 'pause';
		return null;
	}
}
