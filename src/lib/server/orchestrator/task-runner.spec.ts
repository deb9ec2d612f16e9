import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import type { AnyDomainEvent, Task } from '../../protocol';
import { MemoryBus } from '../bus/memory-bus';
import { openSqliteStore } from '../store/sqlite-store';
import type { Store } from '../store/types';
import { secretNameTest } from '../masking/secret-env';
import { ClaimLostError, TaskRunner, type TaskRunnerDeps } from './task-runner';
import { toolEnvironment } from './tool-env';
import { parseWorkflowFile, type StepDef, type TaskDef } from './workflow-file';
import { createStandaloneTask } from '../store/test-records';
import { failingStore } from '../store/test-failing-store';
import { StoreUnavailableError } from '../store/errors';

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

/** the steps of the first task of a workflow file's text, named as the parser names them */
function parsedSteps(yaml: string, dir = os.tmpdir()): StepDef[] {
	const result = parseWorkflowFile(yaml, path.join(dir, 'flow.yml'));
	if (!result.ok) throw new Error(result.error.reason);
	return result.workflow.tasks[0].steps;
}

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
	target: Store = store,
	more: Partial<TaskRunnerDeps> = {}
): Promise<{ runner: TaskRunner; task: Task }> {
	const def: TaskDef = { key: 't', name: 't', needs: [], optional: false, weight: 1, retries: 0, steps };
	const task = await createStandaloneTask(store, { step_count: steps.length });
	const deps = {
		store: target,
		bus,
		logger,
		config: { killGraceMs: 300, maxLineLength: 1024 },
		interruptedReason: REASON,
		...more
	};
	return { runner: new TaskRunner(deps, task, def), task };
}

/** resolves once an event of `type` was published */
async function waitForEvent(type: AnyDomainEvent['type']): Promise<AnyDomainEvent> {
	await expect.poll(() => events.some((event) => event.type === type)).toBe(true);
	return events.find((event) => event.type === type)!;
}

