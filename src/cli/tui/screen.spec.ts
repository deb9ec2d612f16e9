import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Screen } from './screen';

class FakeTerminal extends EventEmitter {
	columns = 20;
	rows = 3;
	written = '';
	write(chunk: string) {
		this.written += chunk;
		return true;
	}
	take(): string {
		const out = this.written;
		this.written = '';
		return out;
	}
}

/** rows the chunk moved the cursor to (ESC [ row ; col H, 1-based) */
// eslint-disable-next-line no-control-regex -- reading the escape codes written is the point
const rowsWritten = (chunk: string) => [...chunk.matchAll(/\x1b\[(\d+);1H/g)].map((m) => Number(m[1]) - 1);

describe('Screen', () => {
	beforeEach(() => vi.useFakeTimers());
	afterEach(() => vi.useRealTimers());

	function setup() {
		const term = new FakeTerminal();
		let frame = ['a'.padEnd(20), 'b'.padEnd(20), 'c'.padEnd(20)];
		const draws: [number, number][] = [];
		const screen = new Screen({
			out: term,
			frameMs: 33,
			draw: (cols, rows) => {
				draws.push([cols, rows]);
				return frame.slice(0, rows);
			}
		});
		return { term, screen, draws, setFrame: (next: string[]) => (frame = next) };
	}

	it('enters the alternate screen with the cursor hidden and draws every row once', () => {
		const { term, screen } = setup();
		screen.start();
		const out = term.take();
		expect(out.startsWith('\x1b[?1049h\x1b[?25l')).toBe(true);
		expect(rowsWritten(out)).toEqual([0, 1, 2]);
	});

	it('rewrites only the rows that changed, in one write', () => {
		const { term, screen, setFrame } = setup();
		screen.start();
		term.take();
		setFrame(['a'.padEnd(20), 'B'.padEnd(20), 'c'.padEnd(20)]);
		screen.flush();
		const out = term.take();
		expect(rowsWritten(out)).toEqual([1]);
		screen.flush();
		expect(term.take()).toBe('');
	});

	it('draws at most one frame per frame interval however often it is asked', () => {
		const { screen, draws } = setup();
		screen.start();
		for (let i = 0; i < 100; i++) screen.invalidate();
		vi.advanceTimersByTime(33);
		for (let i = 0; i < 100; i++) screen.invalidate();
		vi.advanceTimersByTime(33);
		expect(draws).toHaveLength(3);
	});

	it('repaints everything at the new size after a resize', () => {
		const { term, screen, draws } = setup();
		screen.start();
		term.take();
		term.columns = 30;
		term.rows = 2;
		term.emit('resize');
		vi.advanceTimersByTime(33);
		expect(draws.at(-1)).toEqual([30, 2]);
		const out = term.take();
		expect(out).toContain('\x1b[2J');
		expect(rowsWritten(out)).toEqual([0, 1]);
	});

	it('gives the terminal back on stop, once, and draws nothing after', () => {
		const { term, screen } = setup();
		screen.start();
		screen.invalidate();
		term.take();
		screen.stop();
		screen.stop();
		expect(term.take()).toBe('\x1b[0m\x1b[?25h\x1b[?1049l');
		vi.advanceTimersByTime(100);
		expect(term.take()).toBe('');
		expect(term.listenerCount('resize')).toBe(0);
	});
});
