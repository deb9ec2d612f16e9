import { describe, expect, it } from 'vitest';
import { tokenizeAnsi } from './ansi-tokens';
import { PLAIN, applyToken, neutralizeBidi, type AnsiSpan, type AnsiStyle } from './ansi';
import { MAX_CURSOR_PAD, TAB_WIDTH, displaySpans, displayText } from './terminal';

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

/**
 * The terminal model written the plain way (one token array per line, one object per cell),
 * as `terminal.ts` had it before it was made linear: the reference the fast one must match.
 */
function referenceSpans(raw: string): AnsiSpan[] {
	return referenceForward(raw) ?? referenceCells(raw);
}

/** a line that only writes forward: a tab writes spaces in the current style */
function referenceForward(raw: string): AnsiSpan[] | null {
	if (/[\ud800-\udfff]/.test(raw)) return null;
	const spans: AnsiSpan[] = [];
	let style: Readonly<AnsiStyle> = PLAIN;
	let last: Readonly<AnsiStyle> | null = null;
	let col = 0;
	const add = (text: string) => {
		if (last === style) spans[spans.length - 1].text += text;
		else spans.push({ ...style, text });
		last = style;
		col += text.length;
	};
	for (const token of tokenizeAnsi(raw)) {
		if (token.type === 'text') add(neutralizeBidi(token.text));
		else if (token.type === 'control') {
			if (token.code === 13 || token.code === 8) return null;
			if (token.code === 9) add(' '.repeat(TAB_WIDTH - (col % TAB_WIDTH)));
		} else if (token.type === 'csi' && token.private === '' && token.final !== 'm') return null;
		else style = applyToken(style, token);
	}
	return spans;
}

/** any other line: cells, where a tab only moves the cursor */
function referenceCells(raw: string): AnsiSpan[] {
	const cells: { ch: string; style: Readonly<AnsiStyle> }[] = [];
	let col = 0;
	let style: Readonly<AnsiStyle> = PLAIN;
	const moveTo = (target: number) => {
		col = Math.max(0, Math.min(target, cells.length + MAX_CURSOR_PAD));
	};
	for (const token of tokenizeAnsi(raw)) {
		if (token.type === 'text') {
			const text = neutralizeBidi(token.text);
			for (let i = 0; i < text.length; i++) {
				const code = text.charCodeAt(i);
				const ch = code >= 0xd800 && code <= 0xdbff && i + 1 < text.length ? text.slice(i, ++i + 1) : text[i];
				while (cells.length < col) cells.push({ ch: ' ', style: PLAIN });
				cells[col++] = { ch, style };
			}
		} else if (token.type === 'control') {
			if (token.code === 13) col = 0;
			else if (token.code === 9) moveTo((Math.floor(col / TAB_WIDTH) + 1) * TAB_WIDTH);
			else if (token.code === 8) moveTo(col - 1);
		} else if (token.type === 'csi' && token.private === '' && token.final !== 'm') {
			const n = token.params === '' ? NaN : Number(token.params.split(';')[0]);
			const count = Number.isFinite(n) && n > 0 ? n : 1;
			const mode = Number.isFinite(n) ? n : 0;
			if (token.final === 'K' && mode === 0) cells.length = Math.min(cells.length, col);
			if (token.final === 'K' && mode === 1)
				for (let i = 0; i <= col && i < cells.length; i++) cells[i] = { ch: ' ', style: PLAIN };
			if (token.final === 'K' && mode === 2) cells.length = 0;
			const to = { G: count - 1, C: col + count, D: col - count }[token.final] ?? col;
			moveTo(to);
		} else if (token.type !== 'ignored') style = applyToken(style, token);
	}
	const spans: AnsiSpan[] = [];
	let last: Readonly<AnsiStyle> | null = null;
	for (const cell of cells) {
		if (cell.style === last) spans[spans.length - 1].text += cell.ch;
		else spans.push({ ...cell.style, text: cell.ch });
		last = cell.style;
	}
	return spans;
}

const referenceText = (raw: string) =>
	referenceSpans(raw)
		.map((s) => s.text)
		.join('');

/** a small seeded generator, so a failing line can be reproduced from its seed */
function random(seed: number): (n: number) => number {
	let state = seed;
	return (n) => {
		state = (Math.imul(state, 1103515245) + 12345) & 0x7fffffff;
		return state % n;
	};
}

