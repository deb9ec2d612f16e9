import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunDetailResponse } from '$lib/protocol';
import { storeLogReader } from '$lib/server/downloads/log-reader';
import { createLogger } from '$lib/server/logger';
import { openSqliteStore } from '$lib/server/store/sqlite-store';
import { createStandaloneTask, createTestExecution } from '$lib/server/store/test-records';
import type { Store } from '$lib/server/store/types';
import type { WorkflowRun } from '$lib/protocol';
import { GET as getRun } from './+server';
import { GET as getRunLog } from './log/+server';

/** more than the 1,000 a task list stops at */
const TASKS = 1_100;

describe('GET /api/v1/runs/:id and its whole-run download', () => {
	let store: Store;
	let run: WorkflowRun;

	beforeEach(async () => {
		store = openSqliteStore('', { filename: ':memory:' });
		run = await store.createRun({ workflow: 'matrix', total_weight: TASKS });
		for (let i = 0; i < TASKS; i++) {
			const task = await createStandaloneTask(store, { run_id: run.id, key: `t${i}`, name: `t${i}` });
			const execution = await createTestExecution(store, task.id, { name: 'build' });
			const text = `line of t${i}`;
			await store.appendLogLines(execution.id, [
				{ n: 1, stream: 'stdout', text, ts: '2026-12-05T00:00:00.000Z' }
			]);
		}
	});

	afterEach(() => store.close());

	function call(handler: typeof getRun | typeof getRunLog, path: string): Promise<Response> {
		const url = new URL(`http://aco.test${path}`);
		const event = {
			locals: {
				aco: { store, logger: createLogger('silent'), logReader: storeLogReader(store) },
				principal: null
			},
			params: { id: run.id },
			request: new Request(url),
			url
		};
		return (handler as (e: unknown) => Promise<Response>)(event);
	}

	it('shows every task of a run of more than 1,000 tasks, in workflow-file order', async () => {
		const res = await call(getRun, `/api/v1/runs/${run.id}`);

		expect(res.status).toBe(200);
		const body = (await res.json()) as RunDetailResponse;
		expect(body.tasks.map((t) => t.key)).toEqual(Array.from({ length: TASKS }, (_, i) => `t${i}`));
	});

	it("downloads every task's log of such a run, the first task first", async () => {
		const res = await call(getRunLog, `/api/v1/runs/${run.id}/log`);

		expect(res.status).toBe(200);
		expect(res.headers.get('x-aco-steps')).toBe(String(TASKS));
		const text = await res.text();
		const lines = text.split('\n').filter((line) => line.startsWith('line of '));
		expect(lines).toEqual(Array.from({ length: TASKS }, (_, i) => `line of t${i}`));
	});
});
