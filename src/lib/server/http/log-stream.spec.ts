import { describe, expect, it } from 'vitest';
import type { LogLine } from '../../protocol';
import { DOWNLOAD_CHUNK_CHARS, logChunks, segmentChunks, type LogLineSource } from './log-stream';

/** what `cat` of a binary stores: lines of 64 KiB of control characters, which JSON writes as \u00XX */
const BINARY = '\u0001'.repeat(64 * 1024);
const PAGE = 1_400;

/** one page of PAGE such lines (more than V8's longest string as NDJSON) */
const source: LogLineSource = {
	async *iterateLogLines() {
		yield Array.from({ length: PAGE }, (_, i): LogLine => ({
			n: i + 1,
			stream: 'stdout',
			ts: 't',
			text: BINARY
		}));
	}
};

/** the line numbers of NDJSON chunks, checking each chunk's size and each line's text */
async function ndjsonLines(chunks: AsyncGenerator<string, void, undefined>): Promise<number[]> {
	const numbers: number[] = [];
	const texts = new Set<string>();
	for await (const chunk of chunks) {
		expect(chunk.length).toBeLessThanOrEqual(DOWNLOAD_CHUNK_CHARS);
		expect(chunk.endsWith('\n')).toBe(true);
		for (const row of chunk.slice(0, -1).split('\n')) {
			numbers.push(Number(/"n":(\d+)/.exec(row)![1]));
			texts.add(row.slice(row.indexOf('"text":')));
		}
	}
	expect([...texts]).toEqual([`"text":${JSON.stringify(BINARY)}}`]);
	return numbers;
}

describe('a download of 64 KiB lines', () => {
	const all = Array.from({ length: PAGE }, (_, i) => i + 1);

	it('is whole and in order as NDJSON, in chunks of a bounded size', async () => {
		expect(await ndjsonLines(logChunks(source, 'a', { format: 'ndjson' }))).toEqual(all);
	});

	it('is whole and in order as NDJSON of several steps, in chunks of a bounded size', async () => {
		const chunks = segmentChunks(
			source,
			[{ executionId: 'a', header: 'A', fields: { step: 0 }, upTo: PAGE }],
			{
				format: 'ndjson'
			}
		);
		expect(await ndjsonLines(chunks)).toEqual(all);
	});

	it('is whole as text, in chunks of a bounded size', async () => {
		let lines = 0;
		for await (const chunk of logChunks(source, 'a', { format: 'text' })) {
			expect(chunk.length).toBeLessThanOrEqual(DOWNLOAD_CHUNK_CHARS);
			expect(chunk).toBe((BINARY + '\n').repeat(chunk.length / (BINARY.length + 1)));
			lines += chunk.length / (BINARY.length + 1);
		}
		expect(lines).toBe(PAGE);
	});
});
