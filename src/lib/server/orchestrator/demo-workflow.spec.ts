import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnyDomainEvent, EventType } from '../../protocol';
import { MemoryBus } from '../bus/memory-bus';
import { openSqliteStore } from '../store/sqlite-store';
import type { Store } from '../store/types';
import { createOrchestrator } from './orchestrator';

/** the shipped workflows folder, run as it is with the demo's pause per item shortened */
const WORKFLOWS_DIR = path.resolve(import.meta.dirname, '../../../../workflows');
const TICK_MS = '5';

let store: Store;
const events: AnyDomainEvent[] = [];
type EventOf<T extends EventType> = Extract<AnyDomainEvent, { type: T }>;
const ofType = <T extends EventType>(type: T) =>
	events.filter((event): event is EventOf<T> => event.type === type);

describe('the demo workflow', () => {
	let previousTick: string | undefined;

	beforeAll(() => {
		previousTick = process.env.ACO_DEMO_TICK_MS;
		process.env.ACO_DEMO_TICK_MS = TICK_MS;
		store = openSqliteStore('', { filename: ':memory:' });
	});

	afterAll(async () => {
		if (previousTick === undefined) delete process.env.ACO_DEMO_TICK_MS;
		else process.env.ACO_DEMO_TICK_MS = previousTick;
		await store.close();
	});

	it('loads, runs end to end and succeeds although its optional lint task fails', async () => {
		const bus = new MemoryBus();
		bus.subscribe((event) => events.push(event));
		const orchestrator = createOrchestrator({
			store,
			bus,
			logger: pino({ level: 'silent' }),
			config: {
				workflowsDir: WORKFLOWS_DIR,
				concurrency: 4,
				killGraceMs: 1000,
				maxLineLength: 4096,
				leaseMs: 15_000
			}
		});
		const { workflows, errors } = await orchestrator.listWorkflows();
		expect(errors).toEqual([]);
		expect(workflows.find((workflow) => workflow.name === 'demo')?.tasks.map((task) => task.key)).toEqual([
			'setup',
			'build',
			'test',
			'flaky-lint',
			'package'
		]);

		const run = await orchestrator.startRun('demo');
		const end = await new Promise<AnyDomainEvent>((resolve) => {
			bus.subscribe((event) => {
				if (event.type === 'workflow.completed' || event.type === 'workflow.failed') resolve(event);
			});
		});
		await orchestrator.shutdown();

		expect(end.type).toBe('workflow.completed');
		const tasks = await store.listTasks({ run_id: run.id });
		expect(Object.fromEntries(tasks.map((task) => [task.key, task.status]))).toEqual({
			setup: 'succeeded',
			build: 'succeeded',
			test: 'succeeded',
			'flaky-lint': 'failed',
			package: 'succeeded'
		});
		expect(ofType('task.progress').some((event) => event.data.message?.startsWith('Compiled'))).toBe(true);
		expect(ofType('tool.lines').some((event) => event.data.lines.some((line) => line.is_stderr))).toBe(true);

		// build and test run side by side once setup is done
		const order = ofType('task.status')
			.filter((event) => event.data.status === 'running')
			.map((event) => event.data.task.key);
		expect(order[0]).toBe('setup');
		expect(order.at(-1)).toBe('package');
		const firstEnd = events.findIndex(
			(event) => event.type === 'task.completed' && ['build', 'test'].includes(event.data.task.key)
		);
		const testStart = events.findIndex(
			(event) =>
				event.type === 'task.status' && event.data.task.key === 'test' && event.data.status === 'running'
		);
		expect(testStart).toBeLessThan(firstEnd);
	});
});
