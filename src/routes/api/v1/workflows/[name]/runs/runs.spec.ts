import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ApiErrorBody, RunResponse } from '$lib/protocol';
import { MemoryBus } from '$lib/server/bus/memory-bus';
import { createLogger } from '$lib/server/logger';
import { createOrchestrator } from '$lib/server/orchestrator/orchestrator';
import type { Orchestrator } from '$lib/server/orchestrator/types';
import { openSqliteStore } from '$lib/server/store/sqlite-store';
import { storeWithQueueFailingOnce } from '$lib/server/store/test-failing-store';
import type { Store } from '$lib/server/store/types';
import { POST } from './+server';

describe('POST /api/v1/workflows/:name/runs', () => {
	let dir: string;
	let store: Store;
	let orchestrator: Orchestrator | null = null;

	beforeEach(() => {
		dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aco-runs-route-'));
		fs.writeFileSync(path.join(dir, 'pair.yml'), 'name: pair\ntasks:\n  a:\n    steps: [{ run: "true" }]\n');
		store = openSqliteStore(dir, { filename: ':memory:' });
	});

	afterEach(async () => {
		await orchestrator?.shutdown();
		await store.close();
		fs.rmSync(dir, { recursive: true, force: true });
	});

	function start(name: string, runStore: Store): Promise<Response> {
		const logger = createLogger('silent');
		orchestrator = createOrchestrator({
			store: runStore,
			bus: new MemoryBus(),
			config: { workflowsDir: dir, concurrency: 1, killGraceMs: 300, maxLineLength: 1024, leaseMs: 15_000 },
			logger
		});
		const url = new URL(`http://aco.test/api/v1/workflows/${name}/runs`);
		const event = {
			locals: { aco: { orchestrator, logger }, principal: null },
			params: { name },
			request: new Request(url, { method: 'POST' }),
			url
		};
		return POST(event as unknown as Parameters<typeof POST>[0]) as Promise<Response>;
	}

	it('answers 503 run_not_started, naming the cause and what became of the run, when its first plan fails', async () => {
		const res = await start('pair', storeWithQueueFailingOnce(store, 'planRun'));

		expect(res.status).toBe(503);
		const body = (await res.json()) as ApiErrorBody;
		const [run] = await store.listRuns();
		expect(body.error).toEqual({
			code: 'run_not_started',
			message:
				'Workflow "pair" did not start: planning its run failed (database or disk is full). ' +
				'The run is marked failed; start it again once that is fixed.',
			details: { run_id: run.id, outcome: 'failed' }
		});
		expect(run.status).toBe('failed');
	});

	it('answers 201 with the run and where it lives when the plan goes through', async () => {
		const res = await start('pair', store);

		expect(res.status).toBe(201);
		const { run } = (await res.json()) as RunResponse;
		expect(res.headers.get('location')).toBe(`/api/v1/runs/${run.id}`);
		expect(run).toMatchObject({ workflow: 'pair' });
	});
});
