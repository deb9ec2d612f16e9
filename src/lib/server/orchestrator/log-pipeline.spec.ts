import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AnyDomainEvent, DomainEvent } from '../../protocol';
import { MemoryBus } from '../bus/memory-bus';
import { openSqliteStore } from '../store/sqlite-store';
import type { Store } from '../store/types';
import { LogPipeline, type LogPipelineOptions } from './log-pipeline';
import type { WorkflowCommand } from './workflow-commands';
import { createStandaloneTask, createTestExecution } from '../store/test-records';

const logger = pino({ level: 'silent' });
let store: Store;
let bus: MemoryBus;
let events: AnyDomainEvent[];
let ids: { task_id: string; run_id: string | null; execution_id: string };

beforeEach(async () => {
	store = openSqliteStore('', { filename: ':memory:' });
	bus = new MemoryBus();
	events = [];
	bus.subscribe((event) => events.push(event));
	const task = await createStandaloneTask(store);
	const execution = await createTestExecution(store, task.id);
	ids = { task_id: task.id, run_id: null, execution_id: execution.id };
});

afterEach(async () => {
	await store.close();
});

function pipeline(options: Partial<LogPipelineOptions> = {}): LogPipeline {
	return new LogPipeline({ store, bus, logger, ...ids, ...options });
}

const outputs = () =>
	events.filter((event): event is DomainEvent<'tool.output'> => event.type === 'tool.output');

describe('LogPipeline', () => {
	it('numbers lines across both streams in arrival order and publishes each at once', () => {
		const log = pipeline();
		log.push('stdout', 'one');
		log.push('stderr', 'two');
		log.push('stdout', 'three');
		expect(outputs().map((event) => event.data)).toEqual([
			{ ...ids, line: 1, output: 'one', is_stderr: false, timestamp: expect.any(String) },
			{ ...ids, line: 2, output: 'two', is_stderr: true, timestamp: expect.any(String) },
			{ ...ids, line: 3, output: 'three', is_stderr: false, timestamp: expect.any(String) }
		]);
		expect(log.lineCount).toBe(3);
	});

	it('stores every line with the number and timestamp it was streamed with once closed', async () => {
		const log = pipeline();
		for (let i = 1; i <= 1234; i++) log.push(i % 3 ? 'stdout' : 'stderr', `line ${i}`);
		await log.close();
		const stored = await store.readLogLines(ids.execution_id, { limit: 5000 });
		expect(stored).toHaveLength(1234);
		expect(stored.map((line) => ({ n: line.n, text: line.text, stream: line.stream, ts: line.ts }))).toEqual(
			outputs().map((event) => ({
				n: event.data.line,
				text: event.data.output,
				stream: event.data.is_stderr ? 'stderr' : 'stdout',
				ts: event.data.timestamp
			}))
		);
		expect((await store.getExecution(ids.execution_id))!.line_count).toBe(1234);
	});

	it('stores lines within the flush interval without being closed', async () => {
		const log = pipeline({ flushIntervalMs: 20 });
		log.push('stdout', 'early');
		expect(await store.readLogLines(ids.execution_id)).toEqual([]);
		await new Promise((resolve) => setTimeout(resolve, 100));
		expect((await store.readLogLines(ids.execution_id)).map((line) => line.text)).toEqual(['early']);
		await log.close();
	});

	it('writes a full batch at once, in few transactions', async () => {
		let appends = 0;
		const counting: Store = Object.create(store, {
			appendLogLines: { value: (id: string, lines: never[]) => (appends++, store.appendLogLines(id, lines)) }
		});
		const log = pipeline({ store: counting, maxBatchLines: 100, flushIntervalMs: 10_000 });
		for (let i = 0; i < 250; i++) log.push('stdout', `l${i}`);
		await new Promise((resolve) => setTimeout(resolve, 20));
		expect((await store.getExecution(ids.execution_id))!.line_count).toBeGreaterThanOrEqual(200);
		await log.close();
		expect((await store.getExecution(ids.execution_id))!.line_count).toBe(250);
		expect(appends).toBeLessThanOrEqual(4);
	});

	it('retries a batch the store refused once, keeping line numbers contiguous', async () => {
		let failures = 1;
		const flaky: Store = Object.create(store, {
			appendLogLines: {
				value: async (id: string, lines: never[]) => {
					if (failures-- > 0) throw new Error('database is locked');
					return store.appendLogLines(id, lines);
				}
			}
		});
		const log = pipeline({ store: flaky });
		log.push('stdout', 'a');
		log.push('stdout', 'b');
		await log.close();
		expect((await store.readLogLines(ids.execution_id)).map((line) => [line.n, line.text])).toEqual([
			[1, 'a'],
			[2, 'b']
		]);
	});

	it('gives up on a store that keeps failing without rejecting close', async () => {
		const broken: Store = Object.create(store, {
			appendLogLines: { value: async () => Promise.reject(new Error('disk full')) }
		});
		const log = pipeline({ store: broken });
		log.push('stdout', 'lost');
		await expect(log.close()).resolves.toBeUndefined();
	});

	it('hands workflow commands to onCommand and still streams the line', async () => {
		const commands: WorkflowCommand[] = [];
		const log = pipeline({ onCommand: (command) => commands.push(command) });
		log.push('stdout', '::progress value=40::halfway there');
		log.push('stdout', 'plain');
		expect(commands).toEqual([{ kind: 'progress', value: 40, message: 'halfway there' }]);
		expect(outputs().map((event) => event.data.output)).toEqual([
			'::progress value=40::halfway there',
			'plain'
		]);
		await log.close();
	});

	it('ignores lines pushed after close', async () => {
		const log = pipeline();
		await log.close();
		log.push('stdout', 'late');
		expect(outputs()).toEqual([]);
	});
});
