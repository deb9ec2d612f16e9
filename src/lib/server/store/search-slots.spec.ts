import { describe, expect, it } from 'vitest';
import { SearchSlots, type SearchSlot } from './search-slots';

describe('search slots', () => {
	it('gives a caller its share and the node its total, and takes them back on release, once', () => {
		const slots = new SearchSlots({ perCaller: 2, total: 3 });
		const a1 = slots.take('a') as SearchSlot;
		const a2 = slots.take('a') as SearchSlot;
		expect(slots.take('a')).toBe('caller');
		const b1 = slots.take('b') as SearchSlot;
		expect(slots.take('c')).toBe('total');
		expect(slots.taken).toBe(3);

		a1.release();
		a1.release();
		expect(slots.taken).toBe(2);
		expect(slots.take('a')).not.toBe('caller');
		for (const slot of [a2, b1]) slot.release();
		expect(slots.taken).toBe(1);
		expect(slots.take('c')).not.toBe('total');
	});
});
