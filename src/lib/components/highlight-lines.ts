/**
 * @module components/highlight-lines
 * YAML highlighted by highlight.js, cut into lines so each can be numbered and one marked (the
 * line a load error names). highlight.js escapes the source; spans that run over a line break
 * are closed at its end and opened again on the next line, so every line is well-formed HTML.
 */
import hljs from 'highlight.js/lib/core';
import yaml from 'highlight.js/lib/languages/yaml';

hljs.registerLanguage('yaml', yaml);

/** Splits highlighted HTML (only `<span class="…">`, `</span>`, text and entities) into lines. */
export function splitHighlightedLines(html: string): string[] {
	const lines: string[] = [];
	const open: string[] = [];
	let current = '';
	const tag = /<span[^>]*>|<\/span>|\n/g;
	let last = 0;
	for (let match = tag.exec(html); match; match = tag.exec(html)) {
		current += html.slice(last, match.index);
		last = match.index + match[0].length;
		if (match[0] === '\n') {
			lines.push(current + '</span>'.repeat(open.length));
			current = open.join('');
		} else if (match[0] === '</span>') {
			open.pop();
			current += match[0];
		} else {
			open.push(match[0]);
			current += match[0];
		}
	}
	current += html.slice(last);
	lines.push(current + '</span>'.repeat(open.length));
	return lines;
}

/** The source as highlighted lines (HTML with the text escaped). */
export function highlightYaml(source: string): string[] {
	const text = source.replace(/\r\n?/g, '\n');
	const html = hljs.highlight(text, { language: 'yaml', ignoreIllegals: true }).value;
	const lines = splitHighlightedLines(html);
	// a final newline makes no line of its own
	if (text.endsWith('\n') && lines.length > 1) lines.pop();
	return lines;
}
