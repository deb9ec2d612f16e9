import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_REST_MS, FlushPacer } from './flush-pacer';

describe('FlushPacer', () => {
	it('lets a flush go at once while writing has been cheap', () => {
		let clock = 100;
		const pacer = new FlushPacer({ now: () => clock });
		expect(pacer.wait()).toBe(0);
		pacer.wrote(0.2); // 200 µs of writing: a rest below a timer's millisecond
		expect(pacer.wait()).toBe(0);
		clock += 50;
		expect(pacer.wait()).toBe(0);
	});

	it('rests as long as it wrote, counting every slice of writing since', () => {
		let clock = 0;
		const pacer = new FlushPacer({ now: () => clock });
		clock = 6;
		pacer.wrote(6); // a flush of 6 ms
		expect(pacer.wait()).toBe(6);
		clock = 8;
		pacer.wrote(2); // the clients it left for their turns: 2 ms more
		expect(pacer.wait()).toBe(6);
		clock = 13;
		expect(pacer.wait()).toBe(1);
		clock = 14;
		expect(pacer.wait()).toBe(0);
	});

	it('never rests longer than its cap, however long a flush took', () => {
		let clock = 0;
		const pacer = new FlushPacer({ now: () => clock });
		clock = 500;
		pacer.wrote(500);
		expect(pacer.wait()).toBe(DEFAULT_MAX_REST_MS);
		clock = 510;
		pacer.wrote(10);
		expect(pacer.wait()).toBe(DEFAULT_MAX_REST_MS);
	});

	it('rests in proportion to its ratio', () => {
		let clock = 0;
		const pacer = new FlushPacer({ now: () => clock, restRatio: 0.5, maxRestMs: 100 });
		clock = 10;
		pacer.wrote(10);
		expect(pacer.wait()).toBe(5);
	});
});
