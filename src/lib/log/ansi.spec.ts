import { describe, expect, it } from 'vitest';
import { parseAnsi, safeHref, stripAnsi } from './ansi';

describe('parseAnsi', () => {
	it('turns SGR colours and styles into spans of data', () => {
		expect(parseAnsi('\x1b[1;31merror\x1b[0m: \x1b[4;3;9;2;7mx\x1b[22;23;24;29;27m y')).toEqual([
			{ text: 'error', bold: true, fg: 'red' },
			{ text: ': ' },
			{ text: 'x', underline: true, italic: true, strike: true, dim: true, inverse: true },
			{ text: ' y' }
		]);
	});

	it('reads bright, 256-colour and 24-bit colours, in semicolon and colon forms', () => {
		expect(
			parseAnsi('\x1b[92;104ma\x1b[38;5;208;48;5;232mb\x1b[38;2;1;2;3mc\x1b[38:2::255:0:16md\x1b[39;49me')
		).toEqual([
			{ text: 'a', fg: 'bright-green', bg: 'bright-blue' },
			{ text: 'b', fg: '#ff8700', bg: '#080808' },
			{ text: 'c', fg: '#010203', bg: '#080808' },
			{ text: 'd', fg: '#ff0010', bg: '#080808' },
			{ text: 'e' }
		]);
	});

	it('keeps markup from the log as plain text, never as HTML', () => {
		const spans = parseAnsi('\x1b[31m<script>alert(1)</script>\x1b[0m<img src=x onerror=alert(1)>');
		expect(spans.map((s) => s.text).join('')).toBe('<script>alert(1)</script><img src=x onerror=alert(1)>');
		expect(spans[0]).toEqual({ text: '<script>alert(1)</script>', fg: 'red' });
	});

	it('links OSC 8 hyperlinks only to http and https URLs', () => {
		const link = (uri: string, end = '\x07') => parseAnsi(`\x1b]8;;${uri}${end}text\x1b]8;;${end} after`);
		expect(link('https://example.com/a?b=1')).toEqual([
			{ text: 'text', href: 'https://example.com/a?b=1' },
			{ text: ' after' }
		]);
		expect(link('http://example.com', '\x1b\\')[0]).toEqual({ text: 'text', href: 'http://example.com/' });
		for (const hostile of [
			'javascript:alert(1)',
			'JAVASCRIPT:alert(1)',
			'data:text/html,<script>x</script>',
			'vbscript:x',
			'/relative',
			'file:///etc/passwd'
		]) {
			expect(link(hostile)).toEqual([{ text: 'text after' }]);
		}
	});

	it('shows bidi override and isolate characters instead of letting them reorder the line', () => {
		const text = parseAnsi('access\u202e\u2066 granted\u2069\u202c')
			.map((s) => s.text)
			.join('');
		expect(text).toBe('access<U+202E><U+2066> granted<U+2069><U+202C>');
		expect(text).not.toMatch(/[\u202a-\u202e\u2066-\u2069]/);
	});

	it('does not let an unterminated escape swallow the rest of the line', () => {
		expect(stripAnsi('a\x1b]8;;https://x.y no terminator here')).toBe('a8;;https://x.y no terminator here');
		expect(stripAnsi('a\x1b[12;\x01b rest')).toBe('a12;\x01b rest');
		expect(stripAnsi(`a\x1b[${'1;'.repeat(100)}m rest`)).toContain(' rest');
		// cut off by the end of the line (a split escape): dropped whole
		expect(stripAnsi('done\x1b[3')).toBe('done');
		expect(stripAnsi('done\x1b')).toBe('done');
	});

	it('stays linear on hostile input', () => {
		const hostile = '\x1b]8;;'.repeat(20_000) + '\x1b['.repeat(20_000) + '\x1b[1m'.repeat(20_000);
		const started = performance.now();
		parseAnsi(hostile);
		stripAnsi(hostile);
		expect(performance.now() - started).toBeLessThan(2_000);
	});
});

describe('stripAnsi', () => {
	it('removes CSI, OSC and charset escapes and keeps \\r and tabs as printed', () => {
		expect(stripAnsi('\x1b[31mred\x1b[0m\r\x1b]0;title\x07x\t\x1b(By\x1b[?25l')).toBe('red\rx\ty');
	});

	it('returns a line without escapes unchanged', () => {
		const line = 'plain line with :: and [brackets]';
		expect(stripAnsi(line)).toBe(line);
	});
});

describe('safeHref', () => {
	it('accepts absolute http(s) URLs only', () => {
		expect(safeHref('https://a.b/c')).toBe('https://a.b/c');
		expect(safeHref('javascript:alert(1)')).toBeUndefined();
		expect(safeHref(' javascript:alert(1)')).toBeUndefined();
		expect(safeHref('https://' + 'a'.repeat(3000))).toBeUndefined();
	});
});
