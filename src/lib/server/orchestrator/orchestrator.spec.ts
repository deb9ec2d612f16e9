import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import type { Logger } from '../logger';
import { afterEach, beforeEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import type { AnyDomainEvent, DomainEvent, EventType, WorkflowRun } from '../../protocol';
import { MemoryBus } from '../bus/memory-bus';
import type { OrchestratorConfig } from '../config';
import { StoreUnavailableError } from '../store/errors';
import type { Claim, ClaimedTask, HeldTask, QueueSignal, TaskQueue } from '../store/queue';
import { openSqliteStore } from '../store/sqlite-store';
import type { Store, TaskPatch } from '../store/types';
import { createOrchestrator, INTERRUPTED_REASON, NODE_LOST_REASON } from './orchestrator';
import { FENCED_REASON, fenceAfterMs } from './fence';
import { TaskRunner } from './task-runner';
import type { FeedShare } from './pipe-feed';
import { ParseThreads } from './workflow-parse';
import {
	OrchestratorClosedError,
	WorkflowInvalidError,
	WorkflowNotFoundError,
	type Orchestrator
} from './types';
import { createStandaloneTask } from '../store/test-records';
import { storeWithQueueFailingOnce } from '../store/test-failing-store';
import { STORE_KINDS, useStoreBackend } from '../../../../tests/helpers/store-backends';

const logger = pino({ level: 'silent' });
const NODE = JSON.stringify(process.execPath);

let dir: string;
let store: Store;
let bus: MemoryBus;
let events: AnyDomainEvent[];
let orchestrator: Orchestrator;

function testConfig(overrides: Partial<OrchestratorConfig> = {}): OrchestratorConfig {
	return {
		workflowsDir: dir,
		concurrency: 4,
		killGraceMs: 300,
		maxLineLength: 1024,
		leaseMs: 15_000,
		...overrides
	};
}

function setup(
	options: {
		config?: Partial<OrchestratorConfig>;
		store?: Store;
		feedShare?: FeedShare;
		logger?: Logger;
		parseThreads?: ParseThreads;
	} = {}
): void {
	const config = testConfig(options.config);
	const { feedShare, parseThreads } = options;
	orchestrator = createOrchestrator({
		store: options.store ?? store,
		bus,
		config,
		logger: options.logger ?? logger,
		...(feedShare ? { feedShare } : {}),
		...(parseThreads ? { parseThreads } : {})
	});
}

beforeEach(() => {
	dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aco-orchestrator-'));
	store = openSqliteStore(dir, { filename: ':memory:' });
	bus = new MemoryBus();
	events = [];
	bus.subscribe((event) => events.push(event));
	setup();
});

afterEach(async () => {
	await orchestrator.shutdown();
	await store.close();
	fs.rmSync(dir, { recursive: true, force: true });
});

function workflow(name: string, yaml: string): void {
	fs.writeFileSync(path.join(dir, `${name}.yml`), `name: ${name}\n${yaml}`);
}

/** resolves with the run's final event */
function ended(
	runId: string,
	timeoutMs = 10_000
): Promise<DomainEvent<'workflow.completed' | 'workflow.failed'>> {
	return waitFor(
		(event) =>
			(event.type === 'workflow.completed' || event.type === 'workflow.failed') &&
			event.data.run_id === runId,
		timeoutMs
	) as Promise<DomainEvent<'workflow.completed' | 'workflow.failed'>>;
}

function waitFor(match: (event: AnyDomainEvent) => boolean, timeoutMs = 10_000): Promise<AnyDomainEvent> {
	const seen = events.find(match);
	if (seen) return Promise.resolve(seen);
	return new Promise((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error('timed out waiting for an event')), timeoutMs);
		const unsubscribe = bus.subscribe((event) => {
			if (!match(event)) return;
			clearTimeout(timer);
			unsubscribe();
			resolve(event);
		});
	});
}

type EventOf<T extends EventType> = Extract<AnyDomainEvent, { type: T }>;
const ofType = <T extends EventType>(type: T) =>
	events.filter((event): event is EventOf<T> => event.type === type);

/** event types with the task key they are about, leaving out output and progress */
function timeline(run: WorkflowRun): string[] {
	const keys = new Map<string, string>();
	for (const event of ofType('task.created')) keys.set(event.data.task_id, event.data.task.key);
	return events
		.filter((event) => event.type !== 'tool.lines' && event.type !== 'task.progress')
		.filter((event) => !('run_id' in event.data) || event.data.run_id === run.id)
		.map((event) => {
			const data = event.data as { task_id?: string; status?: string };
			if (event.type.startsWith('workflow.')) return `${event.type}:${data.status}`;
			const status = event.type === 'task.status' ? `:${data.status}` : '';
			return `${event.type}${status}(${keys.get(data.task_id!)})`;
		});
}

