/**
 * @module cli/tui/screen
 * Puts frames on a terminal without flicker: the alternate screen with the cursor hidden, at
 * most one frame per `frameMs` however often the model changes, and only the rows that differ
 * from the previous frame, written in one `write` inside a synchronized update (terminals that
 * do not know it ignore it). A resize repaints everything. `stop()` gives the terminal back as
 * it was; it is idempotent and synchronous, so exit and crash handlers can call it.
 */
import ansiEscapes from 'ansi-escapes';

export const DEFAULT_FRAME_MS = 33;
const SYNC_START = '\x1b[?2026h';
const SYNC_END = '\x1b[?2026l';
const RESET = '\x1b[0m';

export interface TerminalOut {
	write(chunk: string): unknown;
	columns?: number;
	rows?: number;
	on?(event: 'resize', listener: () => void): unknown;
	off?(event: 'resize', listener: () => void): unknown;
}

export interface ScreenOptions {
	out: TerminalOut;
	/** draws a frame of exactly `rows` lines for the size given */
	draw: (cols: number, rows: number) => string[];
	frameMs?: number;
	/** the size to use when `out` does not say (not a terminal) */
	fallbackSize?: { cols: number; rows: number };
}

export class Screen {
	readonly #out: TerminalOut;
	readonly #draw: ScreenOptions['draw'];
	readonly #frameMs: number;
	readonly #fallback: { cols: number; rows: number };
	#previous: string[] = [];
	#size = { cols: 0, rows: 0 };
	#timer: ReturnType<typeof setTimeout> | null = null;
	#lastFrameAt = 0;
	#running = false;
	/** frames written so far (for tests and the curious) */
	frames = 0;

	constructor(options: ScreenOptions) {
		this.#out = options.out;
		this.#draw = options.draw;
		this.#frameMs = options.frameMs ?? DEFAULT_FRAME_MS;
		this.#fallback = options.fallbackSize ?? { cols: 80, rows: 24 };
	}

	get running(): boolean {
		return this.#running;
	}

	start(): void {
		if (this.#running) return;
		this.#running = true;
		this.#out.write(ansiEscapes.enterAlternativeScreen + ansiEscapes.cursorHide + ansiEscapes.eraseScreen);
		this.#out.on?.('resize', this.#onResize);
		this.#previous = [];
		this.flush();
	}

	/** Something changed: a frame follows within `frameMs`. */
	invalidate(): void {
		if (!this.#running || this.#timer) return;
		const wait = Math.max(0, this.#lastFrameAt + this.#frameMs - Date.now());
		this.#timer = setTimeout(() => {
			this.#timer = null;
			this.flush();
		}, wait);
	}

	/** Draws a frame now. */
	flush(): void {
		if (!this.#running) return;
		if (this.#timer) clearTimeout(this.#timer);
		this.#timer = null;
		const cols = this.#out.columns || this.#fallback.cols;
		const rows = this.#out.rows || this.#fallback.rows;
		let chunk = '';
		if (cols !== this.#size.cols || rows !== this.#size.rows) {
			this.#size = { cols, rows };
			this.#previous = [];
			chunk += ansiEscapes.eraseScreen;
		}
		const lines = this.#draw(cols, rows);
		for (let row = 0; row < rows; row++) {
			const line = lines[row] ?? '';
			if (line === this.#previous[row]) continue;
			chunk += ansiEscapes.cursorTo(0, row) + RESET + line + RESET;
		}
		this.#previous = lines;
		this.#lastFrameAt = Date.now();
		if (!chunk) return;
		this.frames += 1;
		this.#out.write(SYNC_START + chunk + SYNC_END);
	}

	/** Leaves the alternate screen and shows the cursor again. Idempotent. */
	stop(): void {
		if (!this.#running) return;
		this.#running = false;
		if (this.#timer) clearTimeout(this.#timer);
		this.#timer = null;
		this.#out.off?.('resize', this.#onResize);
		this.#out.write(RESET + ansiEscapes.cursorShow + ansiEscapes.exitAlternativeScreen);
	}

	readonly #onResize = () => {
		this.#size = { cols: 0, rows: 0 };
		this.invalidate();
	};
}