/** pieces of hostile and ordinary terminal output; escapes come whole, cut, and malformed */
const PIECES = [
	...Array.from({ length: 0x20 }, (_, code) => String.fromCharCode(code)),
	...'\x7f \x85 \x9b \x9d \r \r \b \b \t \x1b \x1b'.split(' '),
	...'a b xyz [ ] ; 1 9 K m \\ 😀 \ud83d \ude00 中文 ✓ é \u202e \u2066'.split(' '),
	' ',
	'\x1b[ m',
	...'\x1b[31m \x1b[1;4;38;5;208m \x1b[38:2:1:2:3m \x1b[0m \x1b[m \x1b[22m'.split(' '),
	...'\x1b[K \x1b[0K \x1b[1K \x1b[2K \x1b[3G \x1b[G \x1b[5C \x1b[2D \x1b[999999999C'.split(' '),
	...'\x1b[?25l \x1b[>1m \x1b[2J \x1b[1;2 \x1b(B \x1b7 \x1b#8 \x1bP1$r\x1b\\ \x1b_apc'.split(' '),
	...'\x1b]8;;https://example.com/a\x07 \x1b]8;;\x1b\\ \x1b]8;;javascript:x\x07 \x1b]0;title'.split(' ')
];

function randomLine(next: (n: number) => number, pieces: number): string {
	let line = '';
	for (let i = 0; i < pieces; i++) line += PIECES[next(PIECES.length)];
	return line;
}

describe('displayText and displaySpans against the reference model', () => {
	it('give exactly what the reference gives on thousands of random hostile lines', () => {
		for (let seed = 1; seed <= 3000; seed++) {
			const next = random(seed);
			const raw = randomLine(next, 1 + next(40));
			expect({ seed, text: displayText(raw) }).toEqual({ seed, text: referenceText(raw) });
			expect({ seed, spans: displaySpans(raw) }).toEqual({ seed, spans: referenceSpans(raw) });
		}
	});

	it('give exactly what the reference gives on random bytes 0x00–0x7f', () => {
		for (let seed = 1; seed <= 300; seed++) {
			const next = random(seed);
			const raw = String.fromCharCode(...Array.from({ length: 1 + next(300) }, () => next(0x80)));
			expect({ seed, text: displayText(raw) }).toEqual({ seed, text: referenceText(raw) });
			expect({ seed, spans: displaySpans(raw) }).toEqual({ seed, spans: referenceSpans(raw) });
		}
	});
});

describe('pathological lines', () => {
	/** what `cat` of a binary file prints: a 64 KiB line of control bytes, `\r`, `\b`, lone ESC and text */
	const binary = (() => {
		const next = random(64);
		const codes = Array.from({ length: 65536 }, () => (next(2) === 0 ? next(0x20) : 0x20 + next(0x60)));
		let out = '';
		for (let i = 0; i < codes.length; i += 4096) out += String.fromCharCode(...codes.slice(i, i + 4096));
		return out;
	})();

	it('renders a 64 KiB line of binary output as the reference does', () => {
		expect(displayText(binary)).toBe(referenceText(binary));
		expect(displaySpans(binary)).toEqual(referenceSpans(binary));
	});

	it('keeps the last redraw of tens of thousands of \\r redraws', () => {
		expect(displayText('ab\r'.repeat(30000) + 'c')).toBe('cb');
		expect(displayText(`${'x'.repeat(40000)}\r`.repeat(3) + 'y')).toBe('y' + 'x'.repeat(39999));
	});

	it('steps back over a whole long line with backspaces', () => {
		expect(displayText('x'.repeat(65536) + '\b'.repeat(70000) + 'y')).toBe('y' + 'x'.repeat(65535));
		expect(displayText('😀😀\b\bx')).toBe('x😀');
	});

	it('erases to the cursor thousands of times on a long line', () => {
		expect(displayText('x'.repeat(40000) + '\x1b[1K'.repeat(10000) + 'y')).toBe(' '.repeat(40000) + 'y');
		const redraws = 'abcdef' + '\r\x1b[3G\x1b[1Kz'.repeat(10000);
		expect(displayText(redraws)).toBe('  zdef');
		expect(displaySpans('\x1b[31mabcdef\x1b[2D\x1b[1K\x1b[32mz')).toEqual([
			{ text: '    ' },
			{ text: 'z', fg: 'green' },
			{ text: 'f', fg: 'red' }
		]);
	});

	it('drops lone and malformed escapes however many there are', () => {
		expect(displayText('\x1b'.repeat(50000) + '\na')).toBe('a');
		expect(displayText('\x1b]'.repeat(20000) + 'a')).toBe('a');
		expect(displayText('\x1b[1;2'.repeat(10000) + '\n')).toBe('1;2'.repeat(10000));
	});

	it('ends an escape at the first other control character, as one pass over the line does', () => {
		expect(displayText('\x1b[12\nab')).toBe('12ab');
		expect(displayText('x\x1b[12')).toBe('x');
		expect(displayText('\x1b]0;title\rX')).toBe('X;title');
		expect(displaySpans('\x1b]8;;https://a.example/\x07\x07link\x1b]8;;\x07\r')).toEqual([
			{ text: 'link', href: 'https://a.example/' }
		]);
	});
});
