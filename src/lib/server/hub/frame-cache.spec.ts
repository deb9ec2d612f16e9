import { constants, inflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { AnyDomainEvent } from '../../protocol/events';
import { FrameCache, frameCounts } from './frame-cache';
import { payloadsOf } from './frames';
import { createEntry, type HistoryEntry } from './stream';

const event = (i: number): AnyDomainEvent => ({
	type: 'task.progress',
	timestamp: '2024-01-01T00:00:00.000Z',
	data: { task_id: 't', run_id: null, progress: i, message: 'x'.repeat(50) }
});
const entries = (from: number, to: number): HistoryEntry[] =>
	Array.from({ length: to - from + 1 }, (_, i) => createEntry(from + i, event(from + i)));
const seqsIn = (wire: Buffer) =>
	payloadsOf(wire).map((p) => {
		const frame = JSON.parse(p.toString()) as { seq?: number; events?: { seq: number }[] };
		return frame.events?.map((e) => e.seq) ?? [frame.seq!];
	});

describe('FrameCache', () => {
	it('cuts consecutive events on seq multiples of the batch size, so readers at other positions share frames', () => {
		const cache = new FrameCache();
		const all = entries(1, 12);
		const run = cache.run(all.slice(2), 5, false);
		expect(seqsIn(run)).toEqual([
			[3, 4, 5],
			[6, 7, 8, 9, 10],
			[11, 12]
		]);
		expect(frameCounts(all.slice(2), 5)).toEqual({ frames: 3, batches: 3 });
		// another reader at seq 6 gets the very same frame for 6…10
		const later = cache.run(all.slice(5, 10), 5, false);
		expect(payloadsOf(later)[0]!.equals(payloadsOf(run)[1]!)).toBe(true);
		expect(cache.run(all.slice(5, 10), 5, false)).toBe(later);
	});

	it('hands a reader its frames as separate buffers, the very batch frames every other reader of those events gets', () => {
		const cache = new FrameCache();
		const all = entries(1, 30);
		const first = cache.parts(all.slice(0, 20), 10, false);
		const second = cache.parts(all.slice(10, 30), 10, false);
		expect(first.map(seqsIn)).toEqual([
			[Array.from({ length: 10 }, (_, i) => i + 1)],
			[Array.from({ length: 10 }, (_, i) => i + 11)]
		]);
		expect(second[0]).toBe(first[1]);
		expect(Buffer.concat(second).equals(cache.run(all.slice(10, 30), 10, false))).toBe(true);
	});

	it('frames the mix of events a filtered client gets in batches of at most the batch size', () => {
		const cache = new FrameCache();
		const mix = entries(1, 9).filter((e) => e.seq % 2 === 1);
		expect(seqsIn(cache.run(mix, 2, false))).toEqual([[1, 3], [5, 7], [9]]);
	});

	it('compresses a frame once, as permessage-deflate without context takeover that any inflater reads', () => {
		const cache = new FrameCache({ level: 1, thresholdBytes: 0 });
		const run = entries(1, 3);
		const wire = cache.run(run, 10, true);
		expect(wire[0]).toBe(0xc1);
		expect(cache.run(run, 10, true)).toBe(wire);
		const [payload] = payloadsOf(wire);
		// as a receiver does: add the trailer back and inflate up to a sync point
		const text = inflateRawSync(Buffer.concat([payload!, Buffer.from([0, 0, 0xff, 0xff])]), {
			finishFlush: constants.Z_SYNC_FLUSH
		}).toString();
		expect((JSON.parse(text) as { events: { seq: number }[] }).events.map((e) => e.seq)).toEqual([1, 2, 3]);
		expect(cache.control('{"type":"x"}', true)[0]).toBe(0xc1);
	});

	it('keeps at most its byte bound of frames, rebuilding older ones when asked again', () => {
		const cache = new FrameCache(null, 4096);
		const all = entries(1, 200);
		for (let i = 0; i < 200; i += 10) cache.run(all.slice(i, i + 10), 10, false);
		expect(cache.bytes).toBeLessThanOrEqual(4096);
		expect(seqsIn(cache.run(all.slice(0, 10), 10, false))).toEqual([[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]]);
	});
});
