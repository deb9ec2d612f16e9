import { describe, expect, it, vi } from 'vitest';
import { LineSplitter } from './line-splitter';

function split(chunks: (Buffer | string)[], maxLineLength?: number): string[] {
	const lines: string[] = [];
	const splitter = new LineSplitter((line) => lines.push(line), maxLineLength ? { maxLineLength } : {});
	for (const chunk of chunks) splitter.write(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
	splitter.end();
	return lines;
}

describe('LineSplitter', () => {
	it('emits each complete line without its terminator', () => {
		expect(split(['one\ntwo\nthree\n'])).toEqual(['one', 'two', 'three']);
	});

	it('holds a partial line until the rest arrives', () => {
		const lines: string[] = [];
		const splitter = new LineSplitter((line) => lines.push(line));
		splitter.write(Buffer.from('hel'));
		splitter.write(Buffer.from('lo wo'));
		expect(lines).toEqual([]);
		splitter.write(Buffer.from('rld\nnext'));
		expect(lines).toEqual(['hello world']);
		splitter.end();
		expect(lines).toEqual(['hello world', 'next']);
	});

	it('flushes a last line without a newline at the end, and nothing when there is none', () => {
		expect(split(['a\nb'])).toEqual(['a', 'b']);
		expect(split(['a\n'])).toEqual(['a']);
		expect(split([])).toEqual([]);
	});

	it('keeps empty lines', () => {
		expect(split(['\n\na\n\n'])).toEqual(['', '', 'a', '']);
	});

	it('ends CRLF lines without the \\r, also when CR and LF arrive in different chunks', () => {
		expect(split(['one\r\ntwo\r', '\nthree\r\n'])).toEqual(['one', 'two', 'three']);
	});

	it('keeps a bare \\r inside a line for the viewer', () => {
		expect(split(['10%\r50%\r100%\n'])).toEqual(['10%\r50%\r100%']);
	});

	it('decodes multi-byte characters split across chunks', () => {
		const bytes = Buffer.from('größe → 日本 🎉\n');
		const chunks = [...bytes].map((byte) => Buffer.from([byte]));
		expect(split(chunks)).toEqual(['größe → 日本 🎉']);
	});

	it('replaces invalid UTF-8 instead of failing', () => {
		expect(split([Buffer.from([0x61, 0xff, 0x62, 0x0a])])).toEqual(['a\ufffdb']);
	});

	it('cuts a line longer than the limit into pieces without losing anything', () => {
		const long = 'x'.repeat(25);
		expect(split([long + '\nshort\n'], 10)).toEqual(['x'.repeat(10), 'x'.repeat(10), 'x'.repeat(5), 'short']);
		expect(split(['y'.repeat(10) + '\n'], 10)).toEqual(['y'.repeat(10)]);
	});

	it('emits pieces of a huge line before its end arrives, so memory stays bounded', () => {
		const lines: string[] = [];
		const splitter = new LineSplitter((line) => lines.push(line), { maxLineLength: 1000 });
		for (let i = 0; i < 100; i++) splitter.write(Buffer.from('z'.repeat(777)));
		expect(lines.length).toBe(77);
		expect(lines.every((line) => line.length === 1000)).toBe(true);
		splitter.write(Buffer.from('\n'));
		splitter.end();
		expect(lines.join('')).toBe('z'.repeat(77_700));
	});

	it('does not turn the \\r of a CRLF split at a piece boundary into an extra line', () => {
		expect(split(['abcd\r', '\nef\n'], 4)).toEqual(['abcd', 'ef']);
	});

	it('never cuts between the halves of a surrogate pair', () => {
		const lines = split(['a🎉b🎉\n'], 2);
		expect(lines.join('')).toBe('a🎉b🎉');
		expect(lines.every((line) => !/[\ud800-\udbff]$/.test(line))).toBe(true);
	});

	it('ignores writes after end', () => {
		const lines: string[] = [];
		const splitter = new LineSplitter((line) => lines.push(line));
		splitter.end();
		splitter.write(Buffer.from('late\n'));
		expect(lines).toEqual([]);
	});

	describe('live progress bars', () => {
		function live(progressFlushMs = 1000) {
			const pieces: [string, boolean][] = [];
			const splitter = new LineSplitter((line, partial) => pieces.push([line, partial]), { progressFlushMs });
			return {
				pieces,
				write: (text: string) => splitter.write(Buffer.from(text)),
				end: () => splitter.end()
			};
		}

		it('hands on a \r-redrawn line without newline as a partial snapshot after a pause', async () => {
			vi.useFakeTimers();
			try {
				const { pieces, write } = live();
				write('  0%|\r 50%|#');
				expect(pieces).toEqual([]);
				await vi.advanceTimersByTimeAsync(1000);
				expect(pieces).toEqual([['  0%|\r 50%|#', true]]);
				write('\r100%|##\nnext\n');
				expect(pieces.slice(1)).toEqual([
					['\r100%|##', false],
					['next', false]
				]);
			} finally {
				vi.useRealTimers();
			}
		});

		it('joins back to exactly what the tool printed: a newline only after non-partial pieces', async () => {
			vi.useFakeTimers();
			try {
				const { pieces, write, end } = live(10);
				const printed = ['a\r', 'b\rc', '\rd\n', 'plain\r\n', 'x\ry', '\rz'];
				for (const chunk of printed) {
					write(chunk);
					await vi.advanceTimersByTimeAsync(20);
				}
				end();
				const joined = pieces.map(([text, partial]) => text + (partial ? '' : '\n')).join('');
				// byte for byte, except that CRLF is stored as LF
				expect(joined).toBe('a\rb\rc\rd\nplain\nx\ry\rz');
				expect(pieces.some(([, partial]) => partial)).toBe(true);
			} finally {
				vi.useRealTimers();
			}
		});

		it('does not snapshot a line that merely ends in \r (a CRLF half) or has none', async () => {
			vi.useFakeTimers();
			try {
				const { pieces, write } = live(10);
				write('waiting for the rest');
				write('line ending in CR\r');
				await vi.advanceTimersByTimeAsync(50);
				expect(pieces).toEqual([]);
			} finally {
				vi.useRealTimers();
			}
		});

		it('marks the pieces of an overlong line partial, all but the last', () => {
			const pieces: [string, boolean][] = [];
			const splitter = new LineSplitter((line, partial) => pieces.push([line, partial]), {
				maxLineLength: 4
			});
			splitter.write('abcdefghij\n');
			expect(pieces).toEqual([
				['abcd', true],
				['efgh', true],
				['ij', false]
			]);
		});
	});
});
