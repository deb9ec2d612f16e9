import { constants, inflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { deflateMessage } from './deflate';

/** As a permessage-deflate receiver reads a message: the trailer added back, a full-size window. */
const inflate = (data: Buffer) =>
	inflateRawSync(Buffer.concat([data, Buffer.from([0, 0, 0xff, 0xff])]), {
		finishFlush: constants.Z_SYNC_FLUSH
	});

const json = (bytes: number) => {
	const events: string[] = [];
	for (let i = 0; Buffer.byteLength(events.join(',')) < bytes; i++) {
		events.push(
			JSON.stringify({
				type: 'tool.lines',
				seq: i,
				data: { lines: [{ line: i, output: `line ${i} ${'x'.repeat(i % 37)}` }] }
			})
		);
	}
	return Buffer.from(`[${events.join(',')}]`);
};

describe('deflateMessage', () => {
	it('compresses messages of any size so that a receiver with the full window inflates them exactly', () => {
		for (const size of [1, 100, 600, 3_000, 40_000, 200_000]) {
			const payload = json(size);
			const deflated = deflateMessage(payload, 1);
			expect(inflate(deflated).equals(payload)).toBe(true);
			expect(deflated.subarray(-4).equals(Buffer.from([0, 0, 0xff, 0xff]))).toBe(false);
		}
	});

	it('stands each message alone: the same payload compresses to the same bytes every time', () => {
		const payload = json(2_000);
		expect(deflateMessage(payload, 1).equals(deflateMessage(payload, 1))).toBe(true);
		expect(deflateMessage(payload, 1).length).toBeLessThan(payload.length / 3);
	});
});
