/**
 * @module orchestrator/line-splitter
 * Turns the chunks of a process's output stream into lines. A chunk boundary may fall inside a
 * line or inside a multi-byte character; neither may show in the result. A line longer than the
 * limit is handed on in pieces, so one runaway line cannot hold unbounded memory, and nothing
 * is ever dropped.
 *
 * Every piece handed on says whether it ended with a newline. Two kinds do not (`partial`):
 * the pieces of an overlong line, and live progress snapshots — a tool that redraws a line with
 * `\r` (tqdm, npm, curl) and prints no newline for `progressFlushMs` has the line so far handed
 * on, so the viewer sees the bar move instead of nothing until the newline. Whatever comes next
 * continues that terminal line, so joining pieces (newline only after non-partial ones) gives
 * back exactly what the tool printed (CRLF aside, stored as LF).
 */
import { StringDecoder } from 'node:string_decoder';

export interface LineSplitterOptions {
	/** lines longer than this (in UTF-16 code units) are emitted in pieces of this length */
	maxLineLength?: number;
	/**
	 * how long an unfinished line holding a `\r` may wait before it is handed on as a partial
	 * progress snapshot; 0 turns snapshots off
	 */
	progressFlushMs?: number;
}

export const DEFAULT_SPLITTER_MAX_LINE_LENGTH = 64 * 1024;
export const DEFAULT_PROGRESS_FLUSH_MS = 1_000;

/** `partial`: no newline followed this text (yet); the next piece continues its terminal line */
export type OnLine = (line: string, partial: boolean) => void;

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
	#onLine: OnLine;
	#max: number;
	#progressFlushMs: number;
	#progressTimer: NodeJS.Timeout | null = null;

	constructor(onLine: OnLine, options: LineSplitterOptions = {}) {
		const { maxLineLength, progressFlushMs } = {
			maxLineLength: DEFAULT_SPLITTER_MAX_LINE_LENGTH,
			progressFlushMs: DEFAULT_PROGRESS_FLUSH_MS,
			...options
		};
		if (!Number.isInteger(maxLineLength) || maxLineLength < 2) {
			throw new RangeError(`maxLineLength must be an integer ≥ 2, got ${maxLineLength}`);
		}
		this.#onLine = onLine;
		this.#max = maxLineLength;
		this.#progressFlushMs = progressFlushMs;
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
		if (start > 0) this.#clearProgressTimer();
		this.#scheduleProgress();
	}

	/** Flushes a last line that had no newline. Further writes are ignored. */
	end(): void {
		if (this.#ended) return;
		const rest = this.#partial + this.#decoder.end();
		this.#partial = '';
		this.#ended = true;
		this.#clearProgressTimer();
		if (rest.length > 0) this.#emit(rest);
	}

	/**
	 * A progress snapshot is due once an unfinished line with a `\r` in it (a redraw, not a
	 * CRLF's first half at its very end) has waited `progressFlushMs`; a newline first cancels it.
	 */
	#scheduleProgress(): void {
		if (this.#progressTimer || this.#progressFlushMs <= 0) return;
		const cr = this.#partial.indexOf('\r');
		if (cr === -1 || cr === this.#partial.length - 1) return;
		this.#progressTimer = setTimeout(() => {
			this.#progressTimer = null;
			if (this.#ended || this.#partial.length === 0) return;
			// a trailing \r may be the first half of a CRLF still to come: it stays
			const keep = this.#partial.endsWith('\r') ? 1 : 0;
			const snapshot = this.#partial.slice(0, this.#partial.length - keep);
			this.#partial = this.#partial.slice(this.#partial.length - keep);
			if (snapshot.length > 0) this.#onLine(snapshot, true);
		}, this.#progressFlushMs);
		this.#progressTimer.unref();
	}

	#clearProgressTimer(): void {
		if (this.#progressTimer) clearTimeout(this.#progressTimer);
		this.#progressTimer = null;
	}

	#emit(line: string): void {
		if (line.length <= this.#max) {
			this.#onLine(line, false);
			return;
		}
		let start = 0;
		while (line.length - start > this.#max) {
			const end = this.#cut(line, start);
			this.#onLine(line.slice(start, end), true);
			start = end;
		}
		this.#onLine(line.slice(start), false);
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
			this.#onLine(text.slice(start, end), true);
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
