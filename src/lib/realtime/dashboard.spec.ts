import { describe, expect, it } from 'vitest';
import { ApiClient } from '$lib/api';
import { RealtimeConnection } from './connection.svelte';
import { DashboardStore } from './dashboard.svelte';
import { socketFactory } from './test-socket';
import { deferred, makeRun, makeTask, scriptedFetch, settle } from './test-fixtures';
import type { Task, WorkflowRun } from '$lib/protocol';

function setup(snapshot: { tasks?: Task[]; runs?: WorkflowRun[] } = {}, { connected = true } = {}) {
	const state = {
		tasks: snapshot.tasks ?? [],
		runs: snapshot.runs ?? [],
		hold: null as Promise<void> | null
	};
	const { fetch, calls } = scriptedFetch({
		'GET /api/v1/workflows': () => ({
			workflows: [{ name: 'demo', description: null, file: 'demo.yaml', tasks: [] }],
			errors: [{ file: 'broken.yaml', reason: 'bad yaml' }]
		}),
		'GET /api/v1/runs': (url) => ({
			runs: url.searchParams.get('status') ? state.runs.filter((r) => r.status === 'running') : state.runs
		}),
		'GET /api/v1/tasks': async (url) => {
			if (state.hold) await state.hold;
			return {
				tasks: url.searchParams.get('status')
					? state.tasks.filter((t) => t.status === 'running')
					: state.tasks
			};
		},
		'POST /api/v1/workflows/demo/runs': () => ({ run: makeRun({ id: 'new-run', status: 'queued' }) }),
		'POST /api/v1/workflows/nope/runs': () =>
			new Response(
				JSON.stringify({ error: { code: 'workflow_not_found', message: 'No workflow named "nope".' } }),
				{
					status: 404
				}
			)
	});
	const factory = socketFactory();
	const connection = new RealtimeConnection({
		url: 'ws://aco.test/ws',
		createSocket: factory.create,
		target: new EventTarget(),
		backoff: { random: () => 0 }
	});
	const errors: string[] = [];
	const store = new DashboardStore({
		connection,
		api: new ApiClient(fetch),
		taskLimit: 3,
		onError: (err, context) => errors.push(`${context}: ${(err as Error).message}`)
	});
	if (connected) {
		connection.connect();
		factory.last.open();
		factory.last.welcome();
	}
	return { state, calls, factory, connection, store, errors };
}

