/**
 * @module log/ansi-tokens
 * Splits one line of terminal output into text runs, control characters and escape sequences
 * (ECMA-48: CSI, OSC, DCS/APC/PM/SOS strings, two-byte escapes). Pure and linear: every escape is
 * bounded in length, and an escape that is unterminated or malformed loses only its introducer,
 * so it can never swallow the rest of the line or hang on hostile input.
 *
 * Written by hand rather than taken from anser / ansi-sequence-parser / ansicolor: those emit
 * styled text runs only and drop cursor controls, while the terminal model (`terminal.ts`) needs
 * `\r`, tabs, backspace and erase/cursor CSI in order, with exact offsets.
 */

export type AnsiToken =
	| { type: 'text'; text: string }
	/** a C0/C1 control character other than ESC (`\r`, `\t`, `\b`, BEL, …) */
	| { type: 'control'; code: number }
	/** CSI: `params` is the raw parameter string (digits, `;`, `:`), `final` its final byte */
	| { type: 'csi'; params: string; private: string; final: string }
	/** OSC 8 hyperlink: a non-empty `uri` opens a link, an empty one closes it */
	| { type: 'link'; uri: string }
	/** any other escape, recognised and dropped */
	| { type: 'ignored' };

/** longest CSI (parameters + intermediates) treated as one; a longer one is malformed */
export const MAX_CSI_LENGTH = 64;
/** longest OSC / DCS / APC string looked for a terminator */
export const MAX_STRING_LENGTH = 4096;

const ESC = 0x1b;
const BEL = 0x07;

function isControl(code: number): boolean {
	return code < 0x20 || (code >= 0x7f && code <= 0x9f);
}

/**
 * @example
 * tokenizeAnsi('\x1b[31mred\x1b[0m\r') // csi(31,m) text(red) csi(0,m) control(13)
 */
export function tokenizeAnsi(input: string): AnsiToken[] {
	const tokens: AnsiToken[] = [];
	const length = input.length;
	let i = 0;
	let textStart = 0;
	const flushText = (end: number) => {
		if (end > textStart) tokens.push({ type: 'text', text: input.slice(textStart, end) });
	};
	while (i < length) {
		const code = input.charCodeAt(i);
		if (!isControl(code)) {
			i++;
			continue;
		}
		flushText(i);
		if (code !== ESC) {
			tokens.push({ type: 'control', code });
			i++;
		} else {
			i = readEscape(input, i, tokens);
		}
		textStart = i;
	}
	flushText(length);
	return tokens;
}

/** reads the escape at `start` (an ESC), pushes its token, returns where the text goes on */
function readEscape(input: string, start: number, tokens: AnsiToken[]): number {
	const next = input.charCodeAt(start + 1);
	if (Number.isNaN(next)) return start + 1; // a lone ESC at the end: dropped
	if (next === 0x5b /* [ */) return readCsi(input, start, tokens);
	if (
		next === 0x5d /* ] */ ||
		next === 0x50 /* P */ ||
		next === 0x5f /* _ */ ||
		next === 0x5e /* ^ */ ||
		next === 0x58 /* X */
	) {
		return readString(input, start, next === 0x5d, tokens);
	}
	// ESC intermediates* final, e.g. ESC ( B or ESC 7; anything else loses only the ESC
	let i = start + 1;
	while (i < input.length && i - start < 4 && input.charCodeAt(i) >= 0x20 && input.charCodeAt(i) <= 0x2f) i++;
	const final = input.charCodeAt(i);
	if (final >= 0x30 && final <= 0x7e) {
		tokens.push({ type: 'ignored' });
		return i + 1;
	}
	return start + 1;
}

function readCsi(input: string, start: number, tokens: AnsiToken[]): number {
	let i = start + 2;
	const limit = Math.min(input.length, i + MAX_CSI_LENGTH);
	let privateMarks = '';
	let paramsEnd = -1;
	for (; i < limit; i++) {
		const code = input.charCodeAt(i);
		if (code >= 0x30 && code <= 0x3f) {
			if (paramsEnd !== -1) break; // a parameter after an intermediate: malformed
			// < = > ? mark private sequences; they never style text
			if (code >= 0x3c) privateMarks += input[i];
			continue;
		}
		if (code >= 0x20 && code <= 0x2f) {
			if (paramsEnd === -1) paramsEnd = i;
			continue;
		}
		if (code >= 0x40 && code <= 0x7e) {
			const params = input.slice(start + 2, paramsEnd === -1 ? i : paramsEnd);
			tokens.push({
				type: 'csi',
				params: params.replace(/[<=>?]/g, ''),
				private: privateMarks,
				final: input[i]
			});
			return i + 1;
		}
		return start + 2;
	}
	// cut off by the end of the line (a split escape): nothing of it is text
	if (i === input.length) return i;
	// too long or malformed: drop the introducer, show what followed as text
	return start + 2;
}

/** OSC (ESC ]) and the other string sequences, ended by BEL or ST (ESC \) */
function readString(input: string, start: number, isOsc: boolean, tokens: AnsiToken[]): number {
	const bodyStart = start + 2;
	const limit = Math.min(input.length, bodyStart + MAX_STRING_LENGTH);
	for (let i = bodyStart; i < limit; i++) {
		const code = input.charCodeAt(i);
		let end = -1;
		if (code === BEL) end = i + 1;
		else if (code === ESC && input.charCodeAt(i + 1) === 0x5c /* \ */) end = i + 2;
		else if (isControl(code)) break;
		if (end === -1) continue;
		const body = input.slice(bodyStart, i);
		tokens.push(isOsc ? oscToken(body) : { type: 'ignored' });
		return end;
	}
	return bodyStart;
}

function oscToken(body: string): AnsiToken {
	// OSC 8 ; params ; URI
	if (!body.startsWith('8;')) return { type: 'ignored' };
	const semi = body.indexOf(';', 2);
	if (semi === -1) return { type: 'ignored' };
	return { type: 'link', uri: body.slice(semi + 1) };
}
