import { describe, expect, it } from 'vitest';
import type { AnyDomainEvent } from '../../protocol/events';
import { FrameCache, frameCounts, frameEnds } from './frame-cache';
import { encodeControl, encodeEvent, framesWire, payloadsOf, welcomeEncoder } from './frames';
import { createEntry, type HistoryEntry } from './stream';

const event = (i: number, text = `line ${i} ${'é'.repeat(i % 7)}${'x'.repeat(i * 13)}`): AnyDomainEvent => ({
	type: 'tool.lines',
	timestamp: '2024-01-01T00:00:00.000Z',
	data: {
		task_id: 't',
		run_id: null,
		execution_id: 'e',
		lines: [
			{
				line: i,
				output: text,
				is_stderr: false,
				timestamp: '2024-01-01T00:00:00.000Z'
			}
		]
	}
});
const entries = (from: number, to: number): HistoryEntry[] =>
	Array.from({ length: to - from + 1 }, (_, i) => createEntry(from + i, event(from + i)));

describe('encodeEvent', () => {
	it('gives the UTF-8 of the envelope, whatever the text, and leaves every earlier frame whole', () => {
		// short multi-byte texts go straight into a slab; those past its frame limit are measured first
		const texts = [
			'plain',
			'é'.repeat(1000),
			'€ and 😀 '.repeat(200),
			'😀'.repeat(600),
			'€'.repeat(2500),
			'é'.repeat(3000),
			'x'.repeat(20_000),
			''
		];
		const made: { frame: Buffer; json: string }[] = [];
		// enough events to cross many 64 KiB slabs, with texts near and beyond a slab's frame limit
		for (let i = 1; i <= 3000; i++) {
			const e = event(i, texts[i % texts.length]! + i);
			const json = JSON.stringify({ type: e.type, seq: i, timestamp: e.timestamp, data: e.data });
			made.push({ frame: encodeEvent(e, i), json });
		}
		for (const { frame, json } of made) expect(frame.toString('utf8')).toBe(json);
		for (const { frame, json } of made) expect(frame.length).toBe(Buffer.byteLength(json));
	});
});

describe('framesWire', () => {
	it('builds in one buffer the very frames the frame cache makes of a run, whatever its cuts', () => {
		const all = entries(1, 40);
		for (const run of [
			all.slice(2, 3),
			all.slice(2, 31),
			all.slice(9, 40),
			all.filter((e) => e.seq % 3 !== 0)
		]) {
			for (const batchMax of [1, 4, 10]) {
				const wire = framesWire(run, frameEnds(run, batchMax));
				expect(wire.equals(new FrameCache().run(run, batchMax, false))).toBe(true);
				expect(payloadsOf(wire)).toHaveLength(frameCounts(run, batchMax).frames);
			}
		}
	});

	it('frames payloads past 125 and 65,535 bytes with the longer length headers', () => {
		const big = entries(1, 300);
		const wire = framesWire(big, [1, 300]);
		const [one, batch] = payloadsOf(wire);
		expect(JSON.parse(one!.toString()).seq).toBe(1);
		expect(batch!.length).toBeGreaterThan(65_535);
		expect((JSON.parse(batch!.toString()) as { events: { seq: number }[] }).events.map((e) => e.seq)).toEqual(
			big.slice(1).map((e) => e.seq)
		);
	});

	it('builds into a given buffer, leaving the bytes past the frames alone, and refuses one too small', () => {
		const run = entries(1, 25);
		const ends = frameEnds(run, 10);
		const alone = framesWire(run, ends);
		const into = Buffer.alloc(alone.length + 16, 0xee);
		const wire = framesWire(run, ends, into);
		expect(wire.buffer).toBe(into.buffer);
		expect(wire.equals(alone)).toBe(true);
		expect(into.subarray(alone.length).every((b) => b === 0xee)).toBe(true);
		expect(() => framesWire(run, ends, Buffer.alloc(alone.length - 1))).toThrow(RangeError);
	});
});

describe('welcomeEncoder', () => {
	it('writes the very text encodeControl makes of the welcome, for any client id, epoch and position', () => {
		const constants = {
			protocol: 1,
			heartbeat_interval_ms: 30_000,
			idle_timeout_ms: 120_000,
			limits: { max_message_bytes: 65_536, max_subscriptions: 32 }
		};
		const encode = welcomeEncoder(constants);
		const now = new Date('2025-01-15T12:00:00.123Z');
		for (const [clientId, epoch, seq] of [
			['3f0e8a4c-0b7e-4c5e-9d55-2f1b8f6f0a11', 'e1', 0],
			['c"\\é', 'ep"och\n', 9_007_199_254_740_991]
		] as const) {
			const data = { client_id: clientId, epoch, seq, ...constants };
			expect(encode(clientId, epoch, seq, now)).toBe(encodeControl('welcome', data, now));
			expect(JSON.parse(encode(clientId, epoch, seq, now))).toEqual({
				type: 'welcome',
				timestamp: now.toISOString(),
				data
			});
		}
	});
});
