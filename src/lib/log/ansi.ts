/**
 * @module log/ansi
 * ANSI styles of tool output as data: `parseAnsi` turns a line into styled spans (never HTML),
 * `stripAnsi` removes every escape sequence. Shared by the server (download, search) and the
 * browser (rendering), so pure: no DOM, no Node.
 *
 * Colours (`fg`, `bg`): the 16 standard colours are palette names from {@link ANSI_COLOR_NAMES}
 * (`'red'`, `'bright-blue'`, …) so the page themes them (e.g. a class `ansi-fg-red`); 256-colour
 * indices 16–255 and 24-bit colours are CSS hex strings (`'#ff8700'`). A value starting with `#`
 * is a CSS colour, anything else a palette name.
 *
 * Safety: links come only from OSC 8 and only with an http/https URL (others keep their text,
 * unlinked); bidi embedding/override/isolate controls (U+202A–202E, U+2066–2069), which could
 * make a line read differently from what it is, are shown as `<U+202E>` instead.
 */
import { tokenizeAnsi, type AnsiToken } from './ansi-tokens';

export interface AnsiStyle {
	fg?: string;
	bg?: string;
	bold?: boolean;
	dim?: boolean;
	italic?: boolean;
	underline?: boolean;
	strike?: boolean;
	inverse?: boolean;
	/** only http: or https: URLs, from OSC 8 */
	href?: string;
}

export interface AnsiSpan extends AnsiStyle {
	text: string;
}

export const ANSI_COLOR_NAMES = [
	'black',
	'red',
	'green',
	'yellow',
	'blue',
	'magenta',
	'cyan',
	'white',
	'bright-black',
	'bright-red',
	'bright-green',
	'bright-yellow',
	'bright-blue',
	'bright-magenta',
	'bright-cyan',
	'bright-white'
] as const;

export const MAX_HREF_LENGTH = 2048;

/** the plain style; styles are immutable, so spans compare styles by identity */
export const PLAIN: Readonly<AnsiStyle> = Object.freeze({});

const BIDI_CONTROLS = /[\u202a-\u202e\u2066-\u2069]/g;

/** bidi controls made visible (`<U+202E>`), so a line cannot reorder itself on screen */
export function neutralizeBidi(text: string): string {
	return text.replace(BIDI_CONTROLS, (c) => `<U+${c.charCodeAt(0).toString(16).toUpperCase()}>`);
}

/** the URL when it is an absolute http(s) URL, else undefined */
export function safeHref(uri: string): string | undefined {
	if (uri.length === 0 || uri.length > MAX_HREF_LENGTH) return undefined;
	try {
		const url = new URL(uri);
		return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : undefined;
	} catch {
		return undefined;
	}
}

function hex(r: number, g: number, b: number): string {
	const part = (v: number) =>
		Math.min(255, Math.max(0, v | 0))
			.toString(16)
			.padStart(2, '0');
	return `#${part(r)}${part(g)}${part(b)}`;
}

/** xterm's 256-colour palette beyond the 16 named ones */
function color256(index: number): string | undefined {
	if (!Number.isInteger(index) || index < 0 || index > 255) return undefined;
	if (index < 16) return ANSI_COLOR_NAMES[index];
	if (index < 232) {
		const i = index - 16;
		const level = (v: number) => (v === 0 ? 0 : 55 + v * 40);
		return hex(level(Math.floor(i / 36)), level(Math.floor(i / 6) % 6), level(i % 6));
	}
	const grey = 8 + (index - 232) * 10;
	return hex(grey, grey, grey);
}

/**
 * Applies one SGR sequence (`params` as in `ESC [ params m`) to a style, returning a new style
 * object when anything changed.
 */
export function applySgr(style: Readonly<AnsiStyle>, params: string): Readonly<AnsiStyle> {
	const next: AnsiStyle = { ...style };
	const groups = params === '' ? ['0'] : params.split(';');
	for (let i = 0; i < groups.length; i++) {
		const parts = groups[i].split(':');
		const code = parts[0] === '' ? 0 : Number(parts[0]);
		if (code === 38 || code === 48) {
			let color: string | undefined;
			if (parts.length > 1) {
				// colon form: 38:5:n or 38:2:[colourspace:]r:g:b
				const nums = parts.slice(1).map((p) => (p === '' ? 0 : Number(p)));
				if (nums[0] === 5) color = color256(nums[1]);
				else if (nums[0] === 2) {
					const rgb = nums.length >= 5 ? nums.slice(2, 5) : nums.slice(1, 4);
					color = hex(rgb[0] ?? 0, rgb[1] ?? 0, rgb[2] ?? 0);
				}
			} else if (groups[i + 1] === '5') {
				color = color256(Number(groups[i + 2]));
				i += 2;
			} else if (groups[i + 1] === '2') {
				color = hex(Number(groups[i + 2]) || 0, Number(groups[i + 3]) || 0, Number(groups[i + 4]) || 0);
				i += 4;
			}
			if (color !== undefined) next[code === 38 ? 'fg' : 'bg'] = color;
			continue;
		}
		applyCode(next, code, parts[1]);
	}
	return normalize(next, style);
}

