import { describe, expect, it } from 'vitest';
import { ApiClient } from '$lib/api';
import type { AnyEventEnvelope, WorkflowDetailResponse, WorkflowRun } from '$lib/protocol';
import { connectionHarness } from './test-connection';
import { deferred, makeRun, scriptedFetch, settle } from './test-fixtures';
import type { FakeSocket } from './test-socket';
import { WorkflowView } from './workflow-view.svelte';
import { WORKFLOWS_SUBSCRIPTION, WorkflowsList } from './workflows-list.svelte';

/**
 * The server as the stores read it: each answer is read when asked for and sent once its hold
 * (the first pending one) lets it go; `inFlight` and `most` count the loads under way.
 */
function setup(runs: WorkflowRun[]) {
	const state = {
		runs,
		description: 'v1',
		holds: [] as Promise<void>[],
		inFlight: 0,
		most: 0
	};
	const answer = async <T>(body: T): Promise<T> => {
		state.inFlight++;
		state.most = Math.max(state.most, state.inFlight);
		const hold = state.holds.shift();
		if (hold) await hold;
		state.inFlight--;
		return body;
	};
	const detail = (): WorkflowDetailResponse => ({
		name: 'demo',
		workflow: { name: 'demo', description: state.description, file: 'demo.yml', tasks: [] },
		file: 'demo.yml',
		source: null,
		source_truncated: false,
		error: null
	});
	const { fetch, calls } = scriptedFetch({
		'GET /api/v1/workflows': () => ({
			workflows: [{ name: 'demo', description: null, file: 'demo.yml', tasks: [] }],
			errors: []
		}),
		'GET /api/v1/workflows/demo': () => answer(detail()),
		'GET /api/v1/runs': () => answer({ runs: state.runs.slice(), has_more: false })
	});
	const { connection, factory, accept } = connectionHarness();
	connection.connect();
	accept();
	return { state, calls, factory, connection, api: new ApiClient(fetch) };
}

/** the hub's answer to subscription `sub` (the last subscribe of it the socket sent) */
function confirm(socket: FakeSocket, sub: string): void {
	const sent = socket
		.sentOfType('subscribe')
		.filter((m) => m.sub === sub)
		.at(-1);
	if (!sent) throw new Error(`the socket never sent subscription ${sub}`);
	socket.receive({ type: 'subscribed', timestamp: '', data: { id: sub, filter: sent.filter } });
}

function progressEvent(seq: number, run: WorkflowRun): Omit<AnyEventEnvelope, 'timestamp'> {
	const { status, progress, finished_weight, total_weight } = run;
	return {
		type: 'workflow.progress',
		seq,
		data: { run_id: run.id, workflow: run.workflow, run, status, progress, finished_weight, total_weight }
	};
}

describe('WorkflowsList', () => {
	it('runs one load at a time, and a load read before an event does not undo it', async () => {
		const r1 = makeRun({ id: 'r1', workflow: 'demo', status: 'running', progress: 40 });
		const { state, calls, factory, connection, api } = setup([r1]);
		const held = deferred();
		state.holds.push(held.promise);
		const list = new WorkflowsList({ connection, api });
		// opened on the open connection: the hub's confirmation asks for a second load
		list.start();
		await settle();
		confirm(factory.last, WORKFLOWS_SUBSCRIPTION);
		await settle();
		const runReads = () => calls.filter((c) => c.startsWith('GET /api/v1/runs')).length;
		expect(runReads()).toBe(1);
		// the run moves on while the first answer (read at 40%) is on its way
		const further = { ...r1, progress: 80 };
		state.runs = [further];
		factory.last.event(progressEvent(1, further));
		expect(list.lastRuns.demo).toMatchObject({ id: 'r1', progress: 80 });
		held.resolve();
		await settle();
		await settle();
		expect(list.lastRuns.demo).toMatchObject({ id: 'r1', progress: 80 });
		// the second load ran after the first
		expect(runReads()).toBe(2);
		expect(state.most).toBe(1);
		expect(list.status).toBe('ready');
		list.destroy();
		connection.destroy();
	});

	it('keeps a newer run an event brought over an older last run a load read', async () => {
		const r1 = makeRun({ id: 'r1', workflow: 'demo', status: 'succeeded', progress: 100 });
		const { state, factory, connection, api } = setup([r1]);
		const held = deferred();
		state.holds.push(held.promise);
		const list = new WorkflowsList({ connection, api });
		list.start();
		await settle();
		const r2 = makeRun({ id: 'r2', workflow: 'demo', status: 'running', progress: 10 });
		factory.last.event(progressEvent(1, r2));
		held.resolve();
		await settle();
		expect(list.lastRuns.demo?.id).toBe('r2');
		list.destroy();
		connection.destroy();
	});
});

describe('WorkflowView', () => {
	it('runs one load at a time: the workflow an older answer read never lands after a newer one', async () => {
		const { state, factory, connection, api } = setup([]);
		const held = deferred();
		// the first load's two requests are held
		state.holds.push(held.promise, held.promise);
		const view = new WorkflowView({ connection, name: 'demo', api, onError: () => {} });
		view.start();
		await settle();
		// the file changes; the confirmation's load must read it after the first answer landed
		state.description = 'v2';
		confirm(factory.last, 'workflow:demo');
		await settle();
		held.resolve();
		await settle();
		await settle();
		expect(view.detail?.workflow?.description).toBe('v2');
		expect(state.most).toBe(2);
		view.destroy();
		connection.destroy();
	});
});
