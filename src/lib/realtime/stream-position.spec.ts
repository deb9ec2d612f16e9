import { describe, expect, it } from 'vitest';
import type { AnyEventEnvelope } from '$lib/protocol';
import { decodeFrame, StreamPosition } from './stream-position';

const data = { task_id: 't1', run_id: null, progress: 10, message: null };
const event = (seq: number) => ({ type: 'task.progress', seq, timestamp: '', data }) as AnyEventEnvelope;

describe('decodeFrame', () => {
	it('reads one event', () => {
		expect(decodeFrame(JSON.stringify(event(3)))).toEqual({ events: [event(3)], control: null });
	});

	it('unpacks a batch into its events, in order', () => {
		const frame = decodeFrame(JSON.stringify({ type: 'batch', events: [event(1), event(2)] }));
		expect(frame?.events.map((e) => e.seq)).toEqual([1, 2]);
		expect(frame?.control).toBeNull();
	});

	it('reads a control message, which has no seq', () => {
		const dropped = { type: 'dropped', timestamp: '', data: { count: 2, from_seq: 1, to_seq: 2 } };
		expect(decodeFrame(JSON.stringify(dropped))).toEqual({ events: [], control: dropped });
	});

	it('returns null for a frame that is not JSON', () => {
		expect(decodeFrame('{not json')).toBeNull();
	});

	it('returns null for JSON that is no message, and keeps only the events of a broken batch', () => {
		for (const raw of ['null', '42', '"text"', '[]', '{"no":"type"}'])
			expect(decodeFrame(raw), raw).toBeNull();
		const batch = { type: 'batch', events: [event(1), null, 7, { type: 'x', seq: 'two' }, event(2)] };
		expect(decodeFrame(JSON.stringify(batch))).toEqual({ events: [event(1), event(2)], control: null });
		expect(decodeFrame('{"type":"batch","events":"none"}')).toEqual({ events: [], control: null });
	});
});

describe('StreamPosition', () => {
	it('passes new events and drops the ones a replay repeats', () => {
		const position = new StreamPosition();
		position.moveTo('e1', 0);
		expect([1, 2, 2, 1, 3].map((seq) => position.advance(event(seq)))).toEqual([
			true,
			true,
			false,
			false,
			true
		]);
		expect(position.seq).toBe(3);
	});

	it('takes the server position on the first welcome', () => {
		const position = new StreamPosition();
		expect(position.welcome({ epoch: 'e1', seq: 40 }, false)).toBeNull();
		expect([position.epoch, position.seq]).toEqual(['e1', 40]);
	});

	it('asks to resume from its own seq on a reconnect within the same epoch', () => {
		const position = new StreamPosition();
		position.welcome({ epoch: 'e1', seq: 3 }, false);
		position.advance(event(9));
		expect(position.welcome({ epoch: 'e1', seq: 12 }, true)).toEqual({ epoch: 'e1', seq: 9 });
		expect(position.seq).toBe(9);
	});

	it('asks a new epoch to resume from the old position, and counts the new epoch from the server position', () => {
		const position = new StreamPosition();
		position.welcome({ epoch: 'e1', seq: 5 }, false);
		position.advance(event(8));
		// the server answers `reset` with what was missed; the new epoch's own events are not "seen"
		expect(position.welcome({ epoch: 'e2', seq: 1 }, true)).toEqual({ epoch: 'e1', seq: 8 });
		expect([position.epoch, position.seq]).toEqual(['e2', 1]);
		expect(position.advance(event(2))).toBe(true);
	});

	it('resumes from 0 when nothing had happened yet at the first connect', () => {
		const position = new StreamPosition();
		position.welcome({ epoch: 'e1', seq: 0 }, false);
		expect(position.welcome({ epoch: 'e1', seq: 7 }, true)).toEqual({ epoch: 'e1', seq: 0 });
		expect(position.seq).toBe(0);
	});

	it('never moves back within one epoch when the server names an older position', () => {
		const position = new StreamPosition();
		position.moveTo('e1', 10);
		position.moveTo('e1', 4);
		expect(position.seq).toBe(10);
		position.moveTo('e2', 4);
		expect([position.epoch, position.seq]).toEqual(['e2', 4]);
	});
});
