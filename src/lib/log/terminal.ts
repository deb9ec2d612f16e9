/**
 * @module log/terminal
 * What a terminal shows for one line of output: `\r` returns to column 0 and what follows
 * overwrites (a tqdm/npm progress bar ends as its last state), `\b` steps back, tabs move to the
 * next 8-column stop, erase-in-line (`ESC [ K`) and cursor moves (`ESC [ G/C/D`) apply, ANSI
 * styles are kept (`displaySpans`) or dropped (`displayText`), other controls are removed and
 * bidi controls made visible. Both functions run the same model, so a `[start, end)` offset into
 * `displayText(raw)` is the same offset into the concatenated `displaySpans(raw)` texts — the
 * server's search highlights line up with what the browser draws.
 *
 * Columns are UTF-16 code units, except that a surrogate pair is one cell and is never split.
 */
import { tokenizeAnsi } from './ansi-tokens';
import { PLAIN, applyToken, neutralizeBidi, type AnsiSpan, type AnsiStyle } from './ansi';

export const TAB_WIDTH = 8;
/** how far a cursor move may go past the end of the text (a hostile `ESC [ 999999999 C` pads no further) */
export const MAX_CURSOR_PAD = 256;

/** nothing a terminal would treat specially: the line shows exactly as it is */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const SPECIAL = /[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/;
const SURROGATE = /[\ud800-\udfff]/;
const BIDI = /[\u202a-\u202e\u2066-\u2069]/;

interface Cell {
	ch: string;
	style: Readonly<AnsiStyle>;
}

const BLANK: Cell = { ch: ' ', style: PLAIN };

/** runs the terminal model over one line; the result has no holes */
function render(raw: string): Cell[] {
	const cells: Cell[] = [];
	let col = 0;
	let style: Readonly<AnsiStyle> = PLAIN;
	const moveTo = (target: number) => {
		col = Math.max(0, Math.min(target, cells.length + MAX_CURSOR_PAD));
	};
	const put = (ch: string) => {
		while (cells.length < col) cells.push(BLANK);
		cells[col++] = { ch, style };
	};
	for (const token of tokenizeAnsi(raw)) {
		switch (token.type) {
			case 'text': {
				const text = neutralizeBidi(token.text);
				for (let i = 0; i < text.length; i++) {
					const code = text.charCodeAt(i);
					const pair = code >= 0xd800 && code <= 0xdbff && i + 1 < text.length;
					put(pair ? text.slice(i, ++i + 1) : text[i]);
				}
				break;
			}
			case 'control':
				if (token.code === 13) col = 0;
				else if (token.code === 9) moveTo((Math.floor(col / TAB_WIDTH) + 1) * TAB_WIDTH);
				else if (token.code === 8) moveTo(col - 1);
				break;
			case 'csi':
				if (token.private !== '') break;
				if (token.final === 'm') style = applyToken(style, token);
				else moveTo(cursorOrErase(cells, col, token.final, token.params));
				break;
			case 'link':
				style = applyToken(style, token);
				break;
		}
	}
	return cells;
}

/** applies erase-in-line or a cursor move; returns the new column (not yet clamped) */
function cursorOrErase(cells: Cell[], col: number, final: string, params: string): number {
	const n = params === '' ? NaN : Number(params.split(';')[0]);
	const count = Number.isFinite(n) && n > 0 ? n : 1;
	switch (final) {
		case 'K': {
			const mode = Number.isFinite(n) ? n : 0;
			if (mode === 0) cells.length = Math.min(cells.length, col);
			else if (mode === 1) for (let i = 0; i <= col && i < cells.length; i++) cells[i] = BLANK;
			else if (mode === 2) cells.length = 0;
			return col;
		}
		case 'G':
			return count - 1;
		case 'C':
			return col + count;
		case 'D':
			return col - count;
		default:
			return col;
	}
}

/**
 * The cheap path for the common styled line, one that only writes forward (text, styles, links,
 * tabs, dropped controls): spans are built from the tokens directly, with no cells. Null when
 * the line moves the cursor back or erases (`\r`, `\b`, CSI other than SGR) or holds surrogate
 * pairs, which need the cell model.
 */
function renderForward(raw: string): AnsiSpan[] | null {
	if (SURROGATE.test(raw)) return null;
	const runs: { text: string; style: Readonly<AnsiStyle> }[] = [];
	let style: Readonly<AnsiStyle> = PLAIN;
	let col = 0;
	const add = (text: string) => {
		const last = runs[runs.length - 1];
		if (last && last.style === style) last.text += text;
		else runs.push({ text, style });
		col += text.length;
	};
	for (const token of tokenizeAnsi(raw)) {
		if (token.type === 'text') {
			add(neutralizeBidi(token.text));
		} else if (token.type === 'control') {
			if (token.code === 13 || token.code === 8) return null;
			if (token.code === 9) add(' '.repeat(TAB_WIDTH - (col % TAB_WIDTH)));
		} else if (token.type === 'csi') {
			if (token.private !== '') continue;
			if (token.final !== 'm') return null;
			style = applyToken(style, token);
		} else if (token.type === 'link') {
			style = applyToken(style, token);
		}
	}
	return runs.map((run) => ({ ...run.style, text: run.text }));
}

/** `renderForward` without styles, for `displayText`: no SGR is even parsed */
function textForward(raw: string): string | null {
	if (SURROGATE.test(raw)) return null;
	const bidi = BIDI.test(raw);
	let out = '';
	for (const token of tokenizeAnsi(raw)) {
		if (token.type === 'text') {
			out += bidi ? neutralizeBidi(token.text) : token.text;
		} else if (token.type === 'control') {
			if (token.code === 13 || token.code === 8) return null;
			if (token.code === 9) out += ' '.repeat(TAB_WIDTH - (out.length % TAB_WIDTH));
		} else if (token.type === 'csi' && token.private === '' && token.final !== 'm') {
			return null;
		}
	}
	return out;
}

/**
 * The line as a terminal shows it, as plain text.
 * @example displayText('  10%\r 100%') // ' 100%'
 * @example displayText('a\tb') // 'a       b'
 */
export function displayText(raw: string): string {
	if (!SPECIAL.test(raw)) return raw;
	const forward = textForward(raw);
	if (forward !== null) return forward;
	let out = '';
	for (const cell of render(raw)) out += cell.ch;
	return out;
}

/**
 * The line as a terminal shows it, as styled spans; the span texts concatenated equal
 * `displayText(raw)`.
 */
export function displaySpans(raw: string): AnsiSpan[] {
	if (!SPECIAL.test(raw)) return raw === '' ? [] : [{ text: raw }];
	const forward = renderForward(raw);
	if (forward) return forward;
	const spans: AnsiSpan[] = [];
	let current: AnsiSpan | null = null;
	let currentStyle: Readonly<AnsiStyle> | null = null;
	for (const cell of render(raw)) {
		if (current && cell.style === currentStyle) {
			current.text += cell.ch;
			continue;
		}
		current = { ...cell.style, text: cell.ch };
		currentStyle = cell.style;
		spans.push(current);
	}
	return spans;
}
