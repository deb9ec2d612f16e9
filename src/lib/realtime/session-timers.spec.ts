import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SessionTimers } from './session-timers';

describe('SessionTimers', () => {
	beforeEach(() => {
		vi.useFakeTimers();
	});
	afterEach(() => {
		vi.useRealTimers();
	});

	function start(timers: SessionTimers) {
		const beat = vi.fn();
		const onStable = vi.fn();
		timers.welcomed({ heartbeatMs: 1000, beat, stableAfterMs: 2500, onStable });
		return { beat, onStable };
	}

	it('gives up on the welcome after the timeout', () => {
		const timers = new SessionTimers();
		const onTimeout = vi.fn();
		timers.awaitWelcome(1000, onTimeout);
		vi.advanceTimersByTime(999);
		expect(onTimeout).not.toHaveBeenCalled();
		vi.advanceTimersByTime(1);
		expect(onTimeout).toHaveBeenCalledOnce();
	});

	it('a welcome in time cancels the deadline, beats at its interval and reports stability once', () => {
		const timers = new SessionTimers();
		const onTimeout = vi.fn();
		timers.awaitWelcome(1000, onTimeout);
		vi.advanceTimersByTime(500);
		const { beat, onStable } = start(timers);
		vi.advanceTimersByTime(3500);
		expect(onTimeout).not.toHaveBeenCalled();
		expect(beat).toHaveBeenCalledTimes(3);
		expect(onStable).toHaveBeenCalledOnce();
		timers.clear();
	});

	it('a second welcome restarts the timers rather than doubling the heartbeat', () => {
		const timers = new SessionTimers();
		const first = start(timers);
		const second = start(timers);
		vi.advanceTimersByTime(3000);
		expect(first.beat).not.toHaveBeenCalled();
		expect(second.beat).toHaveBeenCalledTimes(3);
		expect(first.onStable).not.toHaveBeenCalled();
		timers.clear();
	});

	it('clear stops every timer of the session', () => {
		const timers = new SessionTimers();
		const onTimeout = vi.fn();
		timers.awaitWelcome(1000, onTimeout);
		timers.clear();
		const { beat, onStable } = start(timers);
		timers.clear();
		expect(vi.getTimerCount()).toBe(0);
		vi.advanceTimersByTime(10_000);
		expect([onTimeout, beat, onStable].map((fn) => fn.mock.calls.length)).toEqual([0, 0, 0]);
	});
});
