import { getEventListeners } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import type { LogLine } from '../../lib/protocol/models';
import { LogTail, type LogTailOptions } from './log-tail';
import { RestError } from './rest';

const line = (n: number): LogLine => ({
	n,
	stream: 'stdout',
	ts: '2026-01-01T00:00:00.000Z',
	text: `line ${n}`
});
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => line(from + i));

/** A store of `count` lines served over a fake REST call; `count` may grow while the test runs. */
function store(initial: number) {
	const state = { count: initial, calls: [] as number[], limits: [] as (number | undefined)[] };
	const rest = {
		getLogLines: async (_id: string, { after = 0, limit }: { after?: number; limit?: number } = {}) => {
			state.calls.push(after);
			state.limits.push(limit);
			return range(after + 1, limit === undefined ? state.count : Math.min(state.count, after + limit));
		}
	};
	return { state, rest };
}

const until = (check: () => void) => vi.waitFor(check, { timeout: 10_000, interval: 2 });
const notFound = () => new RestError(404, 'not_found', 'No execution with id "x1".');
const badGateway = () => new RestError(502, 'http_502', 'GET …/executions/x1/log failed with HTTP 502.');

function tail(rest: LogTailOptions['rest'], after = 0) {
	const got: number[] = [];
	const t = new LogTail('x1', {
		rest,
		after,
		gapRetryDelayMs: 1,
		onLines: (lines) => got.push(...lines.map((l) => l.n))
	});
	return { t, got };
}

