import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LogLine, LogStream } from '../../protocol';
import { STORE_KINDS, useStoreBackend } from '../../../../tests/helpers/store-backends';
import { createStandaloneTask, createTestExecution } from './test-records';
import type { Store } from './types';

const TS = '2024-01-01T00:00:00.000Z';

function line(n: number, text: string, partial = false, stream: LogStream = 'stdout'): LogLine {
	return partial ? { n, stream, ts: TS, text, partial } : { n, stream, ts: TS, text };
}

describe.each(STORE_KINDS)('%s store: progress runs recorded at ingest', (kind) => {
	const backend = useStoreBackend(kind);
	let store: Store;
	let executionId: string;

	beforeEach(async () => {
		store = await backend.open();
		const task = await createStandaloneTask(store);
		executionId = (await createTestExecution(store, task.id)).id;
	});
	afterEach(async () => {
		await store.close();
	});

	const progress = async () => (await store.readLogOutline(executionId)).progress;

	it('records snapshots and the line that redraws them last as one run', async () => {
		await store.appendLogLines(executionId, [
			line(1, 'start'),
			line(2, '\r[#   ] 10%\r[##  ] 50%', true),
			line(3, '\r[### ] 70%', true),
			line(4, '\r[####] 100%'),
			line(5, 'done')
		]);
		expect(await progress()).toEqual([{ start: 2, end: 4 }]);
	});

	it('follows a run split across append batches, open until its continuation arrives', async () => {
		await store.appendLogLines(executionId, [line(1, 'start'), line(2, '\r[#  ] 10%', true)]);
		expect(await progress()).toEqual([{ start: 2, end: null }]);
		await store.appendLogLines(executionId, [line(3, '\r[## ] 60%', true)]);
		expect(await progress()).toEqual([{ start: 2, end: null }]);
		await store.appendLogLines(executionId, [line(4, '\r[###] 100%'), line(5, 'done')]);
		expect(await progress()).toEqual([{ start: 2, end: 4 }]);
	});

	it('ends a run before a line of the other stream or one that adds text instead of redrawing', async () => {
		await store.appendLogLines(executionId, [
			line(1, '\r50%', true),
			line(2, 'oops', false, 'stderr'),
			line(3, 'x\r60%', true),
			line(4, '\r70%', true),
			line(5, ' and more')
		]);
		expect(await progress()).toEqual([
			{ start: 1, end: 1 },
			{ start: 3, end: 4 }
		]);
	});

	it('starts no run at the pieces of an overlong line (partial without \\r)', async () => {
		await store.appendLogLines(executionId, [line(1, 'a'.repeat(10), true), line(2, 'b')]);
		expect(await progress()).toEqual([]);
	});

	it('keeps groups and runs apart in one outline', async () => {
		await store.appendLogLines(executionId, [
			line(1, '\r1/2', true),
			line(2, '\r2/2'),
			line(3, '::group::Build'),
			line(4, 'x'),
			line(5, '::endgroup::')
		]);
		expect(await store.readLogOutline(executionId)).toMatchObject({
			groups: [{ name: 'Build', start: 3, end: 5 }],
			progress: [{ start: 1, end: 2 }]
		});
	});
});
