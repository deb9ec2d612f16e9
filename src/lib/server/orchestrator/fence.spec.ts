import { describe, expect, it } from 'vitest';
import {
	fenceAfterMs,
	fenceDeadline,
	mustFence,
	renewRetryMs,
	renewTimeoutMs,
	type FenceCandidate
} from './fence';

const held = (overrides: Partial<FenceCandidate> = {}): FenceCandidate => ({
	heldSince: 1_000,
	attempt: 1,
	retries: 1,
	fenced: false,
	...overrides
});

describe('fencing a task this node cannot renew', () => {
	it('leaves room for SIGTERM, the kill grace and a second before the lease can run out elsewhere', () => {
		expect(fenceAfterMs({ leaseMs: 30_000, killGraceMs: 5_000 })).toBe(24_000);
		expect(fenceAfterMs({ leaseMs: 60_000, killGraceMs: 10_000 })).toBe(49_000);
	});

	it('never fences before two renewals in a row went unanswered, even when the grace does not fit then', () => {
		// the defaults: 15 s lease, 5 s grace
		expect(fenceAfterMs({ leaseMs: 15_000, killGraceMs: 5_000 })).toBe(10_000);
		expect(fenceAfterMs({ leaseMs: 3_000, killGraceMs: 500 })).toBe(2_000);
		expect(fenceAfterMs({ leaseMs: 3_000, killGraceMs: 0 })).toBe(2_000);
	});

	it('fences a task with a retry left once that long has passed since its last renewal was sent', () => {
		const config = { leaseMs: 3_000, killGraceMs: 500 };
		expect(mustFence(held(), 1_000 + 1_999, config)).toBe(false);
		expect(mustFence(held(), 1_000 + 2_000, config)).toBe(true);
		expect(mustFence(held({ attempt: 2, retries: 2 }), 1_000 + 2_000, config)).toBe(true);
	});

	it('never fences a task another node would not start again, nor one fenced already', () => {
		const config = { leaseMs: 3_000, killGraceMs: 500 };
		const late = 1_000 + 60_000;
		expect(mustFence(held({ retries: 0 }), late, config)).toBe(false);
		expect(mustFence(held({ attempt: 2, retries: 1 }), late, config)).toBe(false);
		expect(mustFence(held({ fenced: true }), late, config)).toBe(false);
	});

	it('is due at an exact moment for a task with a retry left, never for one without or fenced already', () => {
		const config = { leaseMs: 30_000, killGraceMs: 5_000 };
		expect(fenceDeadline(held(), config)).toBe(1_000 + 24_000);
		expect(fenceDeadline(held({ retries: 0 }), config)).toBeNull();
		expect(fenceDeadline(held({ fenced: true }), config)).toBeNull();
	});

	it('tries a failed renewal again well before the fence is due: a twelfth of a lease, a second at most', () => {
		expect(renewRetryMs({ leaseMs: 3_000 })).toBe(250);
		expect(renewRetryMs({ leaseMs: 15_000 })).toBe(1_000);
		expect(renewRetryMs({ leaseMs: 300 })).toBe(50);
	});

	it("waits for a renewal's answer a sixth of a lease: one left unanswered fails while its retry can still beat the fence", () => {
		for (const config of [
			{ leaseMs: 15_000, killGraceMs: 5_000 },
			{ leaseMs: 3_000, killGraceMs: 300 },
			{ leaseMs: 60_000, killGraceMs: 5_000 }
		]) {
			const renewedAt = config.leaseMs / 3;
			const retriedAt = Math.max(renewedAt + renewTimeoutMs(config), renewedAt + renewRetryMs(config));
			expect(fenceAfterMs(config) - retriedAt).toBeGreaterThanOrEqual(config.leaseMs / 6);
		}
		expect(renewTimeoutMs({ leaseMs: 15_000 })).toBe(2_500);
		expect(renewTimeoutMs({ leaseMs: 300 })).toBe(250);
	});
});
