import { describe, expect, it } from 'vitest';
import { ReaderGestures } from './reader-gestures';

describe('ReaderGestures', () => {
	it('reads a finger moving down a scrolled log as a scroll up, once past the slop', () => {
		const gestures = new ReaderGestures();
		gestures.touchStart(100, 300);
		expect(gestures.touchMove(100, 302, 5_000)).toBe(false);
		expect(gestures.touchMove(101, 320, 5_000)).toBe(true);
	});

	it("does not read a tap's drift as a scroll up: a tap on a line link or a fold keeps following", () => {
		const gestures = new ReaderGestures();
		gestures.touchStart(100, 300);
		expect(gestures.touchMove(101, 306, 5_000)).toBe(false);
		expect(gestures.touchMove(102, 312, 5_000)).toBe(false);
		gestures.touchEnd();
	});

	it('reads a drag back to the end in the same touch as no scroll up, so following can start again', () => {
		const gestures = new ReaderGestures();
		gestures.touchStart(100, 300);
		expect(gestures.touchMove(100, 360, 5_000)).toBe(true);
		// back up towards where it went down (the log scrolls down to its end): still below the start
		expect(gestures.touchMove(100, 340, 5_000)).toBe(false);
		expect(gestures.touchMove(100, 330, 5_000)).toBe(false);
		// down again: a scroll up again
		expect(gestures.touchMove(100, 345, 5_000)).toBe(true);
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

	it('reads keys: Home and the keys that scroll up pause only a log that can move up, End follows', () => {
		const gestures = new ReaderGestures();
		expect(gestures.key('Home', false, 400)).toBe('top');
		expect(gestures.key('ArrowUp', false, 400)).toBe('pause');
		expect(gestures.key('PageUp', false, 400)).toBe('pause');
		expect(gestures.key(' ', true, 400)).toBe('pause');
		// at the top (or too short to scroll): nothing to pause, following goes on
		for (const [key, shift] of [
			['Home', false],
			['ArrowUp', false],
			['PageUp', false],
			[' ', true]
		] as const)
			expect(gestures.key(key, shift, 0)).toBeNull();
		expect(gestures.key('End', false, 0)).toBe('follow');
		expect(gestures.key('End', false, 400)).toBe('follow');
		// selecting (Shift+Home/End), scrolling down, typing: the browser's
		expect(gestures.key('Home', true, 400)).toBeNull();
		expect(gestures.key('End', true, 400)).toBeNull();
		expect(gestures.key(' ', false, 400)).toBeNull();
		expect(gestures.key('ArrowDown', false, 400)).toBeNull();
	});
});
