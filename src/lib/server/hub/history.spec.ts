import { describe, expect, it } from 'vitest';
import type { AnyDomainEvent } from '../../protocol/events';
import { History } from './history';
import { createEntry } from './stream';

const event: AnyDomainEvent = {
	type: 'task.progress',
	timestamp: '2024-01-01T00:00:00.000Z',
	data: { task_id: 't', run_id: null, progress: 1, message: null }
};

function fill(history: History, from: number, to: number, bytes = 10): void {
	for (let seq = from; seq <= to; seq++)
		history.append({ ...createEntry(seq, event), frame: Buffer.alloc(bytes) });
}

describe('History', () => {
	it('returns every event after a seq, in order, and nothing for an up-to-date client', () => {
		const history = new History({ maxEvents: 100, maxBytes: 1e9, maxAgeMs: 0 });
		fill(history, 1, 10);
		expect(history.readAfter(7, 100)?.map((e) => e.seq)).toEqual([8, 9, 10]);
		expect(history.readAfter(10, 100)).toEqual([]);
		expect(history.readAfter(0, 100)?.length).toBe(10);
	});

	it('keeps at most maxEvents and says it cannot cover a gap reaching past the oldest', () => {
		const history = new History({ maxEvents: 5, maxBytes: 1e9, maxAgeMs: 0 });
		fill(history, 1, 10);
		expect(history.size).toBe(5);
		expect(history.readAfter(5, 100)?.map((e) => e.seq)).toEqual([6, 7, 8, 9, 10]);
		expect(history.readAfter(4, 100)).toBeNull();
	});

	it('bounds bytes and age, and refuses a seq from beyond its newest event', () => {
		let now = 0;
		const history = new History({ maxEvents: 100, maxBytes: 3 * (100 + 64), maxAgeMs: 1000, now: () => now });
		fill(history, 1, 5, 100);
		expect(history.size).toBe(3);
		now = 2000;
		fill(history, 6, 6, 100);
		expect(history.stats()).toMatchObject({ events: 1, oldest_seq: 6, newest_seq: 6 });
		expect(history.readAfter(7, 100)).toBeNull();
	});

	it('with no history at all still resumes a client that missed nothing', () => {
		const history = new History({ maxEvents: 0, maxBytes: 0, maxAgeMs: 0 });
		fill(history, 1, 3);
		expect(history.readAfter(3, 100)).toEqual([]);
		expect(history.readAfter(2, 100)).toBeNull();
	});

	it('reads a page at a time and forgets everything on a restart', () => {
		const history = new History({ maxEvents: 100, maxBytes: 1e9, maxAgeMs: 0 });
		fill(history, 1, 10);
		expect(history.readAfter(2, 3)?.map((e) => e.seq)).toEqual([3, 4, 5]);
		expect(history.firstSeq()).toBe(1);
		history.restart(50);
		expect(history.firstSeq()).toBe(51);
		expect(history.readAfter(10, 3)).toBeNull();
		fill(history, 51, 52);
		expect(history.readAfter(50, 3)?.map((e) => e.seq)).toEqual([51, 52]);
	});

	it('refuses a seq that skips', () => {
		const history = new History({ maxEvents: 5, maxBytes: 1e9, maxAgeMs: 0 });
		fill(history, 1, 1);
		expect(() => fill(history, 3, 3)).toThrow(RangeError);
	});
});