function applyCode(s: AnsiStyle, code: number, sub: string | undefined): void {
	if (code === 0) {
		for (const key of Object.keys(s) as (keyof AnsiStyle)[]) if (key !== 'href') delete s[key];
	} else if (code === 1) s.bold = true;
	else if (code === 2) s.dim = true;
	else if (code === 3) s.italic = true;
	else if (code === 4) s.underline = sub !== '0';
	else if (code === 7) s.inverse = true;
	else if (code === 9) s.strike = true;
	else if (code === 21) s.underline = true;
	else if (code === 22) s.bold = s.dim = false;
	else if (code === 23) s.italic = false;
	else if (code === 24) s.underline = false;
	else if (code === 27) s.inverse = false;
	else if (code === 29) s.strike = false;
	else if (code >= 30 && code <= 37) s.fg = ANSI_COLOR_NAMES[code - 30];
	else if (code === 39) delete s.fg;
	else if (code >= 40 && code <= 47) s.bg = ANSI_COLOR_NAMES[code - 40];
	else if (code === 49) delete s.bg;
	else if (code >= 90 && code <= 97) s.fg = ANSI_COLOR_NAMES[code - 90 + 8];
	else if (code >= 100 && code <= 107) s.bg = ANSI_COLOR_NAMES[code - 100 + 8];
	// blink, conceal, fonts, overline…: ignored on purpose (a log view shows the text plainly)
}

/** drops false flags so equal styles look equal; keeps the old object when nothing changed */
function normalize(next: AnsiStyle, previous: Readonly<AnsiStyle>): Readonly<AnsiStyle> {
	for (const key of Object.keys(next) as (keyof AnsiStyle)[]) {
		if (next[key] === false || next[key] === undefined) delete next[key];
	}
	if (sameStyle(next, previous)) return previous;
	return Object.keys(next).length === 0 ? PLAIN : Object.freeze(next);
}

export function sameStyle(a: Readonly<AnsiStyle>, b: Readonly<AnsiStyle>): boolean {
	if (a === b) return true;
	const keys = Object.keys(a) as (keyof AnsiStyle)[];
	if (keys.length !== Object.keys(b).length) return false;
	return keys.every((key) => a[key] === b[key]);
}

/** the style after an OSC 8 link token */
export function applyLink(style: Readonly<AnsiStyle>, uri: string): Readonly<AnsiStyle> {
	const href = safeHref(uri);
	if (href === style.href) return style;
	const next: AnsiStyle = { ...style };
	if (href) next.href = href;
	else delete next.href;
	return normalize(next, style);
}

/** the style after any token (text and controls leave it as it is) */
export function applyToken(style: Readonly<AnsiStyle>, token: AnsiToken): Readonly<AnsiStyle> {
	if (token.type === 'csi' && token.final === 'm' && token.private === '')
		return applySgr(style, token.params);
	if (token.type === 'link') return applyLink(style, token.uri);
	return style;
}

/**
 * Styled spans of a line, escapes removed. Control characters other than escapes stay in the
 * text (see `displaySpans` in `terminal.ts` for what a terminal would show).
 * @example parseAnsi('\x1b[1;31merror\x1b[0m: x') // [{ text: 'error', bold: true, fg: 'red' }, { text: ': x' }]
 */
export function parseAnsi(text: string): AnsiSpan[] {
	const spans: AnsiSpan[] = [];
	let style: Readonly<AnsiStyle> = PLAIN;
	for (const token of tokenizeAnsi(text)) {
		let chunk: string | null = null;
		if (token.type === 'text') chunk = neutralizeBidi(token.text);
		else if (token.type === 'control') chunk = String.fromCharCode(token.code);
		else style = applyToken(style, token);
		if (chunk === null) continue;
		const last = spans[spans.length - 1];
		if (last && sameStyle(styleOf(last), style)) last.text += chunk;
		else spans.push({ ...style, text: chunk });
	}
	return spans;
}

function styleOf(span: AnsiSpan): AnsiStyle {
	const { text: _text, ...style } = span;
	return style;
}

/** the line with every escape sequence removed; everything else (`\r`, tabs) as printed */
export function stripAnsi(text: string): string {
	if (!text.includes('\x1b')) return text;
	let out = '';
	for (const token of tokenizeAnsi(text)) {
		if (token.type === 'text') out += token.text;
		else if (token.type === 'control') out += String.fromCharCode(token.code);
	}
	return out;
}
