import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LogLine } from '../../protocol';
import { AppendGroup } from './sqlite-append-group';

const line = (n: number): LogLine => ({ n, stream: 'stdout', ts: '2024-01-01T00:00:00.000Z', text: `l${n}` });

describe('AppendGroup', () => {
	let db: Database.Database;
	/** execution ids whose append runs, in order; 'bad' throws, 'fatal' ends the whole transaction */
	let runs: string[];
	let group: AppendGroup;

	beforeEach(() => {
		db = new Database(':memory:');
		db.exec('CREATE TABLE lines (execution_id TEXT, n INTEGER, UNIQUE (execution_id, n))');
		runs = [];
		const insert = db.prepare('INSERT OR IGNORE INTO lines VALUES (?, ?)');
		group = new AppendGroup(
			db,
			db.transaction((executionId: string, lines: LogLine[]) => {
				runs.push(executionId);
				const added = lines.filter((l) => insert.run(executionId, l.n).changes > 0);
				if (executionId === 'bad') throw new Error('bad append');
				if (executionId === 'fatal') db.exec('ROLLBACK');
				return added;
			})
		);
	});
	afterEach(() => db.close());

	const stored = () => db.prepare('SELECT execution_id AS id, n FROM lines ORDER BY rowid').all();

	it('commits the appends of one turn together, at its end, in the order they came', async () => {
		const appends = [
			group.add('a', [line(1), line(2)]),
			group.add('b', [line(1)]),
			group.add('a', [line(3)])
		];
		expect(stored()).toEqual([]);
		expect(await Promise.all(appends)).toEqual([[line(1), line(2)], [line(1)], [line(3)]]);
		expect(runs).toEqual(['a', 'b', 'a']);
		expect(stored()).toEqual([
			{ id: 'a', n: 1 },
			{ id: 'a', n: 2 },
			{ id: 'b', n: 1 },
			{ id: 'a', n: 3 }
		]);
	});

	it('resolves each append with the lines it stored, without those an earlier append of the turn stored', async () => {
		const appends = [group.add('a', [line(1), line(2)]), group.add('a', [line(2), line(3)])];
		expect(await Promise.all(appends)).toEqual([[line(1), line(2)], [line(3)]]);
		// alone too (a turn with one append)
		expect(await group.add('a', [line(3), line(4)])).toEqual([line(4)]);
	});

	it('rolls back and rejects only the append that failed; the others of its turn are stored', async () => {
		const settled = await Promise.allSettled([
			group.add('a', [line(1)]),
			group.add('bad', [line(1)]),
			group.add('b', [line(1)])
		]);
		expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
		expect(stored()).toEqual([
			{ id: 'a', n: 1 },
			{ id: 'b', n: 1 }
		]);
	});

	it('runs each append of the turn on its own when the whole transaction is gone: only the culprit fails', async () => {
		const settled = await Promise.allSettled([
			group.add('a', [line(1)]),
			group.add('fatal', [line(1)]),
			group.add('b', [line(1)])
		]);
		expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
		// the group stopped at the loss (nothing ran outside a transaction), then each went alone
		expect(runs).toEqual(['a', 'fatal', 'a', 'fatal', 'b']);
		expect(stored()).toEqual([
			{ id: 'a', n: 1 },
			{ id: 'b', n: 1 }
		]);
		// and the next turn commits together as usual
		await Promise.all([group.add('c', [line(1)]), group.add('d', [line(1)])]);
		expect(stored()).toHaveLength(4);
	});

	it('commits what waits when flushed at once (the store is closing)', async () => {
		const append = group.add('a', [line(1)]);
		group.flush();
		expect(stored()).toEqual([{ id: 'a', n: 1 }]);
		await append;
	});
});
