import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { closeExplanation, reconnectPlan } from './close-policy';
import { connectionHarness } from './test-connection';

describe('reconnectPlan', () => {
	it.each([1000, 1008, 4500, 4501, 4502, 4777])('stops after a terminal close (%i)', (code) => {
		expect(reconnectPlan(code, { attempt: 0 })).toEqual({ action: 'stop' });
	});

	it.each([1006, 1009, 1011, 4000, 4001, 4499])('backs off after a %i close', (code) => {
		expect(reconnectPlan(code, { attempt: 0 })).toEqual({ action: 'backoff', minDelayMs: 0 });
	});

	it.each([1001, 1012])('comes back soon after a %i close (the server restarts or goes away)', (code) => {
		expect(reconnectPlan(code, { attempt: 0 })).toEqual({ action: 'soon' });
		expect(reconnectPlan(code, { attempt: 3 })).toEqual({ action: 'soon' });
	});

	it('comes back at once after a slow-consumer close, unless the last attempt just failed too', () => {
		expect(reconnectPlan(4002, { attempt: 0 })).toEqual({ action: 'now' });
		expect(reconnectPlan(4002, { attempt: 1 })).toEqual({ action: 'backoff', minDelayMs: 0 });
	});

	it('waits longer after rate-limited and overloaded closes', () => {
		expect(reconnectPlan(4003, { attempt: 0, slowDownDelayMs: 7000 })).toEqual({
			action: 'backoff',
			minDelayMs: 7000
		});
		expect(reconnectPlan(1013, { attempt: 0 })).toMatchObject({ action: 'backoff' });
	});

	it("explains a close by the server's reason, else by the table", () => {
		expect(closeExplanation({ code: 4501, reason: '' })).toBe('The page origin is not allowed. (code 4501)');
		expect(closeExplanation({ code: 4500, reason: 'token expired.' })).toBe('token expired. (code 4500)');
		expect(closeExplanation({ code: 4999, reason: '' })).toBe('No reason was given. (code 4999)');
	});
});

describe('RealtimeConnection after a close', () => {
	beforeEach(() => {
		vi.useFakeTimers();
	});
	afterEach(() => {
		vi.useRealTimers();
	});

	it.each([4500, 4501, 4502, 1008])('does not reconnect after %i and says why, until Retry now', (code) => {
		const { connection, factory, accept } = connectionHarness();
		connection.connect();
		accept();
		factory.last.serverClose(code, '');
		expect(connection.status).toBe('offline');
		expect(connection.offlineReason).toBe('closed');
		expect(connection.lastClose).toEqual({ code, reason: '' });
		vi.advanceTimersByTime(10 * 60_000);
		expect(factory.sockets).toHaveLength(1);
		connection.retryNow();
		expect(factory.sockets).toHaveLength(2);
		connection.destroy();
	});

	it('reconnects at once after a slow-consumer close (4002) and resumes from the last seq', () => {
		const { connection, factory, accept } = connectionHarness({
			backoff: { random: () => 0.999, baseMs: 20_000 }
		});
		connection.connect();
		accept({ seq: 5 }).event({
			type: 'task.progress',
			seq: 6,
			data: { task_id: 't1', run_id: null, progress: 1, message: null }
		});
		factory.last.serverClose(4002, 'client reads too slowly; reconnect and resume');
		expect(connection.status).toBe('reconnecting');
		vi.advanceTimersByTime(0);
		expect(factory.sockets).toHaveLength(2);
		expect(accept().sentOfType('resume')[0]).toMatchObject({ epoch: 'e1', seq: 6 });
		// slow again straight away: now it backs off rather than loop
		factory.last.serverClose(4002);
		vi.advanceTimersByTime(1000);
		expect(factory.sockets).toHaveLength(2);
		connection.destroy();
	});

	it('backs off for at least the slow-down delay after a rate-limited close (4003)', () => {
		const { connection, factory, accept } = connectionHarness({
			backoff: { random: () => 0 },
			slowDownDelayMs: 3000
		});
		connection.connect();
		accept();
		factory.last.serverClose(4003, 'too many messages');
		expect(connection.secondsUntilRetry).toBe(3);
		vi.advanceTimersByTime(2999);
		expect(factory.sockets).toHaveLength(1);
		vi.advanceTimersByTime(1);
		expect(factory.sockets).toHaveLength(2);
		connection.destroy();
	});
});
