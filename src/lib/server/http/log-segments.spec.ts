import { describe, expect, it } from 'vitest';
import type { LogLine } from '../../protocol';
import type { Store } from '../store/types';
import { logSegmentsStream, type LogSegment } from './log-stream';

const logs: Record<string, LogLine[]> = {
	a: [
		{ n: 1, stream: 'stdout', ts: 't', text: 'one' },
		{ n: 2, stream: 'stdout', ts: 't', text: 'piece', partial: true }
	],
	b: [
		{ n: 1, stream: 'stderr', ts: 't', text: '\u001b[31mred\u001b[0m' },
		{ n: 2, stream: 'stdout', ts: 't', text: 'written after the download began' }
	]
};

const store = {
	async *iterateLogLines(id: string) {
		yield logs[id];
	}
} as unknown as Store;

const segments: LogSegment[] = [
	{ executionId: 'a', header: '=== A ===', fields: { step: 0 }, upTo: 2 },
	{ executionId: 'b', header: '=== B ===', fields: { step: 1 }, upTo: 1 }
];

async function read(stream: ReadableStream<Uint8Array>): Promise<string> {
	return new Response(stream).text();
}

describe('logSegmentsStream', () => {
	it('puts each step after its header on a line of its own, also after a partial last line', async () => {
		const text = await read(logSegmentsStream(store, segments, { format: 'text', ansi: 'strip' }));
		expect(text).toBe('=== A ===\none\npiece\n=== B ===\nred\n');
	});

	it('keeps ANSI when asked and stops each log at the line count it had when the download began', async () => {
		const text = await read(logSegmentsStream(store, segments, { format: 'text', ansi: 'keep' }));
		expect(text.endsWith('\u001b[31mred\u001b[0m\n')).toBe(true);
		expect(text).not.toContain('written after');
	});

	it('adds the step fields to each NDJSON line and writes no headers', async () => {
		const rows = (await read(logSegmentsStream(store, segments, { format: 'ndjson' })))
			.trim()
			.split('\n')
			.map((row) => JSON.parse(row));
		expect(rows.map((row) => [row.step, row.n])).toEqual([
			[0, 1],
			[0, 2],
			[1, 1]
		]);
	});
});
