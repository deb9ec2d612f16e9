import { describe, expect, it } from 'vitest';
import { newId } from './ids';

describe('newId', () => {
	it('makes short URL-safe ids that start with their prefix', () => {
		for (const prefix of ['run', 'task', 'exec'] as const) {
			const id = newId(prefix);
			expect(id).toMatch(new RegExp(`^${prefix}_[0-9a-z]{11}[A-Za-z0-9_-]{8}$`));
			expect(encodeURIComponent(id)).toBe(id);
		}
	});

	it('never repeats and sorts in creation order, also within one millisecond', () => {
		const ids = Array.from({ length: 5000 }, () => newId('task'));
		expect(new Set(ids).size).toBe(ids.length);
		expect([...ids].sort()).toEqual(ids);
	});
});