describe('LogTail', () => {
	it('hands on the backlog, then live lines, each line once', async () => {
		const { state, rest } = store(3);
		const { t, got } = tail(rest);
		t.pushLines([line(3)]); // arrived while subscribed, before the backlog loaded
		t.pushLines([line(4)]);
		state.count = 4;
		await t.open();
		t.pushLines([line(4)]);
		t.pushLines([line(5)]);
		expect(got).toEqual([1, 2, 3, 4, 5]);
	});

	it('hands on the lines of one event together, in order, after the backlog', async () => {
		const { state, rest } = store(2);
		const batches: number[][] = [];
		const t = new LogTail('x1', { rest, onLines: (lines) => batches.push(lines.map((l) => l.n)) });
		await t.open();
		state.count = 6;
		// 2 again (a duplicate of the backlog's last line), then the new lines
		t.pushLines(range(2, 6));
		expect(batches).toEqual([
			[1, 2],
			[3, 4, 5, 6]
		]);
		expect(state.calls).toEqual([0]);
	});

	it('fetches a hole before an event once, however many of its lines wait behind it', async () => {
		const { state, rest } = store(2);
		const { t, got } = tail(rest);
		await t.open();
		// the event with 3–5 was dropped; the next one brings 6–9
		state.count = 9;
		t.pushLines(range(6, 9));
		await t.idle();
		expect(got).toEqual(range(1, 9).map((l) => l.n));
		expect(state.calls).toEqual([0, 2]);
		expect(state.limits).toEqual([undefined, 3]);
	});

	it('fills a hole a live line reveals by fetching after the last line', async () => {
		const { state, rest } = store(2);
		const { t, got } = tail(rest);
		await t.open();
		state.count = 6;
		t.pushLines([line(6)]);
		await t.idle();
		expect(got).toEqual([1, 2, 3, 4, 5, 6]);
		expect(state.calls).toEqual([0, 2]);
	});

	it('fetches a hole only up to the first line it holds: the lines after it came live', async () => {
		const { state, rest } = store(2);
		const { t, got } = tail(rest);
		await t.open();
		// a long log stored meanwhile: the hole is 3–5, and 7 on will come live as 6 did
		state.count = 1_000;
		t.pushLines([line(6)]);
		await t.idle();
		expect(got).toEqual([1, 2, 3, 4, 5, 6]);
		expect(state.calls).toEqual([0, 2]);
		expect(state.limits).toEqual([undefined, 3]);
		t.pushLines([line(7)]);
		expect(got.at(-1)).toBe(7);
		t.destroy();
	});

	it('fetches skipped lines once stored, not everything after them', async () => {
		const { state, rest } = store(2);
		const late: number[][] = [];
		const got: number[] = [];
		const t = new LogTail('x1', {
			rest,
			gapRetryDelayMs: 1,
			backoff: { baseMs: 5, capMs: 5 },
			retryBudgetMs: 100,
			onLines: (lines) => got.push(...lines.map((l) => l.n)),
			onLate: (lines) => late.push(lines.map((l) => l.n)),
			onSkip: () => {},
			onError: (err) => expect.fail(String(err))
		});
		await t.open();
		t.pushLines([line(5)]);
		await until(() => expect(got).toContain(5));
		// stored now, with a long log after them
		state.count = 1_000;
		t.noteLineCount(5);
		await until(() => expect(late).toEqual([[3, 4]]));
		await t.idle();
		// the late fetch asked for the two lines only; the lines after 5 are the tail's own to fetch
		const lateFetch = state.calls.lastIndexOf(2);
		expect(state.limits[lateFetch]).toBe(2);
		expect(got.slice(0, 4)).toEqual([1, 2, 5, 6]);
		t.destroy();
	});

	it('fetches lines a completion counts that never arrived live', async () => {
		const { state, rest } = store(1);
		const { t, got } = tail(rest);
		await t.open();
		state.count = 3;
		t.noteLineCount(3);
		await t.idle();
		expect(got).toEqual([1, 2, 3]);
	});

	it('waits with back-off for lines the stream showed later ones of while the store lags (1.2 s), and says so', async () => {
		// the server streams each line at once and stores it 1.2 s later (a slow store)
		const printedAt = new Map<number, number>();
		const rest = {
			getLogLines: async (_id: string, { after = 0 }: { after?: number } = {}) =>
				range(after + 1, 12).filter((l) => performance.now() - (printedAt.get(l.n) ?? Infinity) >= 1200)
		};
		const retries: unknown[] = [];
		let recovered = 0;
		const got: number[] = [];
		const t = new LogTail('x1', {
			rest,
			gapRetryDelayMs: 1,
			backoff: { baseMs: 20, capMs: 100 },
			onLines: (lines) => got.push(...lines.map((l) => l.n)),
			onError: (err) => expect.fail(String(err)),
			onSkip: (skipped) => expect.fail(`skipped ${JSON.stringify(skipped)}`),
			onRetry: (err) => retries.push(err),
			onRecover: () => recovered++
		});
		// lines 1–5 were printed long ago; 6–9 just now, but their events were lost (dropped)
		for (let n = 1; n <= 5; n++) printedAt.set(n, -Infinity);
		for (let n = 6; n <= 12; n++) printedAt.set(n, performance.now());
		await t.open();
		t.pushLines([line(10)]);
		t.pushLines([line(11)]);
		await until(() => expect(got).toContain(11));
		t.pushLines([line(12)]);
		await t.idle();
		expect(got).toEqual(range(1, 12).map((l) => l.n));
		expect(retries.map((e) => (e as Error).message)).toEqual(['Lines 6–9 of x1 are not stored yet.']);
		expect(recovered).toBe(1);
		t.destroy();
	});

	it('says so when it goes on without lines the store still lacks after its budget, and hands them on once stored', async () => {
		// the store has lines 1–5 until the test stores the rest
		const state = { stored: 5 };
		const rest = {
			getLogLines: async (_id: string, { after = 0 }: { after?: number } = {}) =>
				range(after + 1, state.stored)
		};
		const events: string[] = [];
		const t = new LogTail('x1', {
			rest,
			gapRetryDelayMs: 1,
			backoff: { baseMs: 5, capMs: 5 },
			retryBudgetMs: 200,
			onLines: (lines) => events.push(...lines.map((l) => `line ${l.n}`)),
			onLate: (lines) => events.push(...lines.map((l) => `late ${l.n}`)),
			onSkip: ({ from, to }) => events.push(`skipped ${from}–${to}`),
			onError: (err) => expect.fail(String(err))
		});
		await t.open();
		t.pushLines([line(10)]);
		t.pushLines([line(11)]);
		await until(() => expect(events).toContain('line 11'));
		t.pushLines([line(12)]);
		expect(events).toEqual([
			...range(1, 5).map((l) => `line ${l.n}`),
			'skipped 6–9',
			'line 10',
			'line 11',
			'line 12'
		]);
		// the tool ends: by then every line is stored
		state.stored = 12;
		t.noteLineCount(12);
		await until(() => expect(events).toContain('late 9'));
		await t.idle();
		expect(events.slice(9)).toEqual(['late 6', 'late 7', 'late 8', 'late 9']);
		t.destroy();
	});

	it('hands on each skipped run by itself once stored, not the lines between them', async () => {
		const state = { stored: 2, asked: [] as [number, number | undefined][] };
		const rest = {
			getLogLines: async (_id: string, { after = 0, limit }: { after?: number; limit?: number } = {}) => {
				state.asked.push([after, limit]);
				return range(after + 1, limit === undefined ? state.stored : Math.min(state.stored, after + limit));
			}
		};
		const late: number[][] = [];
		const skips: string[] = [];
		const got: number[] = [];
		const t = new LogTail('x1', {
			rest,
			gapRetryDelayMs: 1,
			backoff: { baseMs: 5, capMs: 5 },
			retryBudgetMs: 200,
			onLines: (lines) => got.push(...lines.map((l) => l.n)),
			onLate: (lines) => late.push(lines.map((l) => l.n)),
			onSkip: ({ from, to }) => skips.push(`${from}–${to}`),
			onError: (err) => expect.fail(String(err))
		});
		await t.open();
		t.pushLines([line(5)]);
		await until(() => expect(got).toContain(5));
		t.pushLines([line(6)]);
		t.pushLines([line(9)]);
		await until(() => expect(got).toContain(9));
		expect(skips).toEqual(['3–4', '7–8']);
		state.stored = 9;
		t.noteLineCount(9);
		await until(() => expect(late).toHaveLength(2));
		await t.idle();
		expect(late).toEqual([
			[3, 4],
			[7, 8]
		]);
		// one late fetch for both runs: from the first skipped line through the last, 3–8
		expect(state.asked).toContainEqual([2, 6]);
		t.destroy();
	});

	it('starts after a given line to show only the end of a long log', async () => {
		const { rest } = store(10);
		const { t, got } = tail(rest, 7);
		await t.open();
		expect(got).toEqual([8, 9, 10]);
	});

	it('goes on handing live lines on while a tool prints faster than REST answers, without fetching again', async () => {
		// a REST round trip of 5 ms while a line arrives every millisecond
		const state = { count: 10, calls: 0 };
		const rest = {
			getLogLines: async (_id: string, { after = 0 }: { after?: number } = {}) => {
				state.calls++;
				const lines = range(after + 1, state.count);
				await new Promise((resolve) => setTimeout(resolve, 5));
				return lines;
			}
		};
		const { t, got } = tail(rest);
		const total = 200;
		const printer = setInterval(() => {
			if (state.count === total) return clearInterval(printer);
			t.pushLines([line(++state.count)]);
		}, 1);
		await t.open();
		const printedAtOpen = state.count;
		await vi.waitFor(() => expect(state.count).toBe(total), { timeout: 10_000, interval: 5 });
		await t.idle();
		expect(printedAtOpen).toBeLessThan(total);
		expect(got).toEqual(range(1, total).map((l) => l.n));
		expect(state.calls).toBeLessThanOrEqual(3);
	});

	it('leaves no abort listener behind after the waits between tries at a hole', async () => {
		// the store has each hole's lines only from the second time it is asked
		const state = { count: 1, asked: new Set<number>(), signal: null as AbortSignal | null };
		const rest = {
			getLogLines: async (
				_id: string,
				{ after = 0, signal }: { after?: number; signal?: AbortSignal } = {}
			) => {
				state.signal = signal ?? null;
				const firstTime = !state.asked.has(after);
				state.asked.add(after);
				return firstTime && after > 0 ? [] : range(after + 1, state.count);
			}
		};
		const warnings: Error[] = [];
		const onWarning = (warning: Error) => warnings.push(warning);
		process.on('warning', onWarning);
		try {
			const { t, got } = tail(rest);
			await t.open();
			for (let hole = 0; hole < 12; hole++) {
				state.count += 2;
				t.pushLines([line(state.count)]);
				await t.idle();
			}
			expect(got).toEqual(range(1, 25).map((l) => l.n));
			expect(getEventListeners(state.signal!, 'abort')).toHaveLength(0);
			await new Promise((resolve) => setImmediate(resolve));
			expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
		} finally {
			process.off('warning', onWarning);
		}
	});

	it('stops at a 404 for good: reports it once and asks no more, however many lines arrive', async () => {
		const calls: number[] = [];
		const errors: unknown[] = [];
		const t = new LogTail('x1', {
			rest: {
				getLogLines: async (_id: string, { after = 0 }: { after?: number } = {}) => {
					calls.push(after);
					throw notFound();
				}
			},
			onLines: () => expect.fail('no line can be handed on'),
			onError: (err) => errors.push(err)
		});
		await t.open();
		for (let n = 3; n < 40; n++) {
			t.pushLines([line(n)]);
			t.noteLineCount(n);
			await t.idle();
		}
		t.resync();
		await t.idle();
		expect(calls).toEqual([0]);
		expect(errors.map((e) => (e as Error).message)).toEqual(['No execution with id "x1".']);
		t.destroy();
	});

	it('tries a failing server (502) again after a back-off, says so once, then hands every line on', async () => {
		const state = { count: 3, failures: 3, calls: 0 };
		const retries: unknown[] = [];
		const t = new LogTail('x1', {
			rest: {
				getLogLines: async (_id: string, { after = 0 }: { after?: number } = {}) => {
					state.calls++;
					if (state.failures > 0) {
						state.failures--;
						throw badGateway();
					}
					return range(after + 1, state.count);
				}
			},
			backoff: { baseMs: 5, capMs: 5 },
			onLines: (lines) => got.push(...lines.map((l) => l.n)),
			onError: (err) => expect.fail(String(err)),
			onRetry: (err) => retries.push(err)
		});
		const got: number[] = [];
		await t.open();
		expect(got).toEqual([1, 2, 3]);
		expect(retries).toHaveLength(1);
		expect(state.calls).toBe(4);
		t.destroy();
	});

	it('waits out its back-off while the server fails: live lines do not make it ask again', async () => {
		const state = { calls: 0 };
		const retries: unknown[] = [];
		const t = new LogTail('x1', {
			rest: {
				getLogLines: async () => {
					state.calls++;
					throw badGateway();
				}
			},
			// the back-off outlasts the test: every request seen was asked for by a line
			backoff: { baseMs: 600_000, capMs: 600_000 },
			onLines: () => expect.fail('no line can be handed on'),
			onRetry: (err) => retries.push(err)
		});
		void t.open();
		await until(() => expect(retries).toHaveLength(1));
		for (let n = 3; n < 40; n++) {
			t.pushLines([line(n)]);
			await new Promise((resolve) => setImmediate(resolve));
		}
		t.noteLineCount(40);
		t.resync();
		await new Promise((resolve) => setImmediate(resolve));
		expect(state.calls).toBe(1);
		t.destroy();
		await t.idle();
	});

	it("stops at the server's own error (500): asking again would repeat it", async () => {
		const state = { calls: 0 };
		const errors: unknown[] = [];
		const t = new LogTail('x1', {
			rest: {
				getLogLines: async () => {
					state.calls++;
					throw new RestError(500, 'internal', 'The server failed.');
				}
			},
			backoff: { baseMs: 2, capMs: 2 },
			onLines: () => expect.fail('no line can be handed on'),
			onError: (err) => errors.push(err)
		});
		await t.open();
		expect(state.calls).toBe(1);
		expect(errors).toEqual([expect.objectContaining({ status: 500 })]);
		t.destroy();
	});

	it('gives up on a server that keeps failing past its retry budget, and says why once', async () => {
		const errors: unknown[] = [];
		const t = new LogTail('x1', {
			rest: {
				getLogLines: async () => {
					throw badGateway();
				}
			},
			backoff: { baseMs: 2, capMs: 2 },
			retryBudgetMs: 30,
			onLines: () => expect.fail('no line can be handed on'),
			onError: (err) => errors.push(err)
		});
		await t.open();
		expect(errors).toEqual([expect.objectContaining({ status: 502 })]);
		t.destroy();
	});
});
