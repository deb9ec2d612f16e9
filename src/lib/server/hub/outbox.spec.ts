import { describe, expect, it } from 'vitest';
import type { AnyDomainEvent } from '../../protocol/events';
import { Deque, Outbox } from './outbox';
import { createEntry } from './stream';

const event: AnyDomainEvent = {
	type: 'task.progress',
	timestamp: '2024-01-01T00:00:00.000Z',
	data: { task_id: 't', run_id: null, progress: 1, message: null }
};

describe('Deque', () => {
	it('keeps order across growth and wrap-around, and frees what it shifts', () => {
		const deque = new Deque<number>();
		const out: number[] = [];
		for (let i = 0; i < 100; i++) {
			deque.push(i);
			if (i % 3 === 0) out.push(deque.shift()!);
		}
		while (deque.length) out.push(deque.shift()!);
		expect(out).toEqual(Array.from({ length: 100 }, (_, i) => i));
		expect(deque.shift()).toBeUndefined();
		expect(deque.peek()).toBeUndefined();
	});

	it('takes items again after being cleared, whether it had grown or not', () => {
		for (const held of [3, 40]) {
			const deque = new Deque<number>();
			for (let i = 0; i < held; i++) deque.push(i);
			deque.clear();
			expect([deque.length, deque.peek(), deque.shift()]).toEqual([0, undefined, undefined]);
			for (let i = 0; i < 20; i++) deque.push(100 + i);
			const out: number[] = [];
			while (deque.length) out.push(deque.shift()!);
			expect(out).toEqual(Array.from({ length: 20 }, (_, i) => 100 + i));
		}
	});
});

describe('Outbox', () => {
	it('keeps live events and replies apart, each in order, with their bytes and positions', () => {
		const outbox = new Outbox();
		const a = createEntry(1, event);
		const b = createEntry(2, event);
		outbox.pushEvent(a);
		outbox.pushControl('{"r":1}', 1);
		outbox.pushEvent(b);
		expect([outbox.events, outbox.controls, outbox.slots]).toEqual([2, 1, 3]);
		expect(outbox.bytes).toBe(a.frame.length + b.frame.length + 7);
		expect(outbox.peekControl()).toMatchObject({ frame: '{"r":1}', afterSeq: 1, size: 7 });
		expect([outbox.shiftEvent()?.seq, outbox.shiftEvent()?.seq, outbox.shiftEvent()]).toEqual([
			1,
			2,
			undefined
		]);
		expect(outbox.shiftControl()?.frame).toBe('{"r":1}');
		expect([outbox.slots, outbox.bytes]).toEqual([0, 0]);
	});

	it('forgets its live events at once when the client goes to read history, keeping its replies', () => {
		const outbox = new Outbox();
		for (let seq = 1; seq <= 1000; seq++) outbox.pushEvent(createEntry(seq, event));
		outbox.pushControl('x', 1000);
		outbox.clearEvents();
		expect([outbox.events, outbox.controls, outbox.bytes]).toEqual([0, 1, 1]);
	});
});
