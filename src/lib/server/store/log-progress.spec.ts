import { beforeEach, describe, expect, it } from 'vitest';
import type { LogLine, LogStream } from '../../protocol';
import { STORE_KINDS, useExecutionStore } from '../../../../tests/helpers/store-backends';
import { createStandaloneTask, createTestExecution } from './test-records';
import type { Store } from './types';

const TS = '2024-01-01T00:00:00.000Z';

function line(n: number, text: string, partial = false, stream: LogStream = 'stdout'): LogLine {
	return partial ? { n, stream, ts: TS, text, partial } : { n, stream, ts: TS, text };
}

describe.each(STORE_KINDS)('%s store: progress runs recorded at ingest', (kind) => {
	const current = useExecutionStore(kind);
	let store: Store;
	let executionId: string;
	beforeEach(() => ({ store, executionId } = current));

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

	it('stores a big batch as it stores the same lines one append at a time: ranks, outline and runs', async () => {
		// 300 lines of both streams with groups, annotations and progress runs (some across statements)
		const mixed = Array.from({ length: 300 }, (_, i) => {
			const n = i + 1;
			const stream: LogStream = n % 7 === 0 ? 'stderr' : 'stdout';
			if (n % 50 === 1) return line(n, `::group::part ${n}`, false, stream);
			if (n % 50 === 40) return line(n, '::endgroup::', false, stream);
			if (n % 31 === 0) return line(n, `::warning::careful at ${n}`, false, stream);
			if (n % 60 >= 61 - 4) return line(n, `\r${n % 60}/60`, n % 60 !== 0 && n % 60 < 59, 'stdout');
			return line(n, `line ${n}`, false, stream);
		});
		const task = await createStandaloneTask(store);
		const oneByOne = (await createTestExecution(store, task.id)).id;
		await store.appendLogLines(executionId, mixed);
		for (const l of mixed) await store.appendLogLines(oneByOne, [l]);
		expect(await store.readLogOutline(executionId)).toEqual(await store.readLogOutline(oneByOne));
		for (const stream of ['stdout', 'stderr'] as const) {
			const page = await store.readLogPage(executionId, { stream, limit: 1000 });
			expect(page).toEqual(await store.readLogPage(oneByOne, { stream, limit: 1000 }));
			expect(page.lines.map((l) => l.n)).toEqual(mixed.filter((l) => l.stream === stream).map((l) => l.n));
		}
		const outline = await store.readLogOutline(executionId);
		expect([outline.groups.length, outline.annotations.length, outline.progress.length]).toEqual([6, 9, 5]);
		// appended again (a resent batch), nothing changes
		await store.appendLogLines(executionId, mixed.slice(100, 200));
		expect(await store.readLogOutline(executionId)).toEqual(outline);
	});
});