describe('orchestrator', () => {
	it('runs a workflow to success, publishing its events in order with the stored records', async () => {
		workflow(
			'small',
			`tasks:
  first:
    steps:
      - run: ${NODE}
        args: [-e, "console.log('hello'); console.error('careful')"]
  second:
    needs: [first]
    steps:
      - run: echo second
`
		);
		const run = await orchestrator.startRun('small');
		expect(run).toMatchObject({ workflow: 'small', status: 'running', total_weight: 2 });
		const end = await ended(run.id);
		expect(end.type).toBe('workflow.completed');

		// a task's own progress also moves the run, so `workflow.progress` comes between these too
		// (how many depends on timing): they are checked below, the rest in order here
		expect(timeline(run).filter((entry) => !entry.startsWith('workflow.progress'))).toEqual([
			'task.created(first)',
			'task.created(second)',
			'task.status:running(first)',
			'tool.started(first)',
			'tool.completed(first)',
			'task.completed(first)',
			'task.status:running(second)',
			'tool.started(second)',
			'tool.completed(second)',
			'task.completed(second)',
			'workflow.completed:succeeded'
		]);
		const line = timeline(run);
		expect(line[2]).toBe('workflow.progress:running');
		expect(line.at(-2)).toBe('workflow.progress:running');

		// never backwards, from nothing through half (the first task done) to all
		const progress = ofType('workflow.progress').map((event) => event.data.progress);
		expect(progress).toEqual([...progress].sort((a, b) => a - b));
		expect(progress[0]).toBe(0);
		expect(progress).toContain(50);
		expect(progress.at(-1)).toBe(100);

		// the output of a tool arrives between its start and its completion, numbered 1..n
		const firstExec = ofType('tool.started')[0].data.execution;
		const output = ofType('tool.lines').filter((event) => event.data.execution_id === firstExec.id);
		const lines = output.flatMap((event) => event.data.lines);
		expect(lines.map((line) => [line.line, line.output, line.is_stderr])).toEqual([
			[1, 'hello', false],
			[2, 'careful', true]
		]);
		const completed = ofType('tool.completed')[0].data;
		expect(completed).toMatchObject({ exit_code: 0, line_count: 2 });
		expect(events.indexOf(output.at(-1)!)).toBeLessThan(events.indexOf(ofType('tool.completed')[0]));
		expect((await store.readLogLines(firstExec.id)).map((line) => line.text)).toEqual(['hello', 'careful']);

		// payloads carry the records as stored
		expect(completed.execution).toEqual(await store.getExecution(firstExec.id));
		const lastTask = ofType('task.completed')[1].data.task;
		expect(lastTask).toEqual(await store.getTask(lastTask.id));
		expect(lastTask).toMatchObject({ status: 'succeeded', progress: 100, error: null });
		expect(end.data.run).toEqual(await store.getRun(run.id));
		expect(end.data.run).toMatchObject({ status: 'succeeded', progress: 100, finished_weight: 2 });
		expect(end.data.run.duration_ms).toBeGreaterThanOrEqual(0);
	});

	it('tells the node when a tool floods its output, and not for a quiet one', async () => {
		let floods = 0;
		setup({ feedShare: { toolFlooding: () => (floods += 1), feedDeadline: () => performance.now() + 4 } });
		workflow(
			'quiet',
			`tasks:
  quiet:
    steps:
      - run: echo one short line
`
		);
		workflow(
			'loud',
			`tasks:
  loud:
    steps:
      - run: ${NODE}
        args: [-e, "process.stdout.write(('y'.repeat(99) + String.fromCharCode(10)).repeat(2000))"]
`
		);
		expect((await ended((await orchestrator.startRun('quiet')).id)).type).toBe('workflow.completed');
		expect(floods).toBe(0);
		expect((await ended((await orchestrator.startRun('loud')).id)).type).toBe('workflow.completed');
		// 200 KB at once: read in pipe-fulls
		expect(floods).toBeGreaterThanOrEqual(1);
	});

	it('fails the dependants of a failed task and the run, naming the cause', async () => {
		workflow(
			'broken',
			`tasks:
  setup:
    steps:
      - run: echo preparing; exit 3
      - run: echo never runs
  build:
    needs: [setup]
    steps: [{ run: echo build }]
  package:
    needs: [build]
    steps: [{ run: echo package }]
`
		);
		const run = await orchestrator.startRun('broken');
		const end = await ended(run.id);
		expect(end.type).toBe('workflow.failed');
		expect(end.data).toMatchObject({ status: 'failed', error: "task 'setup' failed" });

		const failed = ofType('task.failed').map((event) => [event.data.task.key, event.data.error]);
		expect(failed).toEqual([
			['setup', "step 'echo preparing; exit 3' failed: exited with code 3"],
			['build', "needs 'setup', which failed"],
			['package', "needs 'build', which failed"]
		]);
		expect(ofType('tool.failed').map((event) => event.data.exit_code)).toEqual([3]);
		expect(ofType('tool.started')).toHaveLength(1);
		const tasks = await store.listTasks({ run_id: run.id });
		expect(tasks.map((task) => task.status).sort()).toEqual(['failed', 'failed', 'failed']);
	});

	it('lets an optional task fail without failing its dependants or the run', async () => {
		workflow(
			'tolerant',
			`tasks:
  lint:
    optional: true
    steps: [{ run: echo lint problems; exit 1 }]
  package:
    needs: [lint]
    steps: [{ run: echo packaged }]
`
		);
		const run = await orchestrator.startRun('tolerant');
		const end = await ended(run.id);
		expect(end.type).toBe('workflow.completed');
		expect(ofType('task.failed').map((event) => event.data.task.key)).toEqual(['lint']);
		expect(ofType('task.completed').map((event) => event.data.task.key)).toEqual(['package']);
		expect(end.data.run.progress).toBe(100);
	});

	it('sets task progress from ::progress lines, and from finished steps otherwise', async () => {
		workflow(
			'progress',
			`tasks:
  reported:
    steps:
      - run: echo "::progress value=30::thirty percent"; echo "::progress value=75::"
  counted:
    steps:
      - run: "true"
      - run: "true"
`
		);
		const run = await orchestrator.startRun('progress');
		await ended(run.id);
		const byTask = (key: string) => {
			const id = ofType('task.created').find((event) => event.data.task.key === key)!.data.task_id;
			return ofType('task.progress')
				.filter((event) => event.data.task_id === id)
				.map((event) => [event.data.progress, event.data.message]);
		};
		expect(byTask('reported')).toContainEqual([30, 'thirty percent']);
		expect(byTask('reported')).toContainEqual([75, 'thirty percent']);
		expect(byTask('counted').map(([progress]) => progress)).toContain(50);
		const reported = ofType('task.completed').find((event) => event.data.task.key === 'reported')!;
		expect(reported.data.task.progress).toBe(100);
		// the ::progress lines stay in the log
		expect(ofType('tool.lines').flatMap((event) => event.data.lines.map((line) => line.output))).toContain(
			'::progress value=30::thirty percent'
		);
	});

	it("moves the run's progress with its tasks' own progress, and a failed run keeps how far it got", async () => {
		workflow(
			'partway',
			`tasks:
  build:
    weight: 3
    steps:
      - run: echo "::progress value=40::compiling"; exit 1
  ship:
    needs: [build]
    steps:
      - run: "true"
`
		);
		const run = await orchestrator.startRun('partway');
		const end = await ended(run.id);
		const progress = ofType('workflow.progress')
			.filter((event) => event.data.run_id === run.id)
			.map((event) => event.data.progress);
		// 40 % of weight 3 out of 4, while the task was still running
		expect(progress).toContain(30);
		expect(end.data.run).toMatchObject({ status: 'failed', progress: 30 });
		expect((await store.getRun(run.id))!.progress).toBe(30);
	});

	it('cancels a run: the running tool is killed quickly and queued tasks are cancelled', async () => {
		workflow(
			'slow',
			`tasks:
  wait:
    steps: [{ run: sleep, args: ['30'] }]
  after:
    needs: [wait]
    steps: [{ run: echo never }]
`
		);
		const run = await orchestrator.startRun('slow');
		await waitFor((event) => event.type === 'tool.started');
		const started = Date.now();
		expect(await orchestrator.cancelRun(run.id)).toBe(true);
		const end = await ended(run.id);
		expect(Date.now() - started).toBeLessThan(2_000);
		expect(end.data).toMatchObject({ status: 'cancelled', error: 'cancelled' });
		const tasks = await store.listTasks({ run_id: run.id });
		expect(tasks.map((task) => [task.key, task.status]).sort()).toEqual([
			['after', 'cancelled'],
			['wait', 'cancelled']
		]);
		expect(ofType('tool.failed')[0].data.execution).toMatchObject({ status: 'cancelled', signal: 'SIGTERM' });
		expect(await orchestrator.cancelRun(run.id)).toBe(false);
		expect(await orchestrator.cancelRun('run_unknown')).toBe(false);
	});

	it('cancels one running task and fails the tasks that need it', async () => {
		workflow(
			'partial',
			`tasks:
  wait:
    steps: [{ run: sleep, args: ['30'] }]
  after:
    needs: [wait]
    steps: [{ run: echo never }]
`
		);
		const run = await orchestrator.startRun('partial');
		const started = (await waitFor((event) => event.type === 'tool.started')) as DomainEvent<'tool.started'>;
		expect(await orchestrator.cancelTask(started.data.task_id)).toBe(true);
		const end = await ended(run.id);
		expect(end.data).toMatchObject({ status: 'failed', error: "task 'wait' was cancelled" });
		expect(ofType('task.failed').map((event) => event.data.error)).toEqual([
			"needs 'wait', which was cancelled"
		]);
		expect(await orchestrator.cancelTask(started.data.task_id)).toBe(false);
	});

	it('cancels a queued task at once, storing it before the call resolves', async () => {
		workflow(
			'queue',
			`tasks:
  wait:
    steps: [{ run: sleep, args: ['30'] }]
  later:
    needs: [wait]
    steps: [{ run: echo never }]
  last:
    needs: [later]
    steps: [{ run: echo never }]
`
		);
		const run = await orchestrator.startRun('queue');
		const later = ofType('task.created').find((event) => event.data.task.key === 'later')!.data.task;
		expect(await orchestrator.cancelTask(later.id)).toBe(true);
		expect(await store.getTask(later.id)).toMatchObject({
			status: 'cancelled',
			error: 'cancelled before it started'
		});
		const tasks = await store.listTasks({ run_id: run.id });
		expect(tasks.find((task) => task.key === 'last')).toMatchObject({
			status: 'failed',
			error: "needs 'later', which was cancelled"
		});
		expect(tasks.find((task) => task.key === 'wait')!.status).toMatch(/queued|running/);
		await orchestrator.cancelRun(run.id);
		expect((await ended(run.id)).data.status).toBe('cancelled');
	});

	it('marks running tools, their tasks and the run interrupted on shutdown, and starts nothing after', async () => {
		workflow(
			'long',
			`tasks:
  wait:
    steps: [{ run: sleep, args: ['30'] }]
  after:
    needs: [wait]
    steps: [{ run: echo never }]
`
		);
		const run = await orchestrator.startRun('long');
		const started = (await waitFor((event) => event.type === 'tool.started')) as DomainEvent<'tool.started'>;
		const began = Date.now();
		await orchestrator.shutdown();
		expect(Date.now() - began).toBeLessThan(2_000);
		expect(await store.getRun(run.id)).toMatchObject({ status: 'interrupted', error: INTERRUPTED_REASON });
		const tasks = await store.listTasks({ run_id: run.id });
		expect(tasks.map((task) => task.status)).toEqual(['interrupted', 'interrupted']);
		expect(await store.getExecution(started.data.execution_id)).toMatchObject({ status: 'interrupted' });
		expect(ofType('workflow.failed')[0].data.status).toBe('interrupted');
		await expect(orchestrator.startRun('long')).rejects.toThrow(/shutting down/);
	});

	it('refuses new runs once shutdown has begun with a shutting_down error', async () => {
		workflow('quick', 'tasks:\n  a:\n    steps: [{ run: echo hi }]\n');
		const starting = orchestrator.startRun('quick');
		await orchestrator.shutdown();
		await expect(starting).rejects.toMatchObject({ code: 'shutting_down' });
		await expect(orchestrator.startRun('quick')).rejects.toBeInstanceOf(OrchestratorClosedError);
	});

	it('stops a large workflow file being parsed for a listing on shutdown: the listing fails as shutting down, nothing is logged', async () => {
		await orchestrator.shutdown();
		const logged: { level: number; msg: string }[] = [];
		const recording = pino(
			{ level: 'info' },
			{ write: (line: string) => void logged.push(JSON.parse(line)) }
		);
		const parseThreads = new ParseThreads();
		setup({ logger: recording, parseThreads });
		// about 900 KiB: parsed in a thread of its own, for most of a second
		let tasks = 'tasks:\n';
		for (let i = 0; i < 12_000; i++)
			tasks += `  task${i}:\n    steps: [{ run: echo ${i}, env: { N: '${i}' } }]\n`;
		workflow('large', tasks);
		let settled = false;
		const outcome = orchestrator.listWorkflows().then(
			() => 'listed',
			(err: unknown) => err
		);
		void outcome.finally(() => (settled = true));
		// the thread has started (a shutdown before it would refuse the parse: not what this is about)
		await vi.waitFor(() => expect(parseThreads.size).toBe(1), { timeout: 10_000, interval: 5 });
		await orchestrator.shutdown();
		// the thread was stopped, not waited for: none is left, and the listing has its answer
		expect(parseThreads.size).toBe(0);
		await new Promise((resolve) => setImmediate(resolve));
		expect(settled).toBe(true);
		await expect(outcome).resolves.toMatchObject({ code: 'shutting_down' });
		expect(logged.filter((record) => record.level >= 40)).toEqual([]);
	});

	it('waits for a run being stored when shutdown begins, and leaves it interrupted rather than queued', async () => {
		await orchestrator.shutdown();
		const fileStore = openSqliteStore(dir);
		// a store with network latency (PostgreSQL), so shutdown can begin between the run's writes
		const slow = new Proxy(fileStore, {
			get(target, prop) {
				const value = Reflect.get(target, prop);
				if (prop === 'createTask') {
					return async (...args: Parameters<Store['createTask']>) => {
						await new Promise((resolve) => setTimeout(resolve, 50));
						return target.createTask(...args);
					};
				}
				return typeof value === 'function' ? value.bind(target) : value;
			}
		});
		setup({ store: slow });
		workflow('pair', 'tasks:\n  a:\n    steps: [{ run: echo a }]\n  b:\n    steps: [{ run: echo b }]\n');
		const starting = orchestrator.startRun('pair');
		while ((await fileStore.listRuns()).length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
		await orchestrator.shutdown();
		// what the context does next
		await fileStore.close();
		await starting.catch(() => {});

		const reopened = openSqliteStore(dir);
		try {
			const [run] = await reopened.listRuns();
			expect(run.status).toBe('interrupted');
			const tasks = await reopened.listTasks({ run_id: run.id });
			expect(tasks.map((task) => task.status)).toEqual(['interrupted', 'interrupted']);
		} finally {
			await reopened.close();
		}
	});

	it('fails a task whose command does not exist, with a clear error', async () => {
		workflow(
			'missing',
			`tasks:
  ghost:
    steps: [{ name: summon, run: aco-no-such-command, args: [--now] }]
`
		);
		const run = await orchestrator.startRun('missing');
		const end = await ended(run.id);
		expect(end.data.status).toBe('failed');
		expect(ofType('tool.failed')[0].data).toMatchObject({
			exit_code: null,
			error: 'command not found: aco-no-such-command'
		});
		expect(ofType('task.failed')[0].data.error).toBe(
			"step 'summon' failed: command not found: aco-no-such-command"
		);
	});

	it('keeps to the concurrency limit across runs', async () => {
		await orchestrator.shutdown();
		setup({ config: { concurrency: 1 } });
		workflow(
			'pair',
			`tasks:
  a:
    steps: [{ run: sleep, args: ['0.1'] }]
  b:
    steps: [{ run: sleep, args: ['0.1'] }]
`
		);
		const runs = [await orchestrator.startRun('pair'), await orchestrator.startRun('pair')];
		await Promise.all(runs.map((run) => ended(run.id)));
		let running = 0;
		let most = 0;
		for (const event of events) {
			if (event.type === 'task.status' && event.data.status === 'running') most = Math.max(most, ++running);
			if (event.type === 'task.completed' || event.type === 'task.failed') running--;
		}
		expect(most).toBe(1);
		expect(ofType('task.completed')).toHaveLength(4);
	});

	it('fails a task cleanly when the store fails under it, and keeps going', async () => {
		await orchestrator.shutdown();
		const failing = new Proxy(store, {
			get(target, prop) {
				if (prop === 'createExecution') return () => Promise.reject(new Error('disk I/O error'));
				const value = Reflect.get(target, prop);
				return typeof value === 'function' ? value.bind(target) : value;
			}
		});
		setup({ store: failing });
		workflow('doomed', 'tasks:\n  a:\n    steps: [{ run: echo hi }]\n');
		const run = await orchestrator.startRun('doomed');
		const end = await ended(run.id);
		expect(end.data.status).toBe('failed');
		expect(ofType('task.failed')[0].data.error).toBe('internal error: disk I/O error');
	});

	it('fails a run whose planning fails as it starts, naming the cause, and tells the caller', async () => {
		await orchestrator.shutdown();
		const logged: { level: number; msg: string; outcome?: string }[] = [];
		const recording = pino(
			{ level: 'info' },
			{ write: (line: string) => void logged.push(JSON.parse(line)) }
		);
		setup({ store: storeWithQueueFailingOnce(store, 'planRun'), logger: recording });
		workflow(
			'pair',
			'tasks:\n  a:\n    steps: [{ run: echo a }]\n  b:\n    needs: [a]\n    steps: [{ run: echo b }]\n'
		);
		const refused = await orchestrator.startRun('pair').then(
			() => null,
			(err: unknown) => err
		);

		const [run] = await store.listRuns();
		expect(run).toMatchObject({
			status: 'failed',
			error: expect.stringContaining('database or disk is full')
		});
		expect(refused).toMatchObject({
			code: 'run_not_started',
			message: expect.stringMatching(/"pair" did not start.*database or disk is full.*marked failed/)
		});
		const byKey = (a: { key: string }, b: { key: string }) => a.key.localeCompare(b.key);
		const tasks = (await store.listTasks({ run_id: run.id })).sort(byKey);
		expect(tasks.map((task) => [task.key, task.status])).toEqual([
			['a', 'failed'],
			['b', 'failed']
		]);
		expect(tasks[0].error).toContain('database or disk is full');
		// the log says once what happened, not also that a later plan would retry it
		const warnings = logged.filter((record) => record.level >= 40);
		expect(warnings).toEqual([
			expect.objectContaining({ msg: 'a run could not be planned as it started', outcome: 'failed' })
		]);
		// pages learn of it: the end and each task's end are published with the records as stored
		expect((await ended(run.id)).data.run).toEqual(run);
		expect(
			ofType('task.failed')
				.map((event) => event.data.task)
				.sort(byKey)
		).toEqual(tasks);

		// the store failed once: the next start runs
		const next = await orchestrator.startRun('pair');
		expect((await ended(next.id)).data.status).toBe('succeeded');
	});

	it('rejects an unknown workflow listing the others, and a broken one with its file, line and problem', async () => {
		workflow('good', 'tasks:\n  a:\n    steps: [{ run: echo hi }]\n');
		workflow('bad', 'tasks:\n  a:\n    steps: [{ name: x }]\n');
		const unknown = await orchestrator.startRun('goood').catch((err: unknown) => err);
		expect(unknown).toBeInstanceOf(WorkflowNotFoundError);
		expect((unknown as WorkflowNotFoundError).message).toBe(
			'No workflow named "goood". Did you mean "good"? Workflows: bad, good.'
		);
		const broken = await orchestrator.startRun('bad').catch((err: unknown) => err);
		expect(broken).toBeInstanceOf(WorkflowInvalidError);
		expect((broken as WorkflowInvalidError).details).toMatchObject({ workflow: 'bad', line: 4 });
		expect((broken as WorkflowInvalidError).message).toMatch(
			/^Workflow "bad" does not load: bad\.yml line 4: tasks\.a\.steps\[0\]\.run: required$/
		);
	});

	it('lists loadable workflows and reports the broken files', async () => {
		workflow('good', 'tasks:\n  a:\n    steps: [{ run: echo hi }]\n');
		workflow('bad', 'tasks:\n  a:\n    steps: [{ name: x }]\n');
		const { workflows, errors } = await orchestrator.listWorkflows();
		expect(workflows.map((summary) => summary.name)).toEqual(['good']);
		expect(errors).toEqual([
			{
				file: path.join(dir, 'bad.yml'),
				reason: 'line 4: tasks.a.steps[0].run: required',
				line: 4,
				name: 'bad'
			}
		]);
	});

	it('marks work left running by a previous process as interrupted on recover', async () => {
		const task = await createStandaloneTask(store, { key: 'old', name: 'old' });
		await store.updateTask(task.id, { status: 'running' });
		await orchestrator.recover();
		expect(await store.getTask(task.id)).toMatchObject({ status: 'interrupted', error: INTERRUPTED_REASON });
	});
});

/**
 * The SQLite store behind a queue posing as a shared one (PostgreSQL's), so this node renews
 * leases; the test plays the other nodes, whose sweep releases this node's tasks. Given a
 * PostgreSQL store, only the faults (lost answers, dropped signals) are the test's.
 */
function sharedStore(base: Store = store): {
	store: Store;
	/** writes the queue refused because the claim no longer held */
	refused: { claim: Claim; patch: TaskPatch }[];
	/** the next claim that takes a task is stored, but its answer is lost (the connection broke) */
	loseNextClaimAnswer(): void;
	/** cancel signals never reach this node (its signal connection is down, or silently dead) */
	dropCancelSignals(): void;
	/** called as this node releases tasks, before the release is stored */
	onRelease(hook: () => void): void;
	/** renewals fail as with a database that cannot be reached (true), or work again (false) */
	failRenewals(failing: boolean): void;
	/** renewals (`claims` too) go through `hook`, which may delay, fail or pass them on; null: as they are */
	interceptRenewals(hook: Intercept<HeldTask[]> | null): void;
	interceptClaims(hook: Intercept<ClaimedTask[]> | null): void;
	/** when the last renewal that succeeded was sent (performance.now()); 0 before one */
	renewedAt(): number;
} {
	const refused: { claim: Claim; patch: TaskPatch }[] = [];
	let loseAnswer = false;
	let dropCancels = false;
	let releasing = () => {};
	let renewalsFail = false;
	let renewHook: Intercept<HeldTask[]> | null = null;
	let claimHook: Intercept<ClaimedTask[]> | null = null;
	let renewedAt = 0;
	const queue = new Proxy(base.queue, {
		get(target, prop) {
			if (prop === 'shared') return true;
			if (prop === 'renew') {
				return async (...args: Parameters<TaskQueue['renew']>) => {
					const sent = performance.now();
					if (renewalsFail) throw new StoreUnavailableError(new Error('connect ECONNREFUSED 127.0.0.1:5432'));
					const renew = () => target.renew(...args);
					const renewed = await (renewHook ? renewHook(renew) : renew());
					renewedAt = Math.max(renewedAt, sent);
					return renewed;
				};
			}
			if (prop === 'onSignal') {
				return (listener: (signal: QueueSignal) => void) =>
					target.onSignal((signal) => {
						if (!(dropCancels && signal.kind === 'cancel')) listener(signal);
					});
			}
			if (prop === 'release') {
				return (...args: Parameters<TaskQueue['release']>) => {
					releasing();
					return target.release(...args);
				};
			}
			if (prop === 'updateClaimed') {
				return async (...[id, claim, patch]: Parameters<TaskQueue['updateClaimed']>) => {
					const task = await target.updateClaimed(id, claim, patch);
					if (!task) refused.push({ claim, patch });
					return task;
				};
			}
			if (prop === 'claim') {
				return async (...args: Parameters<TaskQueue['claim']>) => {
					const claim = () => target.claim(...args);
					const claimed = await (claimHook ? claimHook(claim) : claim());
					if (loseAnswer && claimed.length > 0) {
						loseAnswer = false;
						throw new StoreUnavailableError(new Error('Connection terminated unexpectedly'));
					}
					return claimed;
				};
			}
			const value = Reflect.get(target, prop);
			return typeof value === 'function' ? value.bind(target) : value;
		}
	});
	const shared = new Proxy(base, {
		get(target, prop) {
			if (prop === 'queue') return queue;
			const value = Reflect.get(target, prop);
			return typeof value === 'function' ? value.bind(target) : value;
		}
	});
	return {
		store: shared,
		refused,
		loseNextClaimAnswer: () => (loseAnswer = true),
		dropCancelSignals: () => (dropCancels = true),
		onRelease: (hook) => (releasing = hook),
		failRenewals: (failing) => (renewalsFail = failing),
		interceptRenewals: (hook) => (renewHook = hook),
		interceptClaims: (hook) => (claimHook = hook),
		renewedAt: () => renewedAt
	};
}

/** stands between the orchestrator and a queue call (`call` makes it) */
type Intercept<T> = (call: () => Promise<T>) => Promise<T>;

/** a database that does not answer: `ms` of nothing, then the connection fails */
const unanswered = <T>(ms: number): Promise<T> =>
	new Promise((_, reject) =>
		setTimeout(() => reject(new StoreUnavailableError(new Error('Query read timeout'))), ms)
	);

describe('orchestrator on a shared queue', () => {
	// attempt 1 holds its first step until `gate` exists; attempt 2 sleeps in it
	const again = `tasks:
  work:
    retries: 1
    steps:
      - name: hold
        run: sh
        args: [-c, 'echo hold >> steps.log; if [ -e held ]; then exec sleep 30; fi; touch held; while [ ! -e gate ]; do sleep 0.02; done']
      - name: after
        run: sh
        args: [-c, 'echo after >> steps.log']
`;
	const stepsLog = () => fs.readFileSync(path.join(dir, 'steps.log'), 'utf8');
	const toolEnded = (executionId: string, timeoutMs: number) =>
		waitFor(
			(event) =>
				(event.type === 'tool.completed' || event.type === 'tool.failed') &&
				event.data.execution_id === executionId,
			timeoutMs
		);

	/** resolves once attempt 1's first step is under way */
	async function holding(): Promise<DomainEvent<'tool.started'>> {
		const started = await waitFor((event) => event.type === 'tool.started');
		await expect.poll(() => fs.existsSync(path.join(dir, 'held'))).toBe(true);
		return started as DomainEvent<'tool.started'>;
	}

	/** what another node's sweep does when this node's lease ran out, then the reconnected signal */
	async function takenOverAndQueuedAgain(): Promise<void> {
		expect(await store.queue.release({ node: 'local' }, NODE_LOST_REASON)).toEqual([
			expect.objectContaining({ requeued: true })
		]);
		await store.queue.signal({ kind: 'work' });
	}

	it('stops its earlier run of a task it claims again, runs no step twice, and cancels the new run', async () => {
		await orchestrator.shutdown();
		const shared = sharedStore();
		setup({ store: shared.store });
		workflow('again', again);
		const run = await orchestrator.startRun('again');
		const first = await holding();
		await takenOverAndQueuedAgain();
		const second = (await waitFor(
			(event) => event.type === 'tool.started' && event.data.execution_id !== first.data.execution_id
		)) as DomainEvent<'tool.started'>;

		try {
			// the earlier run has ended: its end was refused, as the task is no longer its own (and its
			// step's end too, which the release closed: that node announced it)
			await expect
				.poll(() => shared.refused.some(({ claim, patch }) => claim.attempt === 1 && patch.status), {
					timeout: 3_000
				})
				.toBe(true);
		} finally {
			// an earlier run still going would start the next step now (and a failed test ends it)
			fs.writeFileSync(path.join(dir, 'gate'), '');
		}

		expect(await orchestrator.cancelTask(first.data.task_id)).toBe(true);
		const end = await ended(run.id, 3_000);
		expect(end.data.status).toBe('cancelled');
		expect(await store.getTask(first.data.task_id)).toMatchObject({
			status: 'cancelled',
			error: 'cancelled'
		});
		expect(await store.getExecution(second.data.execution_id)).toMatchObject({ status: 'cancelled' });
		expect(await store.getExecution(first.data.execution_id)).toMatchObject({ status: 'interrupted' });
		expect(ofType('tool.started').map((event) => event.data.execution.name)).toEqual(['hold', 'hold']);
		expect(stepsLog()).toBe('hold\nhold\n');
	});

	it('stops a run of a task when renewing shows this node holds a later attempt of it', async () => {
		await orchestrator.shutdown();
		const shared = sharedStore();
		setup({ store: shared.store, config: { leaseMs: 300 } });
		workflow('again', again);
		await orchestrator.startRun('again');
		const first = await holding();
		// the claim of attempt 2 is stored, but this node never hears of it
		shared.loseNextClaimAnswer();
		await takenOverAndQueuedAgain();

		await expect
			.poll(() => shared.refused.some(({ claim, patch }) => claim.attempt === 1 && patch.status), {
				timeout: 3_000
			})
			.toBe(true);
		expect(await store.getExecution(first.data.execution_id)).toMatchObject({
			status: 'interrupted',
			error: NODE_LOST_REASON
		});
		expect(ofType('tool.started')).toHaveLength(1);
		expect(stepsLog()).toBe('hold\n');
	});

	it('stops a task cancelled on another node even when the cancel signal never reaches the node running it', async () => {
		await orchestrator.shutdown();
		const holder = sharedStore();
		holder.dropCancelSignals();
		setup({ store: holder.store, config: { leaseMs: 300 } });
		workflow('long', `tasks:\n  work:\n    steps: [{ name: wait, run: sleep, args: ['30'] }]\n`);
		const run = await orchestrator.startRun('long');
		const started = (await waitFor((event) => event.type === 'tool.started')) as DomainEvent<'tool.started'>;
		const other = createOrchestrator({
			store: sharedStore().store,
			bus,
			config: testConfig({ leaseMs: 300 }),
			logger,
			node: 'other'
		});
		try {
			expect(await other.cancelTask(started.data.task_id)).toBe(true);
			// the holder learns of the stored request when it next renews its lease (every lease / 3)
			expect((await ended(run.id, 1_500)).data.status).toBe('cancelled');
		} finally {
			await other.shutdown();
		}
		expect(await store.getTask(started.data.task_id)).toMatchObject({
			status: 'cancelled',
			error: 'cancelled'
		});
		expect(await store.getExecution(started.data.execution_id)).toMatchObject({ status: 'cancelled' });
	});

	/**
	 * How late a 10 ms timer fired around a moment: the machine's own lag there (a GC pause, a
	 * loaded CI run), which held up a fence's timer due then as much, and is allowed for at its
	 * deadline. A stall delays both timers and ends for both at once, so only ticks within 20 ms of
	 * the fence count: a lag at another moment excuses nothing.
	 */
	function lagMeter(): { around(at: number): number; stop(): void } {
		const ticks: { at: number; late: number }[] = [];
		let due = performance.now() + 10;
		const timer = setInterval(() => {
			const now = performance.now();
			ticks.push({ at: now, late: Math.max(0, now - due) });
			due = now + 10;
		}, 10);
		return {
			around: (at) =>
				Math.max(0, ...ticks.filter((tick) => Math.abs(tick.at - at) <= 20).map((tick) => tick.late)),
			stop: () => clearInterval(timer)
		};
	}

	/**
	 * a logger that keeps how long each fenced task had gone unrenewed (its warning says), and when
	 * (performance.now())
	 */
	function fenceRecorder(): { logger: Logger; unrenewed: number[]; at: number[] } {
		const unrenewed: number[] = [];
		const at: number[] = [];
		const logger = pino(
			{ level: 'warn' },
			{
				write: (line: string) => {
					const entry = JSON.parse(line) as { unrenewed_ms?: number };
					if (typeof entry.unrenewed_ms !== 'number') return;
					unrenewed.push(entry.unrenewed_ms);
					at.push(performance.now());
				}
			}
		);
		return { logger, unrenewed, at };
	}

	const retriedSleep = `tasks:\n  deploy:\n    retries: 1\n    steps: [{ name: deploy, run: sleep, args: ['30'] }, { name: next, run: 'true' }]\n`;

	it('stops the tool of a task with a retry left at its deadline, before its unrenewed lease can run out, and keeps one without', async () => {
		await orchestrator.shutdown();
		const shared = sharedStore();
		const fences = fenceRecorder();
		// fenced two thirds of a lease after the last renewal that succeeded was sent (2 s)
		const config = { leaseMs: 3_000, killGraceMs: 300 };
		const { leaseMs } = config;
		setup({ store: shared.store, config, logger: fences.logger });
		workflow('retried', retriedSleep);
		workflow('last', `tasks:\n  deploy:\n    steps: [{ name: only, run: sleep, args: ['30'] }]\n`);
		await orchestrator.startRun('retried');
		await orchestrator.startRun('last');
		await expect.poll(() => ofType('tool.started').length).toBe(2);
		const [retried, last] = ['deploy', 'only'].map((name) =>
			ofType('tool.started').find((event) => event.data.execution.name === name)!
		);
		await expect.poll(() => shared.renewedAt(), { timeout: leaseMs }).toBeGreaterThan(0);

		shared.failRenewals(true);
		const failedAt = performance.now();
		const lag = lagMeter();
		const fenced = await toolEnded(retried.data.execution_id, 2 * leaseMs);
		lag.stop();
		const endedAt = performance.now() - shared.renewedAt();
		// at its deadline, not a check interval later (the machine's own timer lag is allowed for)
		expect(fences.unrenewed).toHaveLength(1);
		expect(fences.unrenewed[0]).toBeGreaterThanOrEqual(fenceAfterMs(config));
		expect(fences.unrenewed[0]).toBeLessThan(fenceAfterMs(config) + 150 + lag.around(fences.at[0]!));
		// not after one failed renewal, and gone before the lease the last one set can have run out
		expect(endedAt).toBeGreaterThan(fenceAfterMs(config) - 50);
		expect(endedAt).toBeLessThan(leaseMs);
		expect(fenced).toMatchObject({ type: 'tool.failed' });
		expect(await store.getExecution(retried.data.execution_id)).toMatchObject({
			status: 'interrupted',
			error: FENCED_REASON
		});
		// its end is left to the release (once its lease runs out) that starts it again
		expect(await store.getTask(retried.data.task_id)).toMatchObject({ status: 'running', finished_at: null });
		// a task another node would only mark interrupted keeps running through the outage, past a lease
		await expect
			.poll(() => performance.now() - failedAt > leaseMs + 500, { timeout: 3 * leaseMs })
			.toBe(true);
		expect(await store.getExecution(last.data.execution_id)).toMatchObject({ status: 'running' });
		expect(ofType('tool.started').map((event) => event.data.execution.name)).toEqual(['deploy', 'only']);
		shared.failRenewals(false);
	});

	it('fences each task at its own deadline, not at the next of some periodic check', async () => {
		await orchestrator.shutdown();
		const shared = sharedStore();
		const fences = fenceRecorder();
		const config = { leaseMs: 3_000, killGraceMs: 300 };
		setup({ store: shared.store, config, logger: fences.logger });
		const claimedAt: number[] = [];
		shared.interceptClaims(async (claim) => {
			const sent = performance.now();
			const claimed = await claim();
			if (claimed.length > 0) claimedAt.push(sent);
			return claimed;
		});
		// no renewal ever succeeds: each task is fenced two thirds of a lease after its claim was sent
		shared.failRenewals(true);
		// claims 250 ms or more apart: any check interval of 500 ms or more is late for one of them by
		// more than allowed below, on top of the machine's own timer lag
		const lag = lagMeter();
		for (let i = 0; i < 3; i++) {
			workflow(`retried${i}`, retriedSleep);
			await orchestrator.startRun(`retried${i}`);
			await expect.poll(() => claimedAt.length).toBe(i + 1);
			await expect.poll(() => performance.now() - claimedAt[i] >= 250).toBe(true);
		}
		await expect.poll(() => fences.unrenewed.length, { timeout: 2 * config.leaseMs }).toBe(3);
		lag.stop();
		fences.unrenewed.forEach((unrenewed, i) => {
			expect(unrenewed).toBeGreaterThanOrEqual(fenceAfterMs(config));
			expect(unrenewed).toBeLessThan(fenceAfterMs(config) + 150 + lag.around(fences.at[i]!));
		});
		await expect.poll(() => ofType('tool.failed').length).toBe(3);
		shared.failRenewals(false);
	});

	/**
	 * This node alone on a shared store over `base` (a 3 s lease, a 0.3 s kill grace), its fences
	 * recorded, running the tool of a task with a retry left, its hold renewed once: where the cases
	 * on a renewal that fails, hangs or gets no answer start.
	 */
	async function runningRetried(base: Store = store) {
		await orchestrator.shutdown();
		const shared = sharedStore(base);
		const fences = fenceRecorder();
		const config = { leaseMs: 3_000, killGraceMs: 300 };
		setup({ store: shared.store, config, logger: fences.logger });
		workflow('retried', retriedSleep);
		await orchestrator.startRun('retried');
		const started = (await waitFor((event) => event.type === 'tool.started')) as DomainEvent<'tool.started'>;
		await expect.poll(() => shared.renewedAt(), { timeout: config.leaseMs }).toBeGreaterThan(0);
		return { shared, fences, config, started };
	}

	/**
	 * Renewals from now on: the next goes to `bad` (it fails, or hangs until its timeout), each one
	 * after it is passed on, `lateMs` late. Returns how many went each way so far.
	 */
	function oneBadRenewal(
		shared: ReturnType<typeof sharedStore>,
		bad: () => Promise<HeldTask[]>,
		lateMs = 0
	): () => [bad: number, answered: number] {
		let bads = 0;
		let answered = 0;
		shared.interceptRenewals(async (renew) => {
			if (bads === 0) {
				bads++;
				return bad();
			}
			if (lateMs > 0) await new Promise((resolve) => setTimeout(resolve, lateMs));
			const renewed = await renew();
			answered++;
			return renewed;
		});
		return () => [bads, answered];
	}

	/** A lease on from now, nothing was fenced and the tool `started` still runs. */
	async function stillRunningALeaseOn(
		leaseMs: number,
		fences: ReturnType<typeof fenceRecorder>,
		started: DomainEvent<'tool.started'>
	): Promise<void> {
		const from = performance.now();
		await expect.poll(() => performance.now() - from > leaseMs, { timeout: 2 * leaseMs }).toBe(true);
		expect(fences.unrenewed).toEqual([]);
		expect(ofType('tool.failed')).toEqual([]);
		expect(await store.getExecution(started.data.execution_id)).toMatchObject({ status: 'running' });
	}

	it('keeps the tool of a task with a retry left through one failed renewal whose next answers late', async () => {
		const { shared, fences, config, started } = await runningRetried();

		// a blip: the next renewal fails, every one after it answers 300 ms late (a failover's reconnect)
		const counts = oneBadRenewal(
			shared,
			() => Promise.reject(new StoreUnavailableError(new Error('Connection terminated unexpectedly'))),
			300
		);
		// past the lease the renewal before the blip set: it would have been fenced by now
		await stillRunningALeaseOn(config.leaseMs, fences, started);
		const [failed, answered] = counts();
		expect([failed, answered >= 2]).toEqual([1, true]);
		shared.interceptRenewals(null);
	});

	it('keeps the tool of a task with a retry left through a renewal that hangs until its timeout: the retry is timed from its send', async () => {
		const { shared, fences, config, started } = await runningRetried();

		// the next renewal gets no answer for 4/15 of a lease (as the default 4 s query timeout is of the
		// default 15 s lease), then the database answers again: tried again only a twelfth of a lease
		// after that failure, the retry would come after the fence (two thirds of a lease)
		const counts = oneBadRenewal(shared, () => unanswered((config.leaseMs * 4) / 15));
		await stillRunningALeaseOn(config.leaseMs, fences, started);
		const [hung, answered] = counts();
		expect([hung, answered >= 2]).toEqual([1, true]);
		shared.interceptRenewals(null);
	});

	it('checks no fence again for a task whose fence came due while it was being cancelled', async () => {
		// the cancelled step's end waits for the database, so its runner lives on past the fence's deadline
		let endsFail = false;
		const base = new Proxy(store, {
			get(target, prop) {
				if (prop === 'endExecution' && endsFail)
					return () =>
						Promise.reject(new StoreUnavailableError(new Error('connect ECONNREFUSED 127.0.0.1:5432')));
				const value = Reflect.get(target, prop);
				return typeof value === 'function' ? value.bind(target) : value;
			}
		}) as Store;
		const { shared, config, started } = await runningRetried(base);
		const fence = vi.spyOn(TaskRunner.prototype, 'fence');
		onTestFinished(() => fence.mockRestore());
		shared.failRenewals(true);
		endsFail = true;
		expect(await orchestrator.cancelTask(started.data.task_id)).toBe(true);

		// the fence came due and was declined (the task stops as cancelled)...
		await expect.poll(() => fence.mock.calls.length, { timeout: 2 * config.leaseMs }).toBe(1);
		expect(fence.mock.results[0]).toMatchObject({ value: false });
		// ...and is not tried again while the runner waits for the database
		const declinedAt = performance.now();
		await expect.poll(() => performance.now() - declinedAt > 500).toBe(true);
		expect(fence.mock.calls).toHaveLength(1);
		endsFail = false;
		shared.failRenewals(false);
		await expect
			.poll(async () => (await store.getExecution(started.data.execution_id))?.status, {
				timeout: 2 * config.leaseMs
			})
			.toBe('cancelled');
	});

	it('stops the tool of a task with a retry left before its lease runs out when the node shuts down cut off from the database', async () => {
		const { shared, config, started } = await runningRetried();

		// a partition: claims and renewals get no answer until their query timeout (longer than a lease)
		let claiming = 0;
		shared.interceptRenewals(() => unanswered(2 * config.leaseMs));
		shared.interceptClaims(() => {
			claiming++;
			return unanswered(2 * config.leaseMs);
		});
		// a claim hangs (the periodic pump's), then the node is told to stop
		await expect.poll(() => claiming, { timeout: config.leaseMs }).toBeGreaterThan(0);
		const shutdown = orchestrator.shutdown();
		await toolEnded(started.data.execution_id, 2 * config.leaseMs);
		expect(performance.now() - shared.renewedAt()).toBeLessThan(config.leaseMs);
		expect(await store.getExecution(started.data.execution_id)).toMatchObject({
			status: 'interrupted',
			error: FENCED_REASON
		});
		await shutdown;
	}, 30_000);

	describe('on PostgreSQL', () => {
		const backend = useStoreBackend('postgres');

		it('renews only the tasks it runs: one whose claim lost its answer runs out its lease and starts again', async () => {
			await orchestrator.shutdown();
			const pgStore = await backend.open();
			try {
				const shared = sharedStore(pgStore);
				setup({ store: shared.store, config: { leaseMs: 300 } });
				workflow('long', `tasks:\n  work:\n    steps: [{ name: wait, run: sleep, args: ['30'] }]\n`);
				workflow('quick', `tasks:\n  work:\n    retries: 1\n    steps: [{ name: done, run: 'true' }]\n`);
				await orchestrator.startRun('long');
				const long = (await waitFor((event) => event.type === 'tool.started')) as DomainEvent<'tool.started'>;
				// the claim of quick's task is stored, but this node never hears of it and runs nothing for it
				shared.loseNextClaimAnswer();
				const run = await orchestrator.startRun('quick');

				// renewing long's lease must not keep quick's alive: it runs out, and the sweep queues it again
				expect((await ended(run.id, 5_000)).data.status).toBe('succeeded');
				const requeued = ofType('task.status').filter(
					(event) => event.data.run_id === run.id && event.data.status === 'queued'
				);
				expect(requeued.map((event) => event.data.message)).toEqual([
					expect.stringMatching(/stopped renewing .* starting it again \(attempt 2 of 2\)/)
				]);
				expect(ofType('tool.started').filter((event) => event.data.run_id === run.id)).toHaveLength(1);
				expect(await pgStore.queue.holder(long.data.task_id)).toMatchObject({
					status: 'running',
					node: 'local'
				});
			} finally {
				await orchestrator.shutdown();
				await pgStore.close();
			}
		});
	});

	/** starts, on `shared`, a run whose one task (one retry allowed) runs `sh -c script` */
	async function startDeploy(
		shared: ReturnType<typeof sharedStore>,
		script: string
	): Promise<DomainEvent<'tool.started'>> {
		setup({ store: shared.store });
		workflow(
			'deploy',
			`tasks:
  deploy:
    retries: 1
    steps:
      - name: deploy
        run: sh
        args: [-c, ${JSON.stringify(script)}]
`
		);
		await orchestrator.startRun('deploy');
		return (await waitFor((event) => event.type === 'tool.started')) as DomainEvent<'tool.started'>;
	}

	/**
	 * starts, on `shared`, a run whose one task (one retry allowed) takes a while to wind down on
	 * SIGTERM, within the kill grace period (300 ms here): `exited` is touched as it ends
	 */
	async function slowToStop(shared: ReturnType<typeof sharedStore>): Promise<DomainEvent<'tool.started'>> {
		const started = await startDeploy(
			shared,
			"trap 'sleep 0.15; touch exited; exit 143' TERM; touch started; while :; do sleep 0.02; done"
		);
		await expect.poll(() => fs.existsSync(path.join(dir, 'started'))).toBe(true);
		return started;
	}

	it('hands its tasks over on shutdown only once their tools have exited, to start again elsewhere', async () => {
		await orchestrator.shutdown();
		const shared = sharedStore();
		const releases: string[] = [];
		shared.onRelease(() =>
			releases.push(fs.existsSync(path.join(dir, 'exited')) ? 'after the tool exited' : 'while the tool runs')
		);
		const started = await slowToStop(shared);
		await orchestrator.shutdown();
		expect(releases).toEqual(['after the tool exited']);
		// this node's own end of the task was not stored: the release queued it for another node
		expect(await store.getTask(started.data.task_id)).toMatchObject({
			status: 'queued',
			message: expect.stringMatching(/shut down; starting it again \(attempt 2 of 2\)/)
		});
		expect(await store.getExecution(started.data.execution_id)).toMatchObject({ status: 'interrupted' });
	});

	it('keeps the end of a task that succeeded as the node stopped, instead of handing it over to run again', async () => {
		await orchestrator.shutdown();
		const shared = sharedStore();
		// the step exits at once, but a child it leaves holds its output open: the node waits for
		// that (the drain) when it is told to stop
		const started = await startDeploy(shared, 'echo $$ > pid; sleep 30 & echo deployed');
		const pidFile = path.join(dir, 'pid');
		await expect
			.poll(() => fs.existsSync(pidFile) && fs.readFileSync(pidFile, 'utf8').endsWith('\n'))
			.toBe(true);
		const pid = Number(fs.readFileSync(pidFile, 'utf8'));
		// the step has exited and been reaped, so its exit is known here, while its child runs on
		const reaped = () => {
			try {
				process.kill(pid, 0);
				return false;
			} catch {
				return true;
			}
		};
		await expect.poll(reaped).toBe(true);
		await orchestrator.shutdown();
		expect(await store.getExecution(started.data.execution_id)).toMatchObject({ status: 'succeeded' });
		// stored as it ended: not queued to deploy a second time on another node
		expect(await store.getTask(started.data.task_id)).toMatchObject({ status: 'succeeded', error: null });
		expect(shared.refused.map(({ patch }) => patch.status)).not.toContain('succeeded');
	});

	it('ends a task cancelled here as cancelled when it hands the task over before the tool has exited', async () => {
		await orchestrator.shutdown();
		const started = await slowToStop(sharedStore());
		expect(await orchestrator.cancelTask(started.data.task_id)).toBe(true);
		await orchestrator.shutdown();
		// not queued to start again on another node: it was cancelled
		expect(await store.getTask(started.data.task_id)).toMatchObject({ status: 'cancelled' });
	});
});

describe.each(STORE_KINDS)('orchestrator on the %s store', (kind) => {
	const backend = useStoreBackend(kind);

	it('keeps the whole log of a tool whose workflow commands hold NUL or a file line no integer holds', async () => {
		await orchestrator.shutdown();
		const own = await backend.open();
		try {
			setup({ store: own });
			// printf's \000 is a NUL byte
			workflow(
				'nul',
				`tasks:
  print:
    steps:
      - name: print
        run: |
          printf 'before\\n::error::bad\\000thing\\n::group::g\\000x\\n::warning file=a.ts,line=3000000000::w\\n::progress value=50::half\\000way\\nafter\\n'
`
			);
			const run = await orchestrator.startRun('nul');
			expect((await ended(run.id)).data.status).toBe('succeeded');
			const [task] = await own.listTasks({ run_id: run.id });
			expect(task).toMatchObject({ status: 'succeeded', error: null, message: 'halfway' });
			const [execution] = await own.listExecutions(task.id);
			expect((await own.readLogLines(execution.id)).map((line) => line.text)).toEqual([
				'before',
				'::error::bad\u0000thing',
				'::group::g\u0000x',
				'::warning file=a.ts,line=3000000000::w',
				'::progress value=50::half\u0000way',
				'after'
			]);
			expect(await own.readLogOutline(execution.id)).toMatchObject({
				groups: [{ name: 'gx', start: 3 }],
				annotations: [
					{ line: 2, level: 'error', message: 'badthing' },
					{ line: 4, level: 'warning', message: 'w', file: 'a.ts' }
				]
			});
		} finally {
			await orchestrator.shutdown();
			await own.close();
		}
	});
});
