import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RetrySchedule } from './retry-schedule';

describe('RetrySchedule', () => {
	beforeEach(() => {
		vi.useFakeTimers();
	});
	afterEach(() => {
		vi.useRealTimers();
	});

	function schedule(options: ConstructorParameters<typeof RetrySchedule>[0] = {}) {
		return new RetrySchedule({
			backoff: { random: () => 0.999, baseMs: 4000 },
			now: () => Date.now(),
			...options
		});
	}

	it('calls the retry after the backoff delay, counts the attempt and ends the countdown', () => {
		const retry = schedule();
		const fired = vi.fn();
		expect(retry.schedule(fired)).toBe(true);
		expect(retry.attempt).toBe(1);
		vi.advanceTimersByTime(3995);
		expect(fired).not.toHaveBeenCalled();
		vi.advanceTimersByTime(5);
		expect(fired).toHaveBeenCalledOnce();
		expect(retry.nextRetryAt).toBeNull();
		expect(vi.getTimerCount()).toBe(0);
	});

	it('counts down in whole seconds, rounded up, while the retry waits', () => {
		const retry = schedule();
		expect(retry.secondsUntilRetry).toBeNull();
		retry.schedule(() => {});
		expect(retry.nextRetryAt).toBe(Date.now() + 3996);
		expect(retry.secondsUntilRetry).toBe(4);
		vi.advanceTimersByTime(1000);
		expect(retry.secondsUntilRetry).toBe(3);
		vi.advanceTimersByTime(2900);
		expect(retry.secondsUntilRetry).toBe(1);
		retry.cancel();
	});

	it('cancel stops the retry and its countdown and leaves no timer', () => {
		const retry = schedule();
		const fired = vi.fn();
		retry.schedule(fired);
		expect(vi.getTimerCount()).toBe(1);
		retry.cancel();
		expect(vi.getTimerCount()).toBe(0);
		expect(retry.nextRetryAt).toBeNull();
		expect(retry.secondsUntilRetry).toBeNull();
		vi.advanceTimersByTime(60_000);
		expect(fired).not.toHaveBeenCalled();
	});

	it('scheduling again replaces the waiting retry instead of adding a second one', () => {
		const retry = schedule();
		const first = vi.fn();
		const second = vi.fn();
		retry.schedule(first);
		retry.schedule(second);
		expect(vi.getTimerCount()).toBe(1);
		vi.runAllTimers();
		expect(first).not.toHaveBeenCalled();
		expect(second).toHaveBeenCalledOnce();
	});

	it('schedules nothing once the attempt limit is reached', () => {
		const retry = schedule({ backoff: { maxAttempts: 1, random: () => 0 } });
		expect(retry.schedule(() => {})).toBe(true);
		vi.runAllTimers();
		expect(retry.exhausted).toBe(true);
		expect(retry.schedule(() => {})).toBe(false);
		expect(vi.getTimerCount()).toBe(0);
		expect(retry.maxAttempts).toBe(1);
	});

	it('restartDelays starts the delays over but keeps the attempt shown; reset clears both', () => {
		const retry = schedule({ backoff: { random: () => 0.999, baseMs: 1000 } });
		for (let i = 0; i < 3; i++) retry.schedule(() => {});
		expect(retry.attempt).toBe(3);
		expect(retry.secondsUntilRetry).toBe(4);

		retry.restartDelays();
		expect(retry.attempt).toBe(3);
		retry.schedule(() => {});
		expect(retry.attempt).toBe(1);
		expect(retry.secondsUntilRetry).toBe(1);

		retry.reset();
		expect(retry.attempt).toBe(0);
		retry.cancel();
	});

	it('retries on the next turn when asked to be immediate, still counting the attempt', () => {
		const retry = schedule();
		const fired = vi.fn();
		retry.schedule(fired, { immediate: true });
		expect(retry.attempt).toBe(1);
		vi.advanceTimersByTime(0);
		expect(fired).toHaveBeenCalledOnce();
	});

	it('waits a delay from the window it is given instead of the backoff, still counting the attempt', () => {
		const retry = schedule({ backoff: { random: () => 0.5, baseMs: 20_000 } });
		retry.schedule(() => {}, { window: { minMs: 250, maxMs: 2250 } });
		expect(retry.nextRetryAt).toBe(Date.now() + 1250);
		expect(retry.attempt).toBe(1);
		retry.cancel();
	});

	it('waits at least the minimum delay, with the jitter on top', () => {
		const retry = schedule({ backoff: { random: () => 0.5, baseMs: 1000 } });
		retry.schedule(() => {}, { minDelayMs: 5000 });
		expect(retry.nextRetryAt).toBe(Date.now() + 5500);
		retry.cancel();
	});
});
