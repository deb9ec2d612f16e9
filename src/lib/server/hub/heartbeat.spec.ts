import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../logger';
import { Heartbeat, sweepIntervalMs, type LivenessTarget } from './heartbeat';
import type { SessionState } from './session';

class FakeTarget implements LivenessTarget {
	state: SessionState = 'open';
	awaitingPong = false;
	pings = 0;
	closes: { code: number; reason: string }[] = [];
	constructor(
		readonly id: string,
		public lastSeenAt: number
	) {}
	ping(): void {
		this.pings += 1;
		this.awaitingPong = true;
	}
	close(code: number, reason: string): void {
		this.closes.push({ code, reason });
		this.state = 'closing';
	}
}

function make(targets: FakeTarget[], heartbeatIntervalMs = 100, idleTimeoutMs = 300) {
	return new Heartbeat({
		sessions: () => targets,
		heartbeatIntervalMs,
		idleTimeoutMs,
		logger: createLogger('silent'),
		now: () => 0
	});
}

afterEach(() => {
	vi.useRealTimers();
});

describe('Heartbeat', () => {
	it('closes a session silent for the idle timeout with 4000 and a reason', () => {
		const quiet = new FakeTarget('quiet', 0);
		const chatty = new FakeTarget('chatty', 250);
		const result = make([quiet, chatty]).sweep(300);
		expect(result).toEqual({ idle: 1, unresponsive: 0 });
		expect(quiet.closes).toEqual([{ code: 4000, reason: expect.stringContaining('idle timeout 300 ms') }]);
		expect(chatty.closes).toEqual([]);
	});

	it('pings once per heartbeat interval, not on every sweep', () => {
		const target = new FakeTarget('t', 0);
		const hb = make([target]);
		hb.sweep(50);
		expect(target.pings).toBe(0);
		hb.sweep(100);
		expect(target.pings).toBe(1);
		target.awaitingPong = false;
		hb.sweep(150);
		expect(target.pings).toBe(1);
	});

	it('closes a session that did not answer the previous ping with 4001', () => {
		const target = new FakeTarget('t', 0);
		const hb = make([target], 100, 10_000);
		hb.sweep(100);
		target.lastSeenAt = 190;
		expect(hb.sweep(200)).toEqual({ idle: 0, unresponsive: 1 });
		expect(target.closes).toEqual([{ code: 4001, reason: expect.any(String) }]);
	});

	it('keeps a session that answered its ping', () => {
		const target = new FakeTarget('t', 0);
		const hb = make([target], 100, 10_000);
		hb.sweep(100);
		target.awaitingPong = false;
		hb.sweep(200);
		expect(target.closes).toEqual([]);
		expect(target.pings).toBe(2);
	});

	it('leaves sessions that are already closing alone', () => {
		const target = new FakeTarget('t', 0);
		target.state = 'closing';
		make([target]).sweep(1_000);
		expect(target.closes).toEqual([]);
		expect(target.pings).toBe(0);
	});

	it('sweeps on one timer that stop() removes', () => {
		vi.useFakeTimers();
		const target = new FakeTarget('t', Date.now());
		const hb = new Heartbeat({
			sessions: () => [target],
			heartbeatIntervalMs: 10_000,
			idleTimeoutMs: 300,
			logger: createLogger('silent')
		});
		hb.start();
		hb.start();
		expect(vi.getTimerCount()).toBe(1);
		vi.advanceTimersByTime(400);
		expect(target.closes.map((c) => c.code)).toEqual([4000]);
		hb.stop();
		expect(hb.running).toBe(false);
		expect(vi.getTimerCount()).toBe(0);
	});

	it('sweeps at a quarter of the shortest interval, within bounds', () => {
		expect(sweepIntervalMs(30_000, 120_000)).toBe(1_000);
		expect(sweepIntervalMs(100, 300)).toBe(25);
		expect(sweepIntervalMs(10, 10)).toBe(10);
	});
});
