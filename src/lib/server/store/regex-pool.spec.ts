import { afterEach, describe, expect, it } from 'vitest';
import { createRegexPool, type RegexPool } from './regex-pool';
import { lineMatches, matchingLines } from './search-match';

/** (a+)+$ backtracks 2^40 ways on each of these: only the time limit ends it */
const HOSTILE = /(a+)+$/gi;
const hostileLines = (count: number): [number, string][] =>
	Array.from({ length: count }, (_, i) => [i + 1, 'a'.repeat(40) + '!']);

describe('the regex pool', () => {
	const pools: RegexPool[] = [];
	const pool = (...args: Parameters<typeof createRegexPool>) => {
		const created = createRegexPool(...args);
		pools.push(created);
		return created;
	};
	afterEach(async () => {
		await Promise.all(pools.splice(0).map((p) => p.close()));
	});

	it('matches in its threads exactly as on this one: lines as a terminal shows them', async () => {
		const lines: [number, string][] = [
			[1, '\x1b[31mERROR\x1b[0m\tin 1'],
			[2, 'progress 10%\rerror fixed 2'],
			[3, 'ok 3'],
			[7, 'error error é ✓']
		];
		const regexes = pool({ workers: 2 });
		for (const re of [/error/gi, /ERROR {3}in/g, /z*/gi, /(e)(r+)/g]) {
			expect(await regexes.matchingLines(re, lines)).toEqual(matchingLines(re, lines));
			expect(await regexes.lineMatches(re, lines)).toEqual(lineMatches(re, lines));
		}
		expect(await regexes.matchingLines(/error/gi, lines)).toEqual([1, 2, 7]);
	});

	it('terminates a thread over the time limit with regex_timeout while the event loop runs on, and matches again after', async () => {
		const regexes = pool({ workers: 1, timeLimitMs: 300 });
		let ticks = 0;
		const timer = setInterval(() => ticks++, 5);
		try {
			await expect(regexes.matchingLines(HOSTILE, hostileLines(5))).rejects.toMatchObject({
				name: 'RegexPoolError',
				code: 'regex_timeout'
			});
		} finally {
			clearInterval(timer);
		}
		// the timer ran while the pattern backtracked (blocked, it would not have fired at all)
		expect(ticks).toBeGreaterThan(0);
		expect(await regexes.matchingLines(/a!/g, hostileLines(3))).toEqual([1, 2, 3]);
	});

	it('keeps at most maxQueue chunks waiting and refuses more at once with regex_busy', async () => {
		const regexes = pool({ workers: 1, maxQueue: 1, timeLimitMs: 200 });
		const first = regexes.matchingLines(HOSTILE, hostileLines(1));
		// the thread is still starting: the first chunk waits, the queue is full
		await expect(regexes.matchingLines(/a/g, hostileLines(1))).rejects.toMatchObject({ code: 'regex_busy' });
		await expect(first).rejects.toMatchObject({ code: 'regex_timeout' });
		expect(await regexes.matchingLines(/!/g, hostileLines(2))).toEqual([1, 2]);
	});

	it('fails what runs and what comes after with regex_closed once closed, and closes once', async () => {
		const regexes = pool({ workers: 1, timeLimitMs: 60_000 });
		await regexes.matchingLines(/a/g, hostileLines(1));
		const running = expect(regexes.matchingLines(HOSTILE, hostileLines(1))).rejects.toMatchObject({
			code: 'regex_closed'
		});
		await Promise.all([regexes.close(), regexes.close()]);
		await running;
		await expect(regexes.matchingLines(/a/g, hostileLines(1))).rejects.toMatchObject({
			code: 'regex_closed'
		});
	});
});
