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
	const { fetch } = scriptedFetch({
		'GET /api/v1/runs/r1': () => ({ run: state.run, tasks: state.tasks })
	});
	const { connection, factory, accept } = connectionHarness();
	connection.connect();
	accept();
	const view = new RunView({ connection, runId: 'r1', api: new ApiClient(fetch), onError: () => {} });
	return { state, factory, connection, view };
}

describe('RunView', () => {
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
