import { describe, expect, it, vi } from 'vitest';
import type { BackoffOptions } from '../../lib/realtime/backoff';
import { RestError } from './rest';
import { RestRetry } from './rest-retry';

const failing = (status: number) => new RestError(status, `http_${status}`, `HTTP ${status}.`);

/** A load that fails with each of `statuses` in turn, then gives `value`; counts its tries. */
function scripted<T>(statuses: number[], value: T) {
	const load = Object.assign(
		async () => {
			load.tries++;
			const status = statuses.shift();
			if (status !== undefined) throw failing(status);
			return value;
		},
		{ tries: 0 }
	);
	return load;
}

function setup(backoff: BackoffOptions = { baseMs: 2, capMs: 2 }) {
	const stop = new AbortController();
	const outages: unknown[] = [];
	const retry = new RestRetry({ signal: stop.signal, onOutage: (err) => outages.push(err), backoff });
	return { stop, outages, retry };
}

describe('RestRetry', () => {
	it('asks again through 5xx answers and an unreachable server, and says so once for the outage', async () => {
		const { retry, outages } = setup();
		const load = scripted([502, 0, 503, 504], 'run');
		expect(await retry.run(load)).toBe('run');
		expect(load.tries).toBe(5);
		expect(outages).toEqual([expect.objectContaining({ status: 502 })]);
	});

	it('throws at once what asking again will not mend (404, 401)', async () => {
		const { retry, outages } = setup();
		const gone = scripted([404], 'never');
		await expect(retry.run(gone)).rejects.toMatchObject({ status: 404 });
		const refused = scripted([401], 'never');
		await expect(retry.run(refused)).rejects.toMatchObject({ status: 401 });
		expect(gone.tries + refused.tries).toBe(2);
		expect(outages).toEqual([]);
	});

	it('tells of one outage however many loads wait through it, and of the next one after a load worked', async () => {
		const { retry, outages } = setup();
		await Promise.all([retry.run(scripted([502, 502], 1)), retry.run(scripted([503], 2))]);
		expect(outages).toHaveLength(1);
		await retry.run(scripted([504], 3));
		expect(outages).toHaveLength(2);
	});

	it('ends a wait at once when aborted (the follow ended, Ctrl-C), asking no more', async () => {
		// a wait of about a minute: only the abort can end it within the test
		const { retry, stop } = setup({ baseMs: 60_000, capMs: 60_000, random: () => 0.99 });
		const load = scripted([502, 502], 'never');
		const running = retry.run(load);
		await vi.waitFor(() => expect(load.tries).toBe(1), { timeout: 10_000, interval: 5 });
		stop.abort();
		await expect(running).rejects.toMatchObject({ name: 'AbortError' });
		expect(load.tries).toBe(1);
	});

	it('hands each request the signal, so the abort also ends one in flight', async () => {
		const { retry, stop } = setup();
		let seen: AbortSignal | null = null;
		const running = retry.run(
			(signal) =>
				new Promise((_resolve, reject) => {
					seen = signal;
					signal.addEventListener('abort', () => reject(signal.reason));
				})
		);
		await vi.waitFor(() => expect(seen).not.toBeNull(), { timeout: 10_000, interval: 5 });
		stop.abort();
		await expect(running).rejects.toMatchObject({ name: 'AbortError' });
	});

	it('says when a load works again after an outage', async () => {
		const stop = new AbortController();
		const told: string[] = [];
		const retry = new RestRetry({
			signal: stop.signal,
			onOutage: () => told.push('outage'),
			onRecover: () => told.push('recovered'),
			backoff: { baseMs: 2, capMs: 2 }
		});
		await retry.run(scripted([502, 503], 'run'));
		await retry.run(scripted([], 'run'));
		expect(told).toEqual(['outage', 'recovered']);
	});

	it('gives up with the last error once a load has failed for its budget, and not at a 500', async () => {
		let clock = 0;
		const retry = new RestRetry({
			signal: new AbortController().signal,
			backoff: { baseMs: 1, capMs: 1 },
			budgetMs: 1_000,
			now: () => clock
		});
		const load = Object.assign(
			async () => {
				load.tries++;
				clock += 300;
				throw failing(load.tries < 4 ? 502 : 504);
			},
			{ tries: 0 }
		);
		await expect(retry.run(load)).rejects.toMatchObject({ status: 504 });
		expect(load.tries).toBe(5);
		const broken = scripted([500], 'never');
		await expect(retry.run(broken)).rejects.toMatchObject({ status: 500 });
		expect(broken.tries).toBe(1);
	});
});
