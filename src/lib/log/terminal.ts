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
 *
 * Linear in the line's length, with no object per character: log search runs this over every
 * stored line, and a tool that prints a binary file makes lines that are mostly control bytes.
 */
import { tokenizeAnsi, type AnsiToken } from './ansi-tokens';
import { PLAIN, applyToken, neutralizeBidi, type AnsiSpan, type AnsiStyle } from './ansi';

export const TAB_WIDTH = 8;
/** how far a cursor move may go past the end of the text (a hostile `ESC [ 999999999 C` pads no further) */
export const MAX_CURSOR_PAD = 256;

/** nothing a terminal would treat specially: the line shows exactly as it is */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const SPECIAL = /[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/;
const SURROGATE = /[\ud800-\udfff]/;
const BIDI = /[\u202a-\u202e\u2066-\u2069]/;

const ESC = 0x1b;
const SPACE = 0x20;
/** a cell holding a high surrogate and the unit after it is PAIR + (high & 0x3ff) * 0x10000 + next */
const PAIR = 0x10000;
/** code units per `String.fromCharCode.apply`, well under any engine's argument limit */
const STRING_CHUNK = 8192;

/** the C0/C1 controls, as `tokenizeAnsi` splits them */
function isControl(code: number): boolean {
	return code < 0x20 || (code >= 0x7f && code <= 0x9f);
}

/** what a line is fed to, in order */
interface Sink {
	/** writes `source[start, end)`, which holds no control characters */
	write(source: string, start: number, end: number): void;
	/** applies a control character other than ESC; false when this sink cannot */
	control(code: number): boolean;
	/** applies an escape sequence; false when this sink cannot */
	escape(token: AnsiToken): boolean;
}

/**
 * The common styled line, one that only writes forward (text, styles, links, tabs, dropped
 * controls): the text and its style runs are built directly, with no cells, and a tab writes
 * spaces in the current style. It refuses `\r`, `\b` and CSI other than SGR, which need a
 * `Screen`.
 */
class ForwardLine implements Sink {
	text = '';
	/** null when only the text is wanted: no SGR is even parsed */
	readonly runs: { text: string; style: Readonly<AnsiStyle> }[] | null;
	#style: Readonly<AnsiStyle> = PLAIN;

	constructor(styled: boolean) {
		this.runs = styled ? [] : null;
	}

	write(source: string, start: number, end: number): void {
		this.#add(start === 0 && end === source.length ? source : source.slice(start, end));
	}

	control(code: number): boolean {
		if (code === 13 || code === 8) return false;
		if (code === 9) this.#add(' '.repeat(TAB_WIDTH - (this.text.length % TAB_WIDTH)));
		return true;
	}

	escape(token: AnsiToken): boolean {
		if (token.type === 'csi' && token.private === '' && token.final !== 'm') return false;
		if (this.runs) this.#style = applyToken(this.#style, token);
		return true;
	}

	#add(text: string): void {
		this.text += text;
		if (!this.runs) return;
		const last = this.runs[this.runs.length - 1];
		if (last && last.style === this.#style) last.text += text;
		else this.runs.push({ text, style: this.#style });
	}
}

/**
 * One line of terminal cells, for a line that moves the cursor back, erases or holds surrogate
 * pairs. A tab only moves the cursor; a gap is filled with plain spaces once something is
 * written past it.
 */
class Screen implements Sink {
	/** per cell a UTF-16 code unit, or a packed surrogate pair (see PAIR) */
	readonly cells: number[] = [];
	/** per cell its style; null when only the text is wanted */
	readonly styles: Readonly<AnsiStyle>[] | null;
	length = 0;
	#col = 0;
	#style: Readonly<AnsiStyle> = PLAIN;
	#pairs = false;
	// Erase-to-cursor (ESC [ 1 K) is applied at the end, so that repeating it on a long line stays
	// linear: a cell is blank when an erase that reached it came after the cell's last write. The
	// erases kept have rising times and falling columns (a later, wider one hides the others).
	readonly #writtenAt: number[] = [];
	#clock = 0;
	readonly #eraseTimes: number[] = [];
	readonly #eraseCols: number[] = [];

	constructor(styled: boolean) {
		this.styles = styled ? [] : null;
	}

	write(source: string, start: number, end: number): void {
		for (let i = start; i < end; i++) {
			const code = source.charCodeAt(i);
			if (code >= 0xd800 && code <= 0xdbff && i + 1 < end) {
				this.#pairs = true;
				this.#put(PAIR + (code & 0x3ff) * 0x10000 + source.charCodeAt(++i));
			} else {
				this.#put(code);
			}
		}
	}

	control(code: number): boolean {
		if (code === 13) this.#col = 0;
		else if (code === 9) this.#moveTo((Math.floor(this.#col / TAB_WIDTH) + 1) * TAB_WIDTH);
		else if (code === 8) this.#moveTo(this.#col - 1);
		return true;
	}

	escape(token: AnsiToken): boolean {
		if (token.type === 'csi' && token.private === '' && token.final !== 'm') {
			this.#moveTo(this.#cursorOrErase(token.final, token.params));
		} else if (this.styles) {
			this.#style = applyToken(this.#style, token);
		}
		return true;
	}

	/** applies the erases still pending; call once, before reading */
	finish(): this {
		if (this.#eraseTimes.length > 0) this.#applyErases();
		return this;
	}

	/** the cells `[start, end)` as text */
	read(start: number, end: number): string {
		let out = '';
		if (!this.#pairs) {
			for (let i = start; i < end; i += STRING_CHUNK) {
				const units = this.cells.slice(i, Math.min(end, i + STRING_CHUNK));
				out += String.fromCharCode.apply(null, units);
			}
			return out;
		}
		for (let i = start; i < end; i++) {
			const cell = this.cells[i];
			out +=
				cell < PAIR
					? String.fromCharCode(cell)
					: String.fromCharCode(0xd800 + ((cell - PAIR) >>> 16), cell & 0xffff);
		}
		return out;
	}

	#put(cell: number): void {
		const col = this.#col;
		while (this.length < col) this.#set(this.length++, SPACE, PLAIN);
		this.#set(col, cell, this.#style);
		this.#col = col + 1;
		if (this.length === col) this.length = col + 1;
	}

	#set(col: number, cell: number, style: Readonly<AnsiStyle>): void {
		this.cells[col] = cell;
		if (this.styles) this.styles[col] = style;
		this.#writtenAt[col] = this.#clock++;
	}

	#moveTo(target: number): void {
		this.#col = Math.max(0, Math.min(target, this.length + MAX_CURSOR_PAD));
	}

	/** applies erase-in-line or a cursor move; returns the new column (not yet clamped) */
	#cursorOrErase(final: string, params: string): number {
		const col = this.#col;
		const n = params === '' ? NaN : Number(params.split(';')[0]);
		const count = Number.isFinite(n) && n > 0 ? n : 1;
		switch (final) {
			case 'K': {
				const mode = Number.isFinite(n) ? n : 0;
				if (mode === 0) this.length = Math.min(this.length, col);
				else if (mode === 1) this.#eraseToCursor();
				else if (mode === 2) this.length = this.#eraseTimes.length = this.#eraseCols.length = 0;
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

	#eraseToCursor(): void {
		const times = this.#eraseTimes;
		const cols = this.#eraseCols;
		while (cols.length > 0 && cols[cols.length - 1] <= this.#col) {
			cols.pop();
			times.pop();
		}
		times.push(this.#clock);
		cols.push(this.#col);
	}

	#applyErases(): void {
		const times = this.#eraseTimes;
		const cols = this.#eraseCols;
		for (let col = 0; col < this.length; col++) {
			// the first erase after the cell's last write reaches furthest of all those after it
			const writtenAt = this.#writtenAt[col];
			let lo = 0;
			let hi = times.length;
			while (lo < hi) {
				const mid = (lo + hi) >>> 1;
				if (times[mid] > writtenAt) hi = mid;
				else lo = mid + 1;
			}
			if (lo < times.length && cols[lo] >= col) {
				this.cells[col] = SPACE;
				if (this.styles) this.styles[col] = PLAIN;
			}
		}
		times.length = cols.length = 0;
	}
}

/**
 * Feeds a line to a sink; false when the sink refused a part of it. Runs of text and control
 * characters other than ESC are handled here without tokens (a line of binary output is mostly
 * those). From an ESC up to and including the next other control character, `tokenizeAnsi` reads
 * the escapes: no escape runs across such a character (it either ends there or is malformed and
 * loses its introducer), so the tokens of that stretch are the ones the whole line would give.
 */
function feed(raw: string, sink: Sink): boolean {
	const bidi = BIDI.test(raw);
	let textStart = 0;
	let i = 0;
	while (i < raw.length) {
		const code = raw.charCodeAt(i);
		if (!isControl(code)) {
			i++;
			continue;
		}
		if (textStart < i) writeText(sink, raw, textStart, i, bidi);
		if (code !== ESC) {
			if (!sink.control(code)) return false;
			i++;
		} else {
			let end = i + 1;
			while (end < raw.length && !isStretchEnd(raw.charCodeAt(end))) end++;
			end = Math.min(raw.length, end + 1);
			for (const token of tokenizeAnsi(raw.slice(i, end))) {
				if (token.type === 'text') writeText(sink, token.text, 0, token.text.length, bidi);
				else if (token.type === 'control' ? !sink.control(token.code) : !sink.escape(token)) return false;
			}
			i = end;
		}
		textStart = i;
	}
	if (textStart < raw.length) writeText(sink, raw, textStart, raw.length, bidi);
	return true;
}

function isStretchEnd(code: number): boolean {
	return code !== ESC && isControl(code);
}

function writeText(sink: Sink, source: string, start: number, end: number, bidi: boolean): void {
	if (!bidi) return sink.write(source, start, end);
	const shown = neutralizeBidi(source.slice(start, end));
	sink.write(shown, 0, shown.length);
}

/** the line through the forward model when it allows, else through a screen */
function render(raw: string, styled: boolean): ForwardLine | Screen {
	if (!SURROGATE.test(raw)) {
		const line = new ForwardLine(styled);
		if (feed(raw, line)) return line;
	}
	const screen = new Screen(styled);
	feed(raw, screen);
	return screen.finish();
}

/**
 * The line as a terminal shows it, as plain text.
 * @example displayText('  10%\r 100%') // ' 100%'
 * @example displayText('a\tb') // 'a       b'
 */
export function displayText(raw: string): string {
	if (!SPECIAL.test(raw)) return raw;
	const line = render(raw, false);
	return line instanceof ForwardLine ? line.text : line.read(0, line.length);
}

/**
 * The line as a terminal shows it, as styled spans; the span texts concatenated equal
 * `displayText(raw)`.
 */
export function displaySpans(raw: string): AnsiSpan[] {
	if (!SPECIAL.test(raw)) return raw === '' ? [] : [{ text: raw }];
	const line = render(raw, true);
	if (line instanceof ForwardLine) return (line.runs ?? []).map((run) => ({ ...run.style, text: run.text }));
	const styles = line.styles ?? [];
	const spans: AnsiSpan[] = [];
	let start = 0;
	for (let col = 1; col <= line.length; col++) {
		if (col < line.length && styles[col] === styles[start]) continue;
		spans.push({ ...styles[start], text: line.read(start, col) });
		start = col;
	}
	return spans;
}
