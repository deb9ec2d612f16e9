/**
 * @module logview/span-style
 * How an ANSI span looks: palette colours become classes (so the page themes them), 256-colour
 * and true-colour values become inline CSS colours (only `#hex` from the parser, never log text).
 */
import type { AnsiSpan } from '$lib/log/ansi';

const HEX = /^#[0-9a-f]{3,8}$/i;

function colour(value: string | undefined, prefix: 'fg' | 'bg', classes: string[], styles: string[]): void {
	if (!value) return;
	if (value.startsWith('#')) {
		if (HEX.test(value)) styles.push(`${prefix === 'fg' ? 'color' : 'background-color'}:${value}`);
	} else if (/^[a-z-]+$/.test(value)) classes.push(`${prefix}-${value}`);
}

export interface SpanLook {
	className: string;
	style: string | undefined;
}

export function spanLook(span: AnsiSpan): SpanLook {
	const classes: string[] = [];
	const styles: string[] = [];
	const fg = span.inverse ? span.bg : span.fg;
	const bg = span.inverse ? span.fg : span.bg;
	if (span.inverse) classes.push(fg ? '' : 'inverse-fg', bg ? '' : 'inverse-bg');
	colour(fg, 'fg', classes, styles);
	colour(bg, 'bg', classes, styles);
	if (span.bold) classes.push('bold');
	if (span.dim) classes.push('dim');
	if (span.italic) classes.push('italic');
	if (span.underline) classes.push('underline');
	if (span.strike) classes.push('strike');
	return {
		className: classes.filter(Boolean).join(' '),
		style: styles.length ? styles.join(';') : undefined
	};
}
