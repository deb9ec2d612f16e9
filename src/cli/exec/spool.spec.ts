import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Spool } from './spool';

const output = (n: number) => ({ type: 'output' as const, step: 0, lines: [{ n, text: `line ${n}` }] });

describe('Spool', () => {
	let dir: string;
	beforeEach(() => {
		dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aco-spool-spec-'));
	});
	afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

	it('hands out what the server has not acknowledged, a batch at a time, from the file', () => {
		const spool = Spool.create(dir, { id: 's1', url: 'http://x', task: { name: 'n' } });
		spool.append([output(1), output(2), output(3)]);
		spool.append([output(4)]);
		expect(spool.count).toBe(4);
		expect(spool.unacknowledged(2, 1e6)).toEqual([output(1), output(2)]);
		spool.acknowledge('task_1', 2);
		// about a byte budget, but one at least
		expect(spool.unacknowledged(10, 1)).toEqual([output(3)]);
		spool.acknowledge('task_1', 3);
		expect(spool.unacknowledged(10, 1e6)).toEqual([output(4)]);
		spool.acknowledge('task_1', 4);
		expect(spool.unacknowledged(10, 1e6)).toEqual([]);
		spool.markComplete();
		expect(spool.delivered).toBe(true);
	});

	it('opens where the server left off, ignoring a line a crash tore', () => {
		const spool = Spool.create(dir, { id: 's2', url: 'http://x', task: { name: 'n' } });
		spool.append([output(1), output(2), output(3)]);
		spool.unacknowledged(1, 1e6);
		spool.acknowledge('task_1', 1);
		fs.appendFileSync(spool.file, '{"type":"outp');
		const reopened = Spool.open(spool.file)!;
		expect([reopened.count, reopened.state.acked]).toEqual([3, 1]);
		expect(reopened.unacknowledged(10, 1e6)).toEqual([output(2), output(3)]);
		// acknowledged without a read (another process sent them): found in the file
		reopened.acknowledge('task_1', 2);
		expect(reopened.unacknowledged(10, 1e6)).toEqual([output(3)]);
	});

	it('opens a spool larger than one read, its events counted, not held', () => {
		const spool = Spool.create(dir, { id: 's3', url: 'http://x', task: { name: 'n' } });
		const text = 'x'.repeat(1_000);
		const big = (n: number) => ({ type: 'output' as const, step: 0, lines: [{ n, text }] });
		for (let n = 1; n <= 3_000; n += 100) spool.append(Array.from({ length: 100 }, (_, i) => big(n + i)));
		const reopened = Spool.open(spool.file)!;
		expect(reopened.count).toBe(3_000);
		const batch = reopened.unacknowledged(5_000, 2_500_000);
		expect(batch.length).toBeGreaterThan(2_000);
		expect(batch.map((e) => (e as { lines: { n: number }[] }).lines[0]!.n)).toEqual(
			Array.from({ length: batch.length }, (_, i) => i + 1)
		);
	});

	it('cuts a torn tail away before it appends, so what it appends reads whole', () => {
		const spool = Spool.create(dir, { id: 's4', url: 'http://x', task: { name: 'n' } });
		spool.append([output(1)]);
		fs.appendFileSync(spool.file, '{"type":"outp');
		const reopened = Spool.open(spool.file)!;
		reopened.append([
			{ type: 'status', status: 'failed', error: 'aco exec stopped before the command ended' }
		]);
		expect(reopened.count).toBe(2);
		expect(reopened.unacknowledged(10, 1e6)).toEqual([
			output(1),
			{ type: 'status', status: 'failed', error: 'aco exec stopped before the command ended' }
		]);
		expect(Spool.open(spool.file)!.count).toBe(2);
	});
});
