import os from 'node:os';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AnyDomainEvent, Task } from '../../protocol';
import { MemoryBus } from '../bus/memory-bus';
import { openSqliteStore } from '../store/sqlite-store';
import type { Store } from '../store/types';
import { TaskRunner } from './task-runner';
import type { StepDef, TaskDef } from './workflow-file';
import { createStandaloneTask } from '../store/test-records';

const logger = pino({ level: 'silent' });
const REASON = 'the server stopped';
let store: Store;
let bus: MemoryBus;
let events: AnyDomainEvent[];

beforeEach(() => {
	store = openSqliteStore('', { filename: ':memory:' });
	bus = new MemoryBus();
	events = [];
	bus.subscribe((event) => events.push(event));
});

afterEach(async () => {
	await store.close();
});

const sh = (script: string, name = script): StepDef => ({
	name,
	command: 'sh',
	args: ['-c', script],
	cwd: os.tmpdir(),
	env: {},
	timeoutMs: null
});

async function setupRunner(
	steps: StepDef[],
	target: Store = store
): Promise<{ runner: TaskRunner; task: Task }> {
	const def: TaskDef = { key: 't', name: 't', needs: [], optional: false, weight: 1, retries: 0, steps };
	const task = await createStandaloneTask(store, { step_count: steps.length });
	const deps = {
		store: target,
		bus,
		logger,
		config: { killGraceMs: 300, maxLineLength: 1024 },
		interruptedReason: REASON
	};
	return { runner: new TaskRunner(deps, task, def), task };
}

describe('TaskRunner', () => {
	it('runs the steps in order and moves progress with each finished step', async () => {
		const { runner, task } = await setupRunner([sh('echo one', 'first'), sh('echo two', 'second')]);
		const final = await runner.run();
		expect(final).toMatchObject({ status: 'succeeded', progress: 100, error: null });
		expect(final.duration_ms).toBeGreaterThanOrEqual(0);
		const executions = await store.listExecutions(task.id);
		expect(executions.map((execution) => [execution.name, execution.status, execution.exit_code])).toEqual([
			['first', 'succeeded', 0],
			['second', 'succeeded', 0]
		]);
		const progress = events.filter((event) => event.type === 'task.progress').map((event) => event.data);
		expect(progress).toContainEqual(expect.objectContaining({ progress: 50 }));
		expect(progress[0]).toMatchObject({ message: 'first (1/2)' });
	});

	it('stops at the first failing step', async () => {
		const { runner, task } = await setupRunner([sh('echo ok'), sh('exit 4', 'breaks'), sh('echo never')]);
		expect(await runner.run()).toMatchObject({
			status: 'failed',
			error: "step 'breaks' failed: exited with code 4"
		});
		expect((await store.listExecutions(task.id)).map((execution) => execution.status)).toEqual([
			'succeeded',
			'failed'
		]);
	});

	it('is interrupted mid-step by a stop, its execution too', async () => {
		const { runner, task } = await setupRunner([sh('echo started; sleep 30')]);
		const done = runner.run();
		while (!events.some((event) => event.type === 'tool.output'))
			await new Promise((resolve) => setTimeout(resolve, 10));
		runner.stop('interrupted');
		expect(await done).toMatchObject({ status: 'interrupted', error: REASON });
		expect((await store.listExecutions(task.id))[0]).toMatchObject({ status: 'interrupted', error: REASON });
	});

	it('ends as cancelled without running anything when stopped before it starts', async () => {
		const { runner, task } = await setupRunner([sh('echo never')]);
		runner.stop('cancelled');
		expect(await runner.run()).toMatchObject({ status: 'cancelled', started_at: null });
		expect(await store.listExecutions(task.id)).toEqual([]);
		expect(events.map((event) => event.type)).toEqual(['task.status']);
	});

	it('returns a final record even when the store fails throughout', async () => {
		const broken = new Proxy(store, {
			get: (target, prop) =>
				prop === 'updateTask' || prop === 'createExecution'
					? () => Promise.reject(new Error('database is closed'))
					: Reflect.get(target, prop)
		});
		const { runner } = await setupRunner([sh('echo x')], broken);
		expect(await runner.run()).toMatchObject({
			status: 'failed',
			error: 'internal error: database is closed'
		});
		expect(events.at(-1)).toMatchObject({ type: 'task.failed' });
	});
});
