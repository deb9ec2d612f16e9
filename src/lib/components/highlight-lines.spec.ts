import { describe, expect, it } from 'vitest';
import { highlightYaml, splitHighlightedLines } from './highlight-lines';

describe('highlightYaml', () => {
	it('gives one well-formed line of HTML per source line, with the text escaped', () => {
		const lines = highlightYaml('name: demo\ndescription: "<b>x</b>"\nrun: |\n  echo a\n  echo b\n');
		expect(lines).toHaveLength(5);
		expect(lines[0]).toContain('name');
		expect(lines[1]).toContain('&lt;b&gt;');
		expect(lines.join('')).not.toContain('<b>');
		for (const line of lines) {
			expect((line.match(/<span/g) ?? []).length).toBe((line.match(/<\/span>/g) ?? []).length);
		}
	});

	it('closes a span at a line break and opens it again on the next line', () => {
		expect(splitHighlightedLines('<span class="a">one\ntwo</span> three')).toEqual([
			'<span class="a">one</span>',
			'<span class="a">two</span> three'
		]);
	});
});
