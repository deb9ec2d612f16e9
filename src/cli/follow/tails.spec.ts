import { describe, expect, it, vi } from 'vitest';
import type { LogLine } from '../../lib/protocol/models';
import { followerRest, TailSet } from './tails';

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
			getLogLines: async (id: string, { after = 0 }: { after?: number } = {}) => {
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
			tails.pushLines(id, [line(n)]);
		};
		// two tasks' steps, running side by side
		tails.noteExecution({ id: 'a', task_id: 'ta', step: 0, line_count: 0 }, '2026-01-01T00:00:00.000Z');
		tails.noteExecution({ id: 'b', task_id: 'tb', step: 0, line_count: 0 }, '2026-01-01T00:00:01.000Z');
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

	it("prints a workflow task's step 0 before step 1 when step 1's live record is placed first", async () => {
		const stored = new Map([
			['s0', 3],
			['s1', 2]
		]);
		const rest = {
			getLogLines: async (id: string, { after = 0 }: { after?: number } = {}) =>
				range(after + 1, stored.get(id)!)
		};
		const printed: string[] = [];
		const tails = new TailSet({
			rest,
			onLines: (id, lines) => printed.push(...lines.map((l) => `${id}:${l.n}`)),
			onError: (err) => expect.fail(String(err)),
			stepsInOrder: true
		});
		// a live tool.completed of step 1, before the snapshot that places step 0 has come
		tails.noteExecution({ id: 's1', task_id: 't', step: 1, line_count: 2 }, '2026-01-01T00:00:00.000Z');
		tails.pushLines('s1', [line(3)]);
		stored.set('s1', 3);
		// a turn of the event loop: the backlog of step 1, were its tail open, is printed by then
		await new Promise((resolve) => setImmediate(resolve));
		expect(printed).toEqual([]);
		tails.noteExecution({ id: 's0', task_id: 't', step: 0, line_count: 3 }, '2026-01-01T00:00:00.000Z');
		await tails.idle();
		expect(printed).toEqual(['s0:1', 's0:2', 's0:3', 's1:1', 's1:2', 's1:3']);
		tails.destroy();
	});

	it('still prints a later step at the end when an earlier one is never placed', async () => {
		const rest = {
			getLogLines: async (_id: string, { after = 0 }: { after?: number } = {}) => range(after + 1, 2)
		};
		const printed: number[] = [];
		const tails = new TailSet({
			rest,
			onLines: (_id, lines) => printed.push(...lines.map((l) => l.n)),
			onError: (err) => expect.fail(String(err)),
			stepsInOrder: true
		});
		tails.noteExecution({ id: 's2', task_id: 't', step: 2, line_count: 2 });
		await tails.idle();
		expect(printed).toEqual([1, 2]);
		tails.destroy();
	});

	it('says which lines it goes on without while the store lags, and prints them with a notice once stored', async () => {
		// the store has lines 1–2 until the test stores the rest
		const state = { stored: 2 };
		const rest = {
			getLogLines: async (_id: string, { after = 0 }: { after?: number } = {}) =>
				range(after + 1, state.stored)
		};
		let out = '';
		let err = '';
		const { tails } = followerRest({
			rest,
			onLines: (_id, lines) => (out += lines.map((l) => `${l.text}\n`).join('')),
			what: 'task t1',
			err: { write: (chunk: string) => (err += chunk) },
			gapRetryDelayMs: 1,
			backoff: { baseMs: 5, capMs: 5 },
			retryBudgetMs: 200
		});
		tails.noteExecution({ id: 'x1', task_id: 't1', step: 0, line_count: 2 });
		await tails.idle();
		tails.pushLines('x1', [line(5)]);
		await vi.waitFor(() => expect(out).toContain('line 5'), { timeout: 10_000, interval: 5 });
		state.stored = 5;
		tails.noteLineCount('x1', 5);
		await vi.waitFor(() => expect(out).toContain('line 4'), { timeout: 10_000, interval: 5 });
		await tails.idle();
		expect(out).toBe('line 1\nline 2\nline 5\nline 3\nline 4\n');
		expect(err).toBe(
			'aco: Lines 3–4 of x1 are not stored yet. Asking again with back-off…\n' +
				'aco: lines 3–4 of x1 are not stored yet: skipped here, printed once stored (`aco logs x1` shows them in place)\n' +
				'aco: lines 3–4 of x1, skipped above, stored now:\n'
		);
		tails.destroy();
	});
});
