import { describe, expect, it } from 'vitest';
import { makeLines } from '$lib/realtime/test-fixtures';
import { LineCache } from './line-cache';

function fill(cache: LineCache, from: number, to: number) {
	for (const line of makeLines(from, to)) cache.set(line.n, line);
}

describe('LineCache', () => {
	it('holds lines by position in fixed pages', () => {
		const cache = new LineCache({ pageSize: 10 });
		fill(cache, 1, 25);
		expect(cache.get(17)?.text).toBe('line 17');
		expect(cache.pageCount).toBe(3);
		expect(cache.isComplete(1, 25)).toBe(true);
		expect(cache.isComplete(2, 30)).toBe(false);
	});

	it('names the pages a range still lacks', () => {
		const cache = new LineCache({ pageSize: 10 });
		fill(cache, 1, 10);
		fill(cache, 21, 25);
		expect(cache.missingPages(1, 40, 40)).toEqual([1, 2, 3]);
		expect(cache.missingPages(1, 40, 25)).toEqual([1]);
	});

	it('evicts the pages farthest from the focus once over its bound', () => {
		const cache = new LineCache({ pageSize: 10, maxPages: 3 });
		cache.focus(55);
		fill(cache, 1, 100);
		expect(cache.pageCount).toBe(3);
		expect(cache.size).toBeLessThanOrEqual(30);
		expect(cache.has(55)).toBe(true);
		expect(cache.has(1)).toBe(false);
	});

	it('forgets positions from a line on', () => {
		const cache = new LineCache({ pageSize: 10 });
		fill(cache, 1, 30);
		cache.dropFrom(15);
		expect(cache.has(14)).toBe(true);
		expect(cache.has(15)).toBe(false);
		expect(cache.has(25)).toBe(false);
		expect(cache.size).toBe(14);
	});

	it('gives the full prefix only when every line of it is held', () => {
		const cache = new LineCache({ pageSize: 10 });
		fill(cache, 1, 5);
		expect(cache.prefix(5)?.map((l) => l.n)).toEqual([1, 2, 3, 4, 5]);
		expect(cache.prefix(6)).toBeNull();
	});
});
