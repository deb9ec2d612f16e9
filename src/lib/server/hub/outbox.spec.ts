import { describe, expect, it } from 'vitest';
import type { Priority } from '../../protocol/events';
import { Outbox, type EventItem } from './outbox';

const item = (seq: number, priority: Priority = 'low', coalesceKey: string | null = null): EventItem => ({
	kind: 'event',
	seq,
	priority,
	frame: Buffer.alloc(10),
	at: 0,
	coalesceKey,
	replay: false
});

function drain(outbox: Outbox): (number | string)[] {
	const out: (number | string)[] = [];
	for (let next = outbox.shift(); next; next = outbox.shift()) {
		out.push(next.kind === 'event' ? next.seq : String(next.frame));
	}
	return out;
}

describe('Outbox', () => {
	it('keeps events and control replies in order', () => {
		const outbox = new Outbox({ maxMessages: 10, maxBytes: 1e6 });
		outbox.push(item(1), 0);
		outbox.pushControl('c');
		outbox.push(item(2, 'high'), 0);
		expect(drain(outbox)).toEqual([1, 'c', 2]);
		expect([outbox.length, outbox.bytes]).toEqual([0, 0]);
	});

	it('coalesces progress of the same task when full, latest value last', () => {
		const outbox = new Outbox({ maxMessages: 2, maxBytes: 1e6 });
		outbox.push(item(1, 'low', 'p:t1'), 0);
		outbox.push(item(2, 'normal'), 0);
		expect(outbox.push(item(3, 'low', 'p:t1'), 0)).toBe('coalesced');
		expect(drain(outbox)).toEqual([2, 3]);
		expect(outbox.takeDropped()).toBeNull();
	});

	it('drops the oldest low events for a higher one and sums the drops up once', () => {
		const outbox = new Outbox({ maxMessages: 3, maxBytes: 1e6 });
		outbox.push(item(1), 0);
		outbox.push(item(2, 'normal'), 0);
		outbox.push(item(3), 0);
		expect(outbox.push(item(4, 'high'), 0)).toBe('queued');
		expect(outbox.push(item(5, 'high'), 0)).toBe('queued');
		expect(outbox.push(item(6), 0)).toBe('dropped');
		expect(outbox.takeDropped()).toEqual({ count: 3, from_seq: 1, to_seq: 6 });
		expect(outbox.takeDropped()).toBeNull();
		expect(drain(outbox)).toEqual([2, 4, 5]);
	});

	it('refuses a high event it cannot hold, counting the bytes the socket still buffers', () => {
		const outbox = new Outbox({ maxMessages: 100, maxBytes: 25 });
		outbox.push(item(1, 'normal'), 0);
		expect(outbox.push(item(2, 'high'), 10)).toBe('overflow');
		expect(outbox.push(item(3, 'high'), 0)).toBe('queued');
	});

	it('merges replayed events by seq ahead of newer live ones, outside the bounds', () => {
		const outbox = new Outbox({ maxMessages: 1, maxBytes: 1e6 });
		outbox.push(item(10, 'normal'), 0);
		outbox.insertReplay([5, 6, 7].map((seq) => ({ ...item(seq), replay: true })));
		expect(outbox.liveEvents).toBe(1);
		expect(outbox.length).toBe(4);
		expect(drain(outbox)).toEqual([5, 6, 7, 10]);
	});
});
