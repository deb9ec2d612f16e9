import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { STORE_KINDS, useStoreBackend } from '../../../../tests/helpers/store-backends';
import { planRun } from '../orchestrator/run-state';
import type { NewRunTask, QueueSignal } from './queue';
import { createTestExecution } from './test-records';
import type { Store } from './types';

function tasks(...defs: { key: string; needs?: string[]; retries?: number }[]): NewRunTask[] {
	return defs.map((def) => ({
		run_id: null,
		key: def.key,
		name: def.key,
		needs: def.needs ?? [],
		weight: 1,
		optional: false,
		step_count: 1,
		spec: { key: def.key, steps: [{ run: 'echo' }] },
		retries: def.retries ?? 0
	}));
}

const plan = (store: Store, runId: string) => store.queue.planRun(runId, (input) => planRun(input));

describe.each(STORE_KINDS)('%s task queue', (kind) => {
	const backend = useStoreBackend(kind);
	let store: Store;
	beforeEach(async () => {
		store = await backend.open();
	});
	afterEach(async () => {
		await store.close();
	});

	it('claims only ready tasks, in order, each once, and hands over the spec', async () => {
		const { run } = await store.queue.createRun(
			{ workflow: 'w', total_weight: 3 },
			tasks({ key: 'a' }, { key: 'b' }, { key: 'c', needs: ['a'] })
		);
		expect(await store.queue.claim('n1', 5, null)).toEqual([]);
		await plan(store, run.id);
		const [first, second] = await Promise.all([
			store.queue.claim('n1', 1, 5_000),
			store.queue.claim('n2', 5, 5_000)
		]);
		const claimed = [...first, ...second];
		expect(claimed.map((c) => c.task.key).sort()).toEqual(['a', 'b']);
		expect(claimed.every((c) => c.task.status === 'running' && c.claim.attempt === 1)).toBe(true);
		expect(claimed.find((c) => c.task.key === 'a')!.spec).toEqual({ key: 'a', steps: [{ run: 'echo' }] });
		expect(await store.queue.claim('n3', 5, 5_000)).toEqual([]);
	});

	it('writes through a claim only while it holds, and plans the dependants and the run end', async () => {
		const { run } = await store.queue.createRun(
			{ workflow: 'w', total_weight: 2 },
			tasks({ key: 'a' }, { key: 'b', needs: ['a'] })
		);
		await plan(store, run.id);
		const [a] = await store.queue.claim('n1', 5, 5_000);
		expect(
			await store.queue.updateClaimed(a.task.id, { node: 'n2', attempt: 1 }, { progress: 5 })
		).toBeNull();
		expect(
			await store.queue.updateClaimed(a.task.id, { ...a.claim, attempt: 2 }, { progress: 5 })
		).toBeNull();
		const done = await store.queue.updateClaimed(a.task.id, a.claim, { status: 'succeeded', progress: 100 });
		expect(done).toMatchObject({ status: 'succeeded', progress: 100 });
		expect(await plan(store, run.id)).toMatchObject({
			ended: [],
			progressed: { progress: 50, finished_weight: 1 },
			finished: null
		});
		const [b] = await store.queue.claim('n2', 5, 5_000);
		expect(b.task.key).toBe('b');
		await store.queue.updateClaimed(b.task.id, b.claim, { status: 'failed', error: 'exit 1' });
		const end = await plan(store, run.id);
		// b failed before it got anywhere: the run shows how far it got, not a full bar
		expect(end?.finished).toMatchObject({ status: 'failed', error: "task 'b' failed", progress: 50 });
		expect(await plan(store, run.id)).toBeNull();
	});

	it("moves the run's progress with a running task's own progress, weighted, and a failed run keeps how far it got", async () => {
		const { run } = await store.queue.createRun(
			{ workflow: 'w', total_weight: 4 },
			tasks({ key: 'a' }, { key: 'heavy' }, { key: 'b', needs: ['heavy'] }).map((task) =>
				task.key === 'heavy' ? { ...task, weight: 2 } : task
			)
		);
		await plan(store, run.id);
		const claimed = await store.queue.claim('n1', 5, 5_000);
		const a = claimed.find((c) => c.task.key === 'a')!;
		const heavy = claimed.find((c) => c.task.key === 'heavy')!;
		// as its runner does: started, then progress as the tool reports it
		const startedAt = new Date().toISOString();
		await store.queue.updateClaimed(a.task.id, a.claim, { started_at: startedAt, progress: 50 });
		await store.queue.updateClaimed(heavy.task.id, heavy.claim, { started_at: startedAt, progress: 25 });
		// a at 50 % of weight 1, heavy at 25 % of weight 2: 1 of 4
		expect((await plan(store, run.id))!.progressed).toMatchObject({ progress: 25, finished_weight: 0 });
		// a stored progress that did not change the run plans nothing new
		expect((await plan(store, run.id))!.progressed).toBeNull();
		await store.queue.updateClaimed(a.task.id, a.claim, { status: 'succeeded', progress: 100 });
		await store.queue.updateClaimed(heavy.task.id, heavy.claim, { progress: 62.5 });
		// a whole (1) + heavy 62.5 % of 2 (1.25): 2.25 of 4
		expect((await plan(store, run.id))!.progressed).toMatchObject({ progress: 56.3, finished_weight: 1 });
		await store.queue.updateClaimed(heavy.task.id, heavy.claim, { status: 'failed', error: 'exit 1' });
		const end = await plan(store, run.id);
		// b, which needs heavy, never starts: the run ends at how far it got, not at a full bar
		expect(end!.finished).toMatchObject({ status: 'failed', progress: 56.3, finished_weight: 4 });
		expect(await store.getRun(run.id)).toMatchObject({ status: 'failed', progress: 56.3 });
	});

	it('stops a run: returns its running tasks with their nodes, cancels the queued ones, claims none of it', async () => {
		const { run } = await store.queue.createRun(
			{ workflow: 'w', total_weight: 3 },
			tasks({ key: 'a' }, { key: 'b' }, { key: 'c', needs: ['a'] })
		);
		await plan(store, run.id);
		const [a] = await store.queue.claim('n1', 1, 5_000);
		expect(await store.queue.stopRun(run.id, 'cancelled')).toEqual([{ id: a.task.id, node: 'n1' }]);
		expect(await store.queue.claim('n2', 5, 5_000)).toEqual([]);
		const result = await plan(store, run.id);
		expect(result!.ended.map((t) => [t.key, t.status, t.error])).toEqual([
			['b', 'cancelled', 'cancelled before it started'],
			['c', 'cancelled', 'cancelled before it started']
		]);
		await store.queue.updateClaimed(a.task.id, a.claim, { status: 'cancelled' });
		expect((await plan(store, run.id))!.finished).toMatchObject({ status: 'cancelled' });
		expect(await store.queue.stopRun(run.id, 'cancelled')).toBeNull();
	});

	it('cancels a queued task only while it is queued and tells who holds a task', async () => {
		const {
			run,
			tasks: [a, b]
		} = await store.queue.createRun({ workflow: 'w', total_weight: 2 }, tasks({ key: 'a' }, { key: 'b' }));
		await plan(store, run.id);
		await store.queue.claim('n1', 1, 5_000);
		expect(await store.queue.holder(a.id)).toEqual({ status: 'running', node: 'n1', run_id: run.id });
		expect(await store.queue.cancelQueued(a.id, 'x')).toBeNull();
		expect(await store.queue.cancelQueued(b.id, 'no longer wanted')).toMatchObject({
			status: 'cancelled',
			error: 'no longer wanted'
		});
		expect(await store.queue.holder('task_missing')).toBeNull();
	});

	it("releases a node's tasks: queued again while retries remain, interrupted after, with their running executions", async () => {
		const { run } = await store.queue.createRun(
			{ workflow: 'w', total_weight: 2 },
			tasks({ key: 'once' }, { key: 'twice', retries: 1 })
		);
		await plan(store, run.id);
		const claimed = await store.queue.claim('n1', 5, 5_000);
		const twice = claimed.find((c) => c.task.key === 'twice')!;
		const execution = await createTestExecution(store, twice.task.id);

		const released = await store.queue.release({ node: 'n1' }, 'node n1 went away');
		const byKey = Object.fromEntries(released.map((r) => [r.task.key, r]));
		expect(byKey.once).toMatchObject({
			requeued: false,
			node: 'n1',
			task: { status: 'interrupted', error: 'node n1 went away' }
		});
		expect(byKey.twice).toMatchObject({ requeued: true, task: { status: 'queued' } });
		expect(byKey.twice.task.message).toMatch(/node n1 went away; starting it again \(attempt 2 of 2\)/);
		expect(byKey.twice.executions).toEqual([
			expect.objectContaining({ id: execution.id, status: 'interrupted' })
		]);
		// the old claim writes nothing any more
		expect(await store.queue.updateClaimed(twice.task.id, twice.claim, { status: 'succeeded' })).toBeNull();

		const [again] = await store.queue.claim('n2', 5, 5_000);
		expect(again).toMatchObject({ task: { key: 'twice' }, claim: { node: 'n2', attempt: 2 } });
		expect(await store.queue.release({ node: 'n2' }, 'gone too')).toEqual([
			expect.objectContaining({ requeued: false, task: expect.objectContaining({ status: 'interrupted' }) })
		]);
	});

	it('keeps a stop asked of a running task for the node holding it, whose renew reports it, as it does a stopping run', async () => {
		const { run } = await store.queue.createRun(
			{ workflow: 'w', total_weight: 3 },
			tasks({ key: 'a', retries: 1 }, { key: 'b' }, { key: 'c', needs: ['a'] })
		);
		await plan(store, run.id);
		const claimed = await store.queue.claim('n1', 5, 5_000);
		const [a, b] = ['a', 'b'].map((key) => claimed.find((c) => c.task.key === key)!.task);
		const runs = claimed.map((c) => ({ id: c.task.id, attempt: c.claim.attempt }));
		const held = async () =>
			Object.fromEntries(
				(await store.queue.renew('n1', 5_000, runs)).map((t) => [t.id, [t.attempt, t.stopping]])
			);
		expect(await held()).toEqual({ [a.id]: [1, null], [b.id]: [1, null] });

		expect(await store.queue.stopTask(a.id, 'cancelled')).toBe(true);
		const c = (await store.listTasks({ run_id: run.id })).find((t) => t.key === 'c')!;
		// not running: nothing to stop
		expect(await store.queue.stopTask(c.id, 'cancelled')).toBe(false);
		expect(await held()).toEqual({ [a.id]: [1, 'cancelled'], [b.id]: [1, null] });
		await store.queue.stopRun(run.id, 'cancelled');
		expect(await held()).toEqual({ [a.id]: [1, 'cancelled'], [b.id]: [1, 'cancelled'] });

		// its node died before stopping it: the task asked to stop is not started again, and ends as asked
		const released = await store.queue.release({ node: 'n1' }, 'node n1 went away');
		expect(released.find((r) => r.task.id === a.id)).toMatchObject({
			requeued: false,
			task: { status: 'cancelled', error: 'node n1 went away' }
		});
		expect(released.find((r) => r.task.id === b.id)).toMatchObject({ task: { status: 'interrupted' } });
	});

	it('answers a renew only for the tasks named, each in the attempt named, while its node holds them', async () => {
		const { run } = await store.queue.createRun(
			{ workflow: 'w', total_weight: 2 },
			tasks({ key: 'a' }, { key: 'b' })
		);
		await plan(store, run.id);
		const claimed = await store.queue.claim('n1', 5, 5_000);
		const [a, b] = ['a', 'b'].map((key) => claimed.find((c) => c.task.key === key)!.task);
		expect(await store.queue.renew('n1', 5_000, [{ id: a.id, attempt: 1 }])).toEqual([
			{ id: a.id, attempt: 1, stopping: null }
		]);
		expect(await store.queue.renew('n1', 5_000, [{ id: a.id, attempt: 2 }])).toEqual([]);
		expect(await store.queue.renew('n2', 5_000, [{ id: b.id, attempt: 1 }])).toEqual([]);
		expect(await store.queue.renew('n1', 5_000, [])).toEqual([]);
	});

	if (kind === 'postgres') {
		it('lets the lease of a task its node holds but does not name in a renew run out, and releases it', async () => {
			const { run } = await store.queue.createRun(
				{ workflow: 'w', total_weight: 2 },
				tasks({ key: 'runs' }, { key: 'orphan', retries: 1 })
			);
			await plan(store, run.id);
			// both claimed by one node, which runs only the first (the answer of the other's claim was lost)
			const [runs] = await store.queue.claim('n1', 1, 300);
			const [orphan] = await store.queue.claim('n1', 1, 300);
			let released: Awaited<ReturnType<Store['queue']['release']>> = [];
			while (released.length === 0) {
				await store.queue.renew('n1', 300, [{ id: runs.task.id, attempt: runs.claim.attempt }]);
				released = await store.queue.release({ expired: true }, 'lease ran out');
			}
			expect(released.map((r) => [r.task.id, r.node, r.requeued])).toEqual([[orphan.task.id, 'n1', true]]);
			expect(await store.queue.holder(runs.task.id)).toMatchObject({ status: 'running', node: 'n1' });
		});

		it('releases the tasks whose lease ran out, and renewing keeps a lease alive', async () => {
			const { run } = await store.queue.createRun(
				{ workflow: 'w', total_weight: 2 },
				tasks({ key: 'a' }, { key: 'b' })
			);
			await plan(store, run.id);
			const [a] = await store.queue.claim('alive', 1, 300);
			const [b] = await store.queue.claim('dead', 1, 300);
			let released: Awaited<ReturnType<Store['queue']['release']>> = [];
			while (released.length === 0) {
				expect(await store.queue.renew('alive', 300, [{ id: a.task.id, attempt: 1 }])).toEqual([
					{ id: a.task.id, attempt: 1, stopping: null }
				]);
				released = await store.queue.release({ expired: true }, 'lease ran out');
			}
			expect(released.map((r) => [r.task.id, r.node])).toEqual([[b.task.id, 'dead']]);
			expect(await store.queue.holder(a.task.id)).toMatchObject({ status: 'running', node: 'alive' });
		});

		it('finds open runs that were never planned, and only those', async () => {
			const { run: lost } = await store.queue.createRun(
				{ workflow: 'w', total_weight: 1 },
				tasks({ key: 'a' })
			);
			const { run: planned } = await store.queue.createRun(
				{ workflow: 'w', total_weight: 1 },
				tasks({ key: 'a' })
			);
			await plan(store, planned.id);
			expect(await store.queue.stalledRuns(60_000)).toEqual([]);
			expect(await store.queue.stalledRuns(0)).toEqual([lost.id]);
			await plan(store, lost.id);
			expect(await store.queue.stalledRuns(0)).toEqual([]);
		});

		it('signals every listener, also across connections', async () => {
			const other = await backend.open();
			try {
				const heard: QueueSignal[] = [];
				other.queue.onSignal((signal) => heard.push(signal));
				// the listening connection is up once a signal sent after subscribing arrives
				while (heard.length === 0) {
					await store.queue.signal({ kind: 'work' });
					await new Promise((resolve) => setTimeout(resolve, 50));
				}
				await store.queue.signal({ kind: 'cancel', task_id: 'task_1', reason: 'cancelled' });
				await expect
					.poll(() => heard.at(-1))
					.toEqual({ kind: 'cancel', task_id: 'task_1', reason: 'cancelled' });
			} finally {
				await other.close();
			}
		});

		it('keeps a registry of live nodes', async () => {
			await store.queue.heartbeat('a', 'http://a', { clients: 1 }, 10_000);
			const nodes = await store.queue.heartbeat('b', null, null, 10_000);
			expect(nodes.map((n) => [n.id, n.url, n.figures])).toEqual([
				['a', 'http://a', { clients: 1 }],
				['b', null, null]
			]);
			await store.queue.leave('a');
			expect((await store.queue.heartbeat('b', null, null, 10_000)).map((n) => n.id)).toEqual(['b']);
		});
	}
});
