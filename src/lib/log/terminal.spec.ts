import { describe, expect, it } from 'vitest';
import { displaySpans, displayText } from './terminal';

const joined = (raw: string) =>
	displaySpans(raw)
		.map((s) => s.text)
		.join('');

describe('displayText', () => {
	it('ends a \\r progress bar as its last state, like a terminal', () => {
		const tqdm = Array.from(
			{ length: 101 },
			(_, i) => `\r${String(i).padStart(3)}%|${'#'.repeat(i / 10)}`
		).join('');
		expect(displayText(tqdm)).toBe('100%|##########');
	});

	it('lets a shorter redraw overwrite only what it covers, and erase-in-line clear the rest', () => {
		expect(displayText('abcdef\rXY')).toBe('XYcdef');
		expect(displayText('abcdef\rXY\x1b[K')).toBe('XY');
		expect(displayText('abcdef\x1b[2K\rok')).toBe('ok');
		expect(displayText('abcdef\r\x1b[3Cz')).toBe('abczef');
	});

	it('expands tabs to 8-column stops', () => {
		expect(displayText('a\tb')).toBe('a       b');
		expect(displayText('12345678\tx')).toBe('12345678        x');
		expect(displayText('\tx')).toBe('        x');
	});

	it('applies backspace and removes other control characters', () => {
		expect(displayText('ab\bc')).toBe('ac');
		expect(displayText('a\x07b\x00c\x7fd')).toBe('abcd');
	});

	it('strips ANSI and keeps a line without specials as it is', () => {
		expect(displayText('\x1b[31mERROR\x1b[0m x')).toBe('ERROR x');
		const plain = 'nothing special <b>here</b>';
		expect(displayText(plain)).toBe(plain);
	});

	it('bounds cursor moves so a hostile sequence cannot allocate a huge line', () => {
		expect(displayText('a\x1b[999999999Cb').length).toBeLessThan(300);
		expect(displayText('a\x1b[999999999Gb').length).toBeLessThan(300);
	});

	it('keeps a surrogate pair whole when overwriting', () => {
		expect(displayText('😀x\rab')).toBe('ab');
		expect(displayText('a😀\rb')).toBe('b😀');
	});

	it('makes bidi controls visible', () => {
		expect(displayText('x\u202ey')).toBe('x<U+202E>y');
	});
});

describe('displaySpans', () => {
	it('agrees with displayText on every character offset', () => {
		for (const raw of [
			'\x1b[31mred\x1b[0m plain\rRE',
			'\x1b[1mbold\x1b[0m\tand\x1b[32m green\x1b[0m',
			' 10%|#\r\x1b[33m 90%\x1b[0m|#########',
			'a\u202eb\x1b]8;;https://x.y\x07link\x1b]8;;\x07',
			'plain'
		]) {
			expect(joined(raw)).toBe(displayText(raw));
		}
	});

	it('keeps each cell in the style it was written with', () => {
		expect(displaySpans('\x1b[31mabcdef\x1b[0m\r\x1b[32mXY')).toEqual([
			{ text: 'XY', fg: 'green' },
			{ text: 'cdef', fg: 'red' }
		]);
	});

	it('keeps safe links and drops unsafe ones', () => {
		expect(
			displaySpans(
				'\x1b]8;;https://ok.example/\x07ok\x1b]8;;\x07 \x1b]8;;javascript:alert(1)\x07bad\x1b]8;;\x07'
			)
		).toEqual([{ text: 'ok', href: 'https://ok.example/' }, { text: ' bad' }]);
	});

	it('returns no spans for an empty line', () => {
		expect(displaySpans('')).toEqual([]);
	});
});
