/**
 * @module orchestrator/line-splitter
 * Turns the chunks of a process's output stream into lines. A chunk boundary may fall inside a
 * line or inside a multi-byte character; neither may show in the result. A line longer than the
 * limit is handed on in pieces, so one runaway line cannot hold unbounded memory, and nothing
 * is ever dropped.
 */
import { StringDecoder } from 'node:string_decoder';

export interface LineSplitterOptions {
	/** lines longer than this (in UTF-16 code units) are emitted in pieces of this length */
	maxLineLength?: number;
}

export const DEFAULT_SPLITTER_MAX_LINE_LENGTH = 64 * 1024;

/**
 * @example
 * const splitter = new LineSplitter((line) => lines.push(line));
 * child.stdout.on('data', (chunk) => splitter.write(chunk));
 * child.stdout.on('end', () => splitter.end());
 */
export class LineSplitter {
	#decoder = new StringDecoder('utf8');
	#partial = '';
	#ended = false;
	#onLine: (line: string) => void;
	#max: number;

	constructor(onLine: (line: string) => void, options: LineSplitterOptions = {}) {
		const { maxLineLength } = { maxLineLength: DEFAULT_SPLITTER_MAX_LINE_LENGTH, ...options };
		if (!Number.isInteger(maxLineLength) || maxLineLength < 2) {
			throw new RangeError(`maxLineLength must be an integer ≥ 2, got ${maxLineLength}`);
		}
		this.#onLine = onLine;
		this.#max = maxLineLength;
	}

	write(chunk: Buffer | string): void {
		if (this.#ended) return;
		// the pending partial line holds no newline: search only what arrived, or a tool writing a
		// long line a few bytes at a time costs quadratic time
		const searchFrom = this.#partial.length;
		const text = this.#partial + (typeof chunk === 'string' ? chunk : this.#decoder.write(chunk));
		let start = 0;
		for (let nl = text.indexOf('\n', searchFrom); nl !== -1; nl = text.indexOf('\n', start)) {
			// CRLF ends a line like LF; a bare \r inside a line is progress-bar redrawing, kept for the viewer
			const end = nl > start && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
			this.#emit(text.slice(start, end));
			start = nl + 1;
		}
		this.#partial = text.slice(start);
		this.#spillPartial();
	}

	/** Flushes a last line that had no newline. Further writes are ignored. */
	end(): void {
		if (this.#ended) return;
		const rest = this.#partial + this.#decoder.end();
		this.#partial = '';
		this.#ended = true;
		if (rest.length > 0) this.#emit(rest);
	}

	#emit(line: string): void {
		if (line.length <= this.#max) {
			this.#onLine(line);
			return;
		}
		let start = 0;
		while (line.length - start > this.#max) {
			const end = this.#cut(line, start);
			this.#onLine(line.slice(start, end));
			start = end;
		}
		this.#onLine(line.slice(start));
	}

	/**
	 * Hands on full pieces of an unfinished line. One character more than a piece is kept back
	 * when it is a \r, which may be the first half of a CRLF still to come.
	 */
	#spillPartial(): void {
		let start = 0;
		const text = this.#partial;
		while (text.length - start > this.#max) {
			if (text.length - start === this.#max + 1 && text.endsWith('\r')) break;
			const end = this.#cut(text, start);
			this.#onLine(text.slice(start, end));
			start = end;
		}
		if (start > 0) this.#partial = text.slice(start);
	}

	/** where a piece starting at `start` ends, never between the halves of a surrogate pair */
	#cut(text: string, start: number): number {
		const end = start + this.#max;
		const code = text.charCodeAt(end - 1);
		return code >= 0xd800 && code <= 0xdbff ? end - 1 : end;
	}
}
