import { describe, expect, it, vi } from 'vitest';
import type { LogLine } from '../../lib/protocol/models';
import { TailSet } from './tails';

const line = (n: number): LogLine => ({
	n,
	stream: 'stdout',
	ts: '2026-01-01T00:00:00.000Z',
	text: `line ${n}`
});
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => line(from + i));

describe('TailSet', () => {
	it("prints a parallel task's lines while the first task is still printing", async () => {
		// each execution's stored lines, served over a REST round trip of 5 ms
		const stored = new Map([
			['a', 0],
			['b', 0]
		]);
		const rest = {
			getLogLines: async (id: string, after = 0) => {
				const lines = range(after + 1, stored.get(id)!);
				await new Promise((resolve) => setTimeout(resolve, 5));
				return lines;
			}
		};
		const printed = new Map<string, number[]>([
			['a', []],
			['b', []]
		]);
		const tails = new TailSet({
			rest,
			onLines: (id, lines) => printed.get(id)!.push(...lines.map((l) => l.n)),
			onError: (err) => expect.fail(String(err))
		});
		const print = (id: string) => {
			const n = stored.get(id)! + 1;
			stored.set(id, n);
			tails.push(id, line(n));
		};
		tails.ensure('a');
		tails.ensure('b');
		// step a prints a line every millisecond for a while; step b prints a few meanwhile
		const total = 400;
		const a = setInterval(() => (stored.get('a')! < total ? print('a') : clearInterval(a)), 1);
		try {
			for (let i = 0; i < 5; i++) print('b');
			const bPrintedOrAQuiet = () => printed.get('b')!.length === 5 || stored.get('a') === total;
			await vi.waitFor(() => expect(bPrintedOrAQuiet()).toBe(true), { timeout: 10_000, interval: 2 });
			expect(printed.get('b')).toEqual([1, 2, 3, 4, 5]);
			expect(stored.get('a')).toBeLessThan(total);
			await vi.waitFor(() => expect(stored.get('a')).toBe(total), { timeout: 10_000, interval: 5 });
			await tails.idle();
			expect(printed.get('a')).toEqual(range(1, total).map((l) => l.n));
		} finally {
			clearInterval(a);
		}
		tails.destroy();
	});
});
