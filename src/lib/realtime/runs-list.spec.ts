import { describe, expect, it } from 'vitest';
import { ApiClient } from '$lib/api';
import type { AnyEventEnvelope, WorkflowRun } from '$lib/protocol';
import { RunsList } from './runs-list.svelte';
import { deferred, makeRun, scriptedFetch, settle } from './test-fixtures';
import { connectionHarness } from './test-connection';

function setup(runs: WorkflowRun[]) {
	const state = { runs, hold: null as Promise<void> | null };
	const { fetch } = scriptedFetch({
		'GET /api/v1/workflows': () => ({ workflows: [], errors: [] }),
		'GET /api/v1/runs': async (url) => {
			// the answer is read now, sent when the hold lets it go
			const status = url.searchParams.get('status');
			const answer = { runs: state.runs.filter((r) => !status || r.status === status), has_more: false };
			if (state.hold) await state.hold;
			return answer;
		}
	});
	const { connection, factory, accept } = connectionHarness();
	connection.connect();
	accept();
	const list = new RunsList({ connection, api: new ApiClient(fetch), onError: () => {} });
	return { state, factory, connection, list };
}

function runEvent(seq: number, run: WorkflowRun): Omit<AnyEventEnvelope, 'timestamp'> {
	const base = { run_id: run.id, workflow: run.workflow, run };
	if (run.status === 'succeeded') {
		return { type: 'workflow.completed', seq, data: { ...base, status: 'succeeded', duration_ms: null } };
	}
	const { status, progress, finished_weight, total_weight } = run;
	return {
		type: 'workflow.progress',
		seq,
		data: { ...base, status, progress, finished_weight, total_weight }
	};
}

describe('RunsList', () => {
	it('shows a run that finished while its load was on the way as finished', async () => {
		const running = makeRun({ id: 'r1', status: 'running', progress: 40 });
		const { state, factory, connection, list } = setup([running]);
		const held = deferred();
		state.hold = held.promise;
		list.start({ workflow: '', status: '', page: 0 });
		await settle();
		factory.last.event(runEvent(1, { ...running, status: 'succeeded', progress: 100 }));
		held.resolve();
		await settle();
		expect(list.runs.map((r) => [r.id, r.status])).toEqual([['r1', 'succeeded']]);
		list.destroy();
		connection.destroy();
	});

	it('keeps a run created while its load was on the way, and drops one that left the filter', async () => {
		const older = makeRun({ id: 'r1', status: 'running', created_at: '2030-01-01T00:00:00.000Z' });
		const { state, factory, connection, list } = setup([older]);
		const held = deferred();
		state.hold = held.promise;
		list.start({ workflow: '', status: 'running', page: 0 });
		await settle();
		const newer = makeRun({ id: 'r2', status: 'running', created_at: '2030-01-01T00:01:00.000Z' });
		factory.last.event(runEvent(1, newer));
		factory.last.event(runEvent(2, { ...older, status: 'succeeded', progress: 100 }));
		held.resolve();
		await settle();
		expect(list.runs.map((r) => r.id)).toEqual(['r2']);
		list.destroy();
		connection.destroy();
	});
});
