import { describe, expect, it } from 'vitest';
import type { AnyDomainEvent } from '../../protocol/events';
import { HistoryCursor } from './cursor';
import { History } from './history';
import { createEntry, type HistoryEntry } from './stream';

const progress = (task: string, value: number): AnyDomainEvent => ({
	type: 'task.progress',
	timestamp: '2024-01-01T00:00:00.000Z',
	data: { task_id: task, run_id: null, progress: value, message: null }
});

/** a cursor over `events` (seqs 1, 2, …), with each entry it took and whether it was superseded */
function read(events: AnyDomainEvent[]): [number, boolean][] {
	const history = new History({ maxEvents: 100, maxBytes: 1e6, maxAgeMs: 0 });
	events.forEach((event, i) => history.append(createEntry(i + 1, event)));
	const cursor = new HistoryCursor(history, () => {});
	const out: [number, boolean][] = [];
	for (let entry = cursor.peek(); typeof entry === 'object'; entry = cursor.peek()) {
		cursor.take();
		out.push([(entry as HistoryEntry).seq, cursor.superseded(entry as HistoryEntry)]);
	}
	return out;
}

describe('HistoryCursor', () => {
	it('calls a progress entry superseded by a later one of the same task, also the very next entry', () => {
		expect(read([progress('t1', 10), progress('t1', 20)])).toEqual([
			[1, true],
			[2, false]
		]);
		expect(read([progress('t1', 10), progress('t2', 5), progress('t1', 20), progress('t1', 30)])).toEqual([
			[1, true],
			[2, false],
			[3, true],
			[4, false]
		]);
	});
});
