import { describe, expect, it } from 'vitest';
import { ReaderGestures } from './reader-gestures';

describe('ReaderGestures', () => {
	it('reads a finger moving down a scrolled log as a scroll up, once past a few px', () => {
		const gestures = new ReaderGestures();
		gestures.touchStart(100, 300);
		expect(gestures.touchMove(100, 302, 5_000)).toBe(false);
		expect(gestures.touchMove(101, 310, 5_000)).toBe(true);
	});

	it('leaves a log alone that cannot move up: at its top, or too short to scroll', () => {
		const gestures = new ReaderGestures();
		// dragging down over a short log to get back to the steps above it
		gestures.touchStart(100, 300);
		expect(gestures.touchMove(100, 320, 0)).toBe(false);
		expect(gestures.touchMove(100, 400, 0)).toBe(false);
		expect(gestures.wheel(-120, 0)).toBe(false);
		expect(gestures.wheel(-120, 40)).toBe(true);
		expect(gestures.wheel(120, 40)).toBe(false);
	});

	it('does not read a sideways swipe or a drag up as a scroll up', () => {
		const gestures = new ReaderGestures();
		gestures.touchStart(100, 300);
		// sideways, drifting down a little
		expect(gestures.touchMove(160, 306, 5_000)).toBe(false);
		expect(gestures.touchMove(220, 312, 5_000)).toBe(false);
		// a new drag, up (the log scrolls down), with the finger wobbling back by a pixel
		gestures.touchStart(100, 300);
		expect(gestures.touchMove(100, 250, 5_000)).toBe(false);
		expect(gestures.touchMove(100, 251, 5_000)).toBe(false);
		// no touch under way: nothing to read
		gestures.touchEnd();
		expect(gestures.touchMove(100, 400, 5_000)).toBe(false);
	});
});