describe('DashboardStore', () => {
	it('loads workflows, broken workflow files, runs and tasks', async () => {
		const { store, connection } = setup({ tasks: [makeTask()], runs: [makeRun()] });
		store.start();
		await settle();
		expect(store.status).toBe('ready');
		expect(store.workflows.map((w) => w.name)).toEqual(['demo']);
		expect(store.workflowErrors).toEqual([{ file: 'broken.yaml', reason: 'bad yaml' }]);
		expect(store.runs).toHaveLength(1);
		expect(store.runningTasks.map((t) => t.id)).toEqual(['t1']);
		store.destroy();
		connection.destroy();
	});

	it('subscribes to task and workflow events', async () => {
		const { store, factory, connection } = setup();
		store.start();
		expect(factory.last.sentOfType('subscribe')).toEqual([
			{
				type: 'subscribe',
				sub: 'dashboard',
				filter: { types: ['task.*', 'workflow.*'] },
				max_rate: 4,
				id: 'sub:dashboard'
			}
		]);
		store.destroy();
		expect(factory.last.sentOfType('unsubscribe')).toEqual([{ type: 'unsubscribe', sub: 'dashboard' }]);
		connection.destroy();
	});

	it('adds new tasks from events newest first and patches progress', async () => {
		const { store, factory, connection } = setup({ tasks: [makeTask({ id: 'old' })] });
		store.start();
		await settle();
		const fresh = makeTask({ id: 'new', name: 'Test' });
		factory.last.event({ type: 'task.created', seq: 1, data: { task_id: 'new', run_id: null, task: fresh } });
		factory.last.event({
			type: 'task.progress',
			seq: 2,
			data: { task_id: 'new', run_id: null, progress: 45, message: 'half way' }
		});
		expect(store.tasks.map((t) => t.id)).toEqual(['new', 'old']);
		expect(store.tasks[0]).toMatchObject({ progress: 45, message: 'half way' });
		store.destroy();
		connection.destroy();
	});

	it('replaces a task with the record its completion event carries', async () => {
		const task = makeTask();
		const { store, factory, connection } = setup({ tasks: [task] });
		store.start();
		await settle();
		const done = { ...task, status: 'failed' as const, error: 'exit 1' };
		factory.last.event({
			type: 'task.failed',
			seq: 1,
			data: { task_id: task.id, run_id: null, status: 'failed', error: 'exit 1', duration_ms: 5, task: done }
		});
		expect(store.tasks[0].status).toBe('failed');
		expect(store.runningTasks).toEqual([]);
		store.destroy();
		connection.destroy();
	});

	it('shows a running task sent back to the queue after its node died, with the retry message', async () => {
		const task = makeTask({ started_at: '2030-01-01T00:10:00.000Z', progress: 60, message: 'compiling' });
		const { store, factory, connection } = setup({ tasks: [task] });
		store.start();
		await settle();
		expect(store.runningTasks.map((t) => t.id)).toEqual(['t1']);
		const retry = 'node n1 went away; starting it again (attempt 2 of 2)';
		const queued = { ...task, status: 'queued' as const, message: retry };
		factory.last.event({
			type: 'task.status',
			seq: 1,
			data: { task_id: task.id, run_id: null, status: 'queued', message: retry, task: queued }
		});
		expect(store.tasks[0]).toMatchObject({ status: 'queued', message: retry });
		expect(store.runningTasks).toEqual([]);
		store.destroy();
		connection.destroy();
	});

	it('keeps a task sent back to the queue while a snapshot read before it was in flight', async () => {
		const task = makeTask({ started_at: '2030-01-01T00:10:00.000Z', progress: 60 });
		const { store, state, factory, connection } = setup({ tasks: [task] });
		const held = deferred();
		state.hold = held.promise;
		store.start();
		const queued = { ...task, status: 'queued' as const, message: 'retry' };
		factory.last.event({
			type: 'task.status',
			seq: 1,
			data: { task_id: task.id, run_id: null, status: 'queued', message: 'retry', task: queued }
		});
		held.resolve();
		await settle();
		expect(store.tasks[0]).toMatchObject({ status: 'queued', message: 'retry' });
		store.destroy();
		connection.destroy();
	});

	it('keeps at most the task limit of finished tasks', async () => {
		const tasks = ['a', 'b', 'c'].map((id) => makeTask({ id, status: 'succeeded' })).reverse();
		const { store, factory, connection } = setup({ tasks });
		store.start();
		await settle();
		const d = makeTask({ id: 'd', status: 'succeeded' });
		factory.last.event({ type: 'task.created', seq: 1, data: { task_id: 'd', run_id: null, task: d } });
		expect(store.tasks.map((t) => t.id)).toEqual(['d', 'c', 'b']);
		store.destroy();
		connection.destroy();
	});

	it('keeps an event that arrived while the snapshot was in flight', async () => {
		const task = makeTask();
		const { store, state, factory, connection } = setup({ tasks: [task] });
		const held = deferred();
		state.hold = held.promise;
		store.start();
		const done = { ...task, status: 'succeeded' as const, progress: 100 };
		factory.last.event({
			type: 'task.completed',
			seq: 1,
			data: { task_id: task.id, run_id: null, status: 'succeeded', duration_ms: 1, task: done }
		});
		held.resolve();
		await settle();
		expect(store.tasks[0].status).toBe('succeeded');
		store.destroy();
		connection.destroy();
	});

	it('reloads the snapshot when the hub answers the resume with reset, and says resyncing until it is in', async () => {
		const { store, state, calls, factory, connection } = setup();
		store.start();
		await settle();
		state.tasks = [makeTask({ id: 'while-away', status: 'succeeded' })];
		const before = calls.length;
		factory.last.serverClose(1006);
		await new Promise((r) => setTimeout(r, 5));
		factory.last.open();
		factory.last.welcome({ epoch: 'e2' });
		expect(connection.status).toBe('resyncing');
		await settle();
		expect(calls.length).toBe(before);
		const held = deferred();
		state.hold = held.promise;
		factory.last.reset({ missed: 12, epoch: 'e2', seq: 3 });
		await settle();
		expect(connection.status).toBe('resyncing');
		held.resolve();
		await settle();
		expect(calls.length).toBe(before + 5);
		expect(store.tasks.map((t) => t.id)).toEqual(['while-away']);
		expect(connection.status).toBe('live');
		store.destroy();
		connection.destroy();
	});

	it('does not reload after a clean resume: the replay brings what changed', async () => {
		const { store, state, calls, factory, connection } = setup();
		store.start();
		await settle();
		const task = makeTask({ id: 'replayed', status: 'running' });
		state.tasks = [makeTask({ id: 'from-rest' })];
		const before = calls.length;
		factory.last.serverClose(1006);
		await new Promise((r) => setTimeout(r, 5));
		factory.last.open();
		factory.last.welcome();
		factory.last.event({ type: 'task.created', seq: 1, data: { task_id: task.id, run_id: null, task } });
		factory.last.resumed(1);
		await settle();
		expect(calls.length).toBe(before);
		expect(store.tasks.map((t) => t.id)).toEqual(['replayed']);
		expect(connection.status).toBe('live');
		store.destroy();
		connection.destroy();
	});

	it('reloads the snapshot when the hub says it dropped events for this client', async () => {
		const { store, state, calls, factory, connection } = setup();
		store.start();
		await settle();
		state.tasks = [makeTask({ id: 't1', progress: 80 })];
		const before = calls.length;
		factory.last.dropped(4, 10, 13);
		await settle();
		expect(calls.length).toBe(before + 5);
		expect(store.tasks[0].progress).toBe(80);
		store.destroy();
		connection.destroy();
	});

	it('starts a run and shows it before any event arrives', async () => {
		const { store, connection } = setup();
		store.start();
		await settle();
		const run = await store.startRun('demo');
		expect(run?.id).toBe('new-run');
		expect(store.activeRuns.map((r) => r.id)).toEqual(['new-run']);
		expect(store.isStarting('demo')).toBe(false);
		store.destroy();
		connection.destroy();
	});

	it('reports a run that could not start through the error handler', async () => {
		const { store, errors, connection } = setup();
		store.start();
		await settle();
		expect(await store.startRun('nope')).toBeNull();
		expect(errors).toEqual(['Could not start workflow "nope": No workflow named "nope".']);
		store.destroy();
		connection.destroy();
	});

	it('reloads once its subscription is in place when it loaded before the first connect', async () => {
		// a page mounts before the layout opens the socket: its snapshot is read before the hub
		// delivers anything to it, so a change in between would otherwise never show
		const task = makeTask();
		const { store, state, calls, factory, connection } = setup({ tasks: [task] }, { connected: false });
		store.start();
		await settle();
		state.tasks = [{ ...task, status: 'succeeded', progress: 100 }];
		connection.connect();
		factory.last.open();
		factory.last.welcome();
		expect(store.tasks[0].status).toBe('running');
		const before = calls.length;
		factory.last.receive({
			type: 'subscribed',
			timestamp: new Date().toISOString(),
			data: { id: 'dashboard', filter: { types: ['task.*', 'workflow.*'] } }
		});
		await settle();
		expect(calls.length).toBe(before + 5);
		expect(store.tasks[0].status).toBe('succeeded');
		// later acknowledgements (after each reconnect) do not reload again: the resync does
		factory.last.receive({
			type: 'subscribed',
			timestamp: new Date().toISOString(),
			data: { id: 'dashboard', filter: { types: ['task.*', 'workflow.*'] } }
		});
		await settle();
		expect(calls.length).toBe(before + 5);
		store.destroy();
		connection.destroy();
	});

	it('reloads once the hub confirms the subscription it made on an open connection, not at later acknowledgements', async () => {
		// the hub may take the subscription after the snapshot was read: a task that ended in
		// between would otherwise stay "running"
		const task = makeTask();
		const { store, state, calls, factory, connection } = setup({ tasks: [task] });
		store.start();
		await settle();
		expect(calls.length).toBe(5);
		state.tasks = [{ ...task, status: 'succeeded', progress: 100 }];
		const acknowledge = () =>
			factory.last.receive({
				type: 'subscribed',
				timestamp: new Date().toISOString(),
				data: { id: 'dashboard', filter: { types: ['task.*', 'workflow.*'] } }
			});
		acknowledge();
		await settle();
		expect(calls.length).toBe(10);
		expect(store.tasks[0].status).toBe('succeeded');
		expect(connection.status).toBe('live');
		acknowledge();
		await settle();
		expect(calls.length).toBe(10);
		store.destroy();
		connection.destroy();
	});
});