describe('TaskRunner', () => {
	it('starts a later attempt from no progress, not from where the attempt before it got', async () => {
		const { runner, task } = await setupRunner([sh('true', 'only')]);
		// the attempt before reached 60 % before its node died
		await store.updateTask(task.id, { progress: 60 });
		await runner.run();
		const running = events.find((event) => event.type === 'task.status' && event.data.status === 'running');
		expect(running?.data).toMatchObject({ task: { status: 'running', progress: 0 } });
	});

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
		while (!events.some((event) => event.type === 'tool.lines'))
			await new Promise((resolve) => setTimeout(resolve, 10));
		runner.stop('interrupted');
		expect(await done).toMatchObject({ status: 'interrupted', error: REASON });
		expect((await store.listExecutions(task.id))[0]).toMatchObject({ status: 'interrupted', error: REASON });
	});

	it('ends interrupted, not failed, when a shutdown stops the reading of its steps after stopping it', async () => {
		let readStarted = false;
		let failRead!: (err: Error) => void;
		const { runner, task } = await setupRunner([sh('echo never')], store, {
			// reading the secret values again parses a large workflow file in a thread, which the shutdown stops
			runnableSteps: () => {
				readStarted = true;
				return new Promise((_, reject) => (failRead = reject));
			}
		});
		const done = runner.run();
		while (!readStarted) await new Promise((resolve) => setTimeout(resolve, 5));
		runner.stop('interrupted');
		failRead(Object.assign(new Error('The server is shutting down'), { code: 'shutting_down' }));
		expect(await done).toMatchObject({ status: 'interrupted', error: REASON });
		expect(await store.listExecutions(task.id)).toEqual([]);
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

	it("masks its steps' secret variables in every step's output and command line, never the server's token", async () => {
		const step = {
			...sh('', 'deploy'),
			args: [
				'-c',
				'echo "$DEPLOY_TOKEN" "token:${ACO_TOKEN:-unset}"; v=announced; echo "::add-mask::$v-9"',
				'deploy-token-77'
			],
			env: { DEPLOY_TOKEN: 'deploy-token-77' }
		};
		const later = sh('v=announced; echo later $v-9 deploy-token-77 server-token-55', 'later');
		const toolEnv = toolEnvironment({ ...process.env, ACO_TOKEN: 'server-token-55' });
		const { runner, task } = await setupRunner([step, later], store, {
			toolEnv,
			isSecretName: secretNameTest()
		});
		expect(await runner.run()).toMatchObject({ status: 'succeeded' });
		const executions = await store.listExecutions(task.id);
		const texts = [];
		for (const execution of executions)
			texts.push(...(await store.readLogLines(execution.id)).map((line) => line.text));
		expect(texts).toEqual(['*** token:unset', '::add-mask::***', 'later *** *** ***']);
		expect(executions[0].args.at(-1)).toBe('***');
		expect(executions[1].args).toEqual(['-c', 'v=announced; echo later $v-9 *** ***']);
		expect(JSON.stringify(events)).not.toMatch(/deploy-token-77|announced-9|server-token-55/);
	});

	it("shows its steps by names with their secrets masked, a command line's before it is cut, in executions, messages and errors", async () => {
		const secret = 'Zq81-live-deploy-key';
		// the default name is cut at 60 characters, inside the secret
		const steps = parsedSteps(
			[
				'tasks:',
				'  push:',
				'    steps:',
				`      - run: ': fetch the nightly release manifest, header=X-Token:${secret} https://example.invalid/manifest'`,
				'        env: { DEPLOY_TOKEN: ' + secret + ' }',
				`      - name: push with ${secret}`,
				'        run: exit 3'
			].join('\n')
		);
		expect(steps[0].name).toContain(secret.slice(0, 6));
		const { runner, task } = await setupRunner(steps, store, { isSecretName: secretNameTest() });
		const cut = ': fetch the nightly release manifest, header=X-Token:*** ht…';
		expect(await runner.run()).toMatchObject({
			status: 'failed',
			error: "step 'push with ***' failed: exited with code 3"
		});
		const executions = await store.listExecutions(task.id);
		expect(executions.map((execution) => execution.name)).toEqual([cut, 'push with ***']);
		const messages = events.filter((event) => event.type === 'task.progress').map((event) => event.data);
		expect(messages).toContainEqual(expect.objectContaining({ message: `${cut} (1/2)` }));
		expect(messages).toContainEqual(expect.objectContaining({ message: 'push with *** (2/2)' }));
		const started = events.filter((event) => event.type === 'tool.started');
		expect(started.map((event) => (event.data as { execution: { name: string } }).execution.name)).toEqual([
			cut,
			'push with ***'
		]);
		expect(JSON.stringify(events)).not.toContain(secret.slice(0, 6));
		expect(JSON.stringify(await store.getTask(task.id))).not.toContain(secret.slice(0, 6));
	});

	it('logs a step that could not start with its secrets masked, as it stores it', async () => {
		const secret = 'Kd93-spawn-deploy-key';
		const lines: string[] = [];
		const recording = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
		const step: StepDef = {
			...sh('unused', 'deploy'),
			command: `/nonexistent/deploy-${secret}`,
			args: [],
			env: { DEPLOY_TOKEN: secret }
		};
		const { runner, task } = await setupRunner([step], store, {
			isSecretName: secretNameTest(),
			logger: recording
		});
		expect(await runner.run()).toMatchObject({ status: 'failed' });
		const [execution] = await store.listExecutions(task.id);
		expect(execution!.error).toContain('/nonexistent/deploy-***');
		const failed = lines.map((line) => JSON.parse(line)).find((line) => line.msg === 'step failed');
		expect(failed?.error).toContain('/nonexistent/deploy-***');
		expect(lines.join('\n')).not.toContain(secret.slice(0, 8));
	});

	it("masks a later step's secret variables in the output of the steps before it", async () => {
		const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aco-runner-'));
		onTestFinished(() => fs.rmSync(dir, { recursive: true, force: true }));
		const yaml = [
			'tasks:',
			'  two:',
			'    steps:',
			'      - run: cat two.yml',
			'      - run: echo "second $DEPLOY_TOKEN"',
			'        env: { DEPLOY_TOKEN: Kx93-second-step-secret }'
		].join('\n');
		fs.writeFileSync(path.join(dir, 'two.yml'), yaml + '\n');
		const { runner, task } = await setupRunner(parsedSteps(yaml, dir), store, {
			isSecretName: secretNameTest()
		});
		expect(await runner.run()).toMatchObject({ status: 'succeeded' });
		const [first, second] = await store.listExecutions(task.id);
		const texts = async (id: string) => (await store.readLogLines(id)).map((line) => line.text);
		expect(await texts(first.id)).toContain('        env: { DEPLOY_TOKEN: *** }');
		expect(await texts(second.id)).toEqual(['second ***']);
		expect(JSON.stringify(events)).not.toContain('Kx93-second-step-secret');
	});

	it('fails with a clear message and stops its tool when the disk is full', async () => {
		const { runner, task } = await setupRunner(
			[sh('echo first; sleep 30', 'writer')],
			failingStore(store, 'appendLogLines')
		);
		const started = Date.now();
		const final = await runner.run();
		expect(final).toMatchObject({ status: 'failed' });
		expect(final.error).toMatch(
			/^step 'writer' failed: the data folder is full, so this task's output could not be stored/
		);
		expect(Date.now() - started).toBeLessThan(20_000);
		expect((await store.listExecutions(task.id))[0]).toMatchObject({ status: 'failed' });
	});

	it('waits out a database that cannot be reached and stores how the task ended once it is back', async () => {
		let away = false;
		const calls: string[] = [];
		const flaky: Store = new Proxy(store, {
			get: (target, prop) => {
				const value = Reflect.get(target, prop);
				if (typeof value !== 'function') return value;
				return (...args: unknown[]) => {
					if (away && typeof prop === 'string' && /^(update|create|end)/.test(prop)) {
						calls.push(prop);
						return Promise.reject(
							new StoreUnavailableError(new Error('connect ECONNREFUSED 127.0.0.1:5432'))
						);
					}
					return value.apply(target, args);
				};
			}
		});
		const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aco-runner-'));
		onTestFinished(() => fs.rmSync(dir, { recursive: true, force: true }));
		const waits = {
			...sh('echo before; while [ ! -e go ]; do sleep 0.01; done; echo after', 'waits'),
			cwd: dir
		};
		const { runner, task } = await setupRunner([waits], flaky);
		const final = runner.run();
		await expect.poll(() => events.some((event) => event.type === 'tool.lines')).toBe(true);
		away = true;
		fs.writeFileSync(path.join(dir, 'go'), '');
		// the tool ended while the store was away: its end waits for it
		await expect.poll(() => calls.filter((call) => call === 'endExecution').length).toBeGreaterThanOrEqual(2);
		away = false;
		expect(await final).toMatchObject({ status: 'succeeded', error: null });
		expect(await store.getTask(task.id)).toMatchObject({ status: 'succeeded' });
		const [execution] = await store.listExecutions(task.id);
		expect(execution).toMatchObject({ status: 'succeeded', line_count: 2 });
		expect((await store.readLogLines(execution.id)).map((line) => line.text)).toEqual(['before', 'after']);
	});

	it('keeps progress set while the database cannot be reached and stores and announces it once it is back', async () => {
		let away = false;
		let attempts = 0;
		const flaky: Store = new Proxy(store, {
			get: (target, prop) => {
				const value = Reflect.get(target, prop);
				if (typeof value !== 'function') return value;
				return (...args: unknown[]) => {
					if (away && prop === 'updateTask') {
						attempts++;
						return Promise.reject(
							new StoreUnavailableError(new Error('connect ECONNREFUSED 127.0.0.1:5432'))
						);
					}
					return value.apply(target, args);
				};
			}
		});
		const warnings: string[] = [];
		const recording = pino(
			{ level: 'warn' },
			{ write: (line: string) => warnings.push(JSON.parse(line).msg) }
		);
		const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aco-runner-'));
		onTestFinished(() => fs.rmSync(dir, { recursive: true, force: true }));
		const script =
			'echo before; while [ ! -e go ]; do sleep 0.01; done; echo "::progress value=60::x"; ' +
			'while [ ! -e end ]; do sleep 0.01; done';
		const { runner, task } = await setupRunner([{ ...sh(script, 'links'), cwd: dir }], flaky, {
			logger: recording
		});
		const final = runner.run();
		await expect.poll(() => events.some((event) => event.type === 'tool.lines')).toBe(true);
		away = true;
		fs.writeFileSync(path.join(dir, 'go'), '');
		// tried again, with backoff, while the store stays away
		await expect.poll(() => attempts, { timeout: 5_000 }).toBeGreaterThanOrEqual(3);
		away = false;
		// stored and announced while the tool still runs, not only by the task's end
		await expect.poll(async () => (await store.getTask(task.id))?.message, { timeout: 5_000 }).toBe('x');
		expect(await store.getTask(task.id)).toMatchObject({ status: 'running', progress: 60, message: 'x' });
		expect(events.filter((event) => event.type === 'task.progress').at(-1)?.data).toMatchObject({
			progress: 60,
			message: 'x'
		});
		fs.writeFileSync(path.join(dir, 'end'), '');
		expect(await final).toMatchObject({ status: 'succeeded' });
		// said once for the outage, not once per attempt
		expect(warnings.filter((msg) => /progress/.test(msg))).toHaveLength(1);
	});

	it('creates one execution per step when the reply to creating it was lost and the write is tried again', async () => {
		let lose = true;
		// the INSERT commits, then the connection drops before its reply arrives
		const lossy: Store = new Proxy(store, {
			get: (target, prop) => {
				const value = Reflect.get(target, prop);
				if (typeof value !== 'function') return value;
				if (prop !== 'createExecution') return value.bind(target);
				return async (...args: Parameters<Store['createExecution']>) => {
					const created = await target.createExecution(...args);
					if (!lose) return created;
					lose = false;
					throw new StoreUnavailableError(new Error('Connection terminated unexpectedly'));
				};
			}
		});
		const { runner, task } = await setupRunner([sh('echo once', 'only')], lossy);
		expect(await runner.run()).toMatchObject({ status: 'succeeded' });
		const executions = await store.listExecutions(task.id);
		expect(executions.map((execution) => [execution.step, execution.status])).toEqual([[0, 'succeeded']]);
		expect(events.filter((event) => event.type === 'tool.started')).toHaveLength(1);
	});

	it("announces a step's end when the reply to storing it was lost and the write is tried again", async () => {
		let lose = true;
		// the UPDATE commits, then the answer is lost (a query timeout, a dropped connection)
		const lossy: Store = new Proxy(store, {
			get: (target, prop) => {
				const value = Reflect.get(target, prop);
				if (typeof value !== 'function') return value;
				if (prop !== 'endExecution') return value.bind(target);
				return async (...args: Parameters<Store['endExecution']>) => {
					const ended = await target.endExecution(...args);
					if (!lose) return ended;
					lose = false;
					throw new StoreUnavailableError(new Error('Query read timeout'));
				};
			}
		});
		const { runner, task } = await setupRunner([sh('echo once', 'only')], lossy);
		expect(await runner.run()).toMatchObject({ status: 'succeeded' });
		const [execution] = await store.listExecutions(task.id);
		expect(execution).toMatchObject({ status: 'succeeded', exit_code: 0 });
		const ends = events.filter((event) => event.type === 'tool.completed' || event.type === 'tool.failed');
		expect(ends).toHaveLength(1);
		expect(ends[0]).toMatchObject({
			type: 'tool.completed',
			data: {
				execution_id: execution.id,
				execution: { status: 'succeeded', finished_at: execution.finished_at }
			}
		});
	});

	it('starts no further step once another node has taken the task over', async () => {
		const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aco-runner-'));
		onTestFinished(() => fs.rmSync(dir, { recursive: true, force: true }));
		let lost = false;
		// as the orchestrator's: writes only while this node still holds the task
		const updateTask: TaskRunnerDeps['updateTask'] = async (id, patch) => {
			if (lost) throw new ClaimLostError(id);
			return store.updateTask(id, patch);
		};
		const waits = { ...sh('while [ ! -e go ]; do sleep 0.01; done', 'waits'), cwd: dir };
		const { runner, task } = await setupRunner([waits, sh('echo never', 'next')], store, { updateTask });
		const final = runner.run();
		await expect.poll(() => events.some((event) => event.type === 'tool.started')).toBe(true);
		// this node was cut off from the database for longer than its lease; another node holds the task now
		lost = true;
		fs.writeFileSync(path.join(dir, 'go'), '');
		await final;
		expect((await store.listExecutions(task.id)).map((execution) => execution.name)).toEqual(['waits']);
		expect(events.filter((event) => event.type === 'tool.started')).toHaveLength(1);
		expect(await store.getTask(task.id)).toMatchObject({ status: 'running', finished_at: null });
	});

	it("writes nothing over a step's execution another node closed meanwhile, and announces no end for it", async () => {
		const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aco-runner-'));
		onTestFinished(() => fs.rmSync(dir, { recursive: true, force: true }));
		const waits = { ...sh('while [ ! -e go ]; do sleep 0.01; done', 'waits'), cwd: dir };
		const { runner } = await setupRunner([waits]);
		const final = runner.run();
		const started = (await waitForEvent('tool.started')) as { data: { execution_id: string } };
		// this node was cut off for longer than its lease: another node released the task, closing the step
		const closed = {
			status: 'interrupted',
			error: 'taken over',
			finished_at: '2026-01-02T03:04:05.000Z'
		} as const;
		await store.endExecution(started.data.execution_id, closed);
		fs.writeFileSync(path.join(dir, 'go'), '');
		await final;
		expect(await store.getExecution(started.data.execution_id)).toMatchObject({ ...closed, exit_code: null });
		expect(events.filter((event) => event.type === 'tool.completed' || event.type === 'tool.failed')).toEqual(
			[]
		);
	});

	it('stops its tool when fenced: the step ends interrupted with why, no further step starts, the task is left running', async () => {
		const { runner, task } = await setupRunner([
			sh('echo started; sleep 30', 'long'),
			sh('echo never', 'next')
		]);
		const final = runner.run();
		await waitForEvent('tool.lines');
		expect(runner.fence('could not renew')).toBe(true);
		// a later stop changes nothing of why
		runner.stop('interrupted');
		await final;
		const executions = await store.listExecutions(task.id);
		expect(executions.map((execution) => [execution.name, execution.status, execution.error])).toEqual([
			['long', 'interrupted', 'could not renew']
		]);
		expect(events.filter((event) => event.type === 'tool.failed')).toHaveLength(1);
		// its end is the release's to store: queued again, as another node would start it
		expect(await store.getTask(task.id)).toMatchObject({ status: 'running', finished_at: null });
		expect(runner.fence('again')).toBe(false);
	});

	it('stores no execution for a step whose creation waited for the database when the task was fenced', async () => {
		let away = true;
		let tries = 0;
		const unreachable = creatingExecutions(store, () => {
			tries++;
			return away;
		});
		const { runner, task } = await setupRunner([sh('echo never', 'only')], unreachable);
		const final = runner.run();
		await expect.poll(() => tries).toBeGreaterThan(0);
		expect(runner.fence('could not renew')).toBe(true);
		// the database is back, and another node may hold the task by now
		away = false;
		await final;
		expect(await store.listExecutions(task.id)).toEqual([]);
		expect(events.filter((event) => event.type.startsWith('tool.'))).toEqual([]);
	});

	it('closes without announcing a step stored as the task was fenced, and starts no tool for it', async () => {
		let answer = () => {};
		const answered = new Promise<void>((resolve) => (answer = resolve));
		let asked = false;
		// the INSERT is on its way (stored once PostgreSQL runs it) when the fence comes
		const slow: Store = new Proxy(store, {
			get: (target, prop) => {
				const value = Reflect.get(target, prop);
				if (typeof value !== 'function') return value;
				if (prop !== 'createExecution') return value.bind(target);
				return async (...args: Parameters<Store['createExecution']>) => {
					asked = true;
					await answered;
					return target.createExecution(...args);
				};
			}
		});
		const { runner, task } = await setupRunner([sh('echo never', 'only')], slow);
		const final = runner.run();
		await expect.poll(() => asked).toBe(true);
		expect(runner.fence('could not renew')).toBe(true);
		answer();
		await final;
		const executions = await store.listExecutions(task.id);
		expect(executions.map((execution) => [execution.status, execution.error])).toEqual([
			['interrupted', 'could not renew']
		]);
		expect(await store.readLogLines(executions[0].id)).toEqual([]);
		expect(events.filter((event) => event.type.startsWith('tool.'))).toEqual([]);
	});

	it('ends interrupted, not failed, when its node shuts down while a step waits for the database', async () => {
		let tries = 0;
		const { runner } = await setupRunner(
			[sh('echo never', 'only')],
			creatingExecutions(store, () => {
				tries++;
				return true;
			})
		);
		const final = runner.run();
		await expect.poll(() => tries).toBeGreaterThan(0);
		runner.stop('interrupted');
		expect(await final).toMatchObject({ status: 'interrupted', error: REASON });
	});

	it('ends interrupted when its node shuts down, without waiting for a database that cannot be reached', async () => {
		const unreachable = new StoreUnavailableError(new Error('connect ECONNREFUSED 127.0.0.1:5432'));
		const { runner } = await setupRunner(
			[sh('echo first; sleep 30', 'writer')],
			failingStore(store, 'appendLogLines', unreachable)
		);
		const final = runner.run();
		await expect.poll(() => events.some((event) => event.type === 'tool.lines')).toBe(true);
		runner.stop('interrupted');
		expect(await final).toMatchObject({ status: 'interrupted', error: REASON });
	});
});

/** `base`, whose creation of an execution fails as with a database that cannot be reached while `away()` */
function creatingExecutions(base: Store, away: () => boolean): Store {
	return new Proxy(base, {
		get: (target, prop) => {
			const value = Reflect.get(target, prop);
			if (typeof value !== 'function') return value;
			if (prop !== 'createExecution') return value.bind(target);
			return (...args: Parameters<Store['createExecution']>) =>
				away()
					? Promise.reject(new StoreUnavailableError(new Error('connect ECONNREFUSED 127.0.0.1:5432')))
					: target.createExecution(...args);
		}
	});
}
