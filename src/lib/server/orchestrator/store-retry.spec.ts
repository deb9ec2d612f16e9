import { describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../store/errors';
import { Backoff, untilStored } from './store-retry';

const unreachable = () => new StoreUnavailableError(new Error('connect ECONNREFUSED 127.0.0.1:5432'));

describe('Backoff', () => {
	it('doubles its delay up to the longest, and starts over after a reset', () => {
		const backoff = new Backoff(100, 500);
		expect([backoff.next(), backoff.next(), backoff.next(), backoff.next()]).toEqual([100, 200, 400, 500]);
		backoff.reset();
		expect(backoff.next()).toBe(100);
	});
});

describe('untilStored', () => {
	it('tries again while the store cannot be reached and returns what the write returns once it can', async () => {
		let attempts = 0;
		const waits: number[] = [];
		const result = await untilStored(
			async () => {
				if (++attempts < 4) throw unreachable();
				return 'stored';
			},
			{ backoff: new Backoff(1, 5), onWait: (_err, attempt) => waits.push(attempt) }
		);
		expect(result).toBe('stored');
		expect(waits).toEqual([1, 2, 3]);
	});

	it('throws any other error at once', async () => {
		let attempts = 0;
		const broken = untilStored(async () => {
			attempts++;
			throw new Error('constraint violated');
		});
		await expect(broken).rejects.toThrow('constraint violated');
		expect(attempts).toBe(1);
	});

	it('stops waiting when its signal is aborted and throws the store error', async () => {
		const abort = new AbortController();
		let attempts = 0;
		const waiting = untilStored(
			async () => {
				attempts++;
				throw unreachable();
			},
			{ backoff: new Backoff(60_000, 60_000), signal: abort.signal }
		);
		await expect.poll(() => attempts).toBe(1);
		abort.abort();
		await expect(waiting).rejects.toThrow(/cannot be reached/);
		expect(attempts).toBe(2);
	});
});
