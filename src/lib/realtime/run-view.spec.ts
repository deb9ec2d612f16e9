import { describe, expect, it } from 'vitest';
import { ApiClient } from '$lib/api';
import { RunView } from './run-view.svelte';
import { makeRun, makeTask, scriptedFetch, settle, statusEvent } from './test-fixtures';
import { connectionHarness } from './test-connection';

function setup() {
	const state = {
		run: makeRun({ id: 'r1' }),
		tasks: [makeTask({ id: 't1', run_id: 'r1' })]
	};
	const { fetch, calls } = scriptedFetch({
		'GET /api/v1/runs/r1': () => ({ run: state.run, tasks: state.tasks })
	});
	const { connection, factory, accept } = connectionHarness();
	connection.connect();
	accept();
	const view = new RunView({ connection, runId: 'r1', api: new ApiClient(fetch), onError: () => {} });
	return { state, calls, factory, connection, view };
}

function confirmRun(socket: { receive(message: unknown): void }) {
	socket.receive({
		type: 'subscribed',
		timestamp: new Date().toISOString(),
		data: { id: 'run:r1', filter: { run_ids: ['r1'], types: ['task.*', 'workflow.*'] } }
	});
}

describe('RunView', () => {
	it('loads again once the hub confirms a subscription made on an open connection, keeping what events brought since', async () => {
		const { view, state, calls, factory, connection } = setup();
		view.start();
		await settle();
		// t1 ended between the load and the hub taking the subscription; t2's end came live, and the
		// reload was read before it was stored
		const t2 = makeTask({ id: 't2', run_id: 'r1', started_at: '2030-01-01T00:10:00.000Z' });
		state.tasks = [{ ...state.tasks[0]!, status: 'succeeded', progress: 100 }, t2];
		state.run = { ...state.run, progress: 50 };
		factory.last.event(statusEvent(1, { ...t2, status: 'failed', progress: 30 }));
		confirmRun(factory.last);
		await settle();
		expect(calls).toEqual(['GET /api/v1/runs/r1', 'GET /api/v1/runs/r1']);
		expect(view.tasks.map((t) => [t.id, t.status])).toEqual([
			['t1', 'succeeded'],
			['t2', 'failed']
		]);
		expect(view.run).toMatchObject({ progress: 50 });
		confirmRun(factory.last);
		await settle();
		expect(calls).toHaveLength(2);
		view.destroy();
		connection.destroy();
	});

	it('shows a running task sent back to the queue after its node died, with the retry message', async () => {
		const { view, state, factory, connection } = setup();
		const running = { ...state.tasks[0]!, started_at: '2030-01-01T00:10:00.000Z', progress: 60 };
		state.tasks = [running];
		view.start();
		await settle();
		expect(view.tasks[0]).toMatchObject({ status: 'running', progress: 60 });
		const retry = 'node n1 went away; starting it again (attempt 2 of 2)';
		factory.last.event(statusEvent(1, { ...running, status: 'queued', message: retry }));
		expect(view.tasks[0]).toMatchObject({ status: 'queued', message: retry });
		view.destroy();
		connection.destroy();
	});
});
