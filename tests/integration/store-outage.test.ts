/**
 * A running tool while its PostgreSQL is stopped and started again (a real server, a real tool,
 * the real task runner and store): the lines it prints meanwhile are kept and stored once the
 * database is back, with no gap; an outage that outlasts what a task may keep fails the task with
 * a stored reason, and its stored log is a gap-free prefix.
 */
import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AnyDomainEvent, LogLine, Task } from '../../src/lib/protocol';
import { MemoryBus } from '../../src/lib/server/bus/memory-bus';
import { createLogger } from '../../src/lib/server/logger';
import { TaskRunner } from '../../src/lib/server/orchestrator/task-runner';
import type { StoreOutageConfig } from '../../src/lib/server/orchestrator/log-pipeline';
import type { TaskDef } from '../../src/lib/server/orchestrator/workflow-file';
import { openPgStore } from '../../src/lib/server/store/pg/pg-store';
import { createStandaloneTask } from '../../src/lib/server/store/test-records';
import type { Store } from '../../src/lib/server/store/types';
import { startPostgres, type TestPostgres } from '../helpers/postgres';
import { tempDir } from '../helpers/server';

const logger = createLogger('silent');

/** `line 1`, `line 2`, … every 10 ms until the file `stop` appears in its folder */
const TICKER = 'i=0; while [ ! -e stop ]; do i=$((i+1)); echo "line $i"; sleep 0.01; done';

describe('a running tool while PostgreSQL is stopped and started', () => {
	let pg: TestPostgres;
	let store: Store;
	let dir: string;
	let bus: MemoryBus;
	let published: number;
	/** what the task runner logged as errors */
	let errors: string[];

	beforeAll(async () => {
		pg = await startPostgres();
		store = await openPgStore({ url: await pg.createDatabase(), node: 'outage', logger });
	}, 60_000);
	afterAll(async () => {
		await store?.close();
		await pg?.close();
	});
	let running: Promise<Task> | null = null;
	afterEach(async () => {
		// a failed test leaves its ticker running: stop it before its folder goes
		stop();
		await running?.catch(() => undefined);
		running = null;
		fs.rmSync(dir, { recursive: true, force: true });
	});

	async function startTicker(storeOutage?: StoreOutageConfig): Promise<{ task: Task; done: Promise<Task> }> {
		dir = tempDir('aco-outage-');
		bus = new MemoryBus();
		published = 0;
		errors = [];
		const runnerLogger = pino({ level: 'error' }, { write: (line: string) => errors.push(line) });
		bus.subscribe((event: AnyDomainEvent) => {
			// an event's lines are in order: its last is its highest
			if (event.type === 'tool.lines') published = Math.max(published, event.data.lines.at(-1)!.line);
		});
		const def: TaskDef = {
			key: 'ticker',
			name: 'ticker',
			needs: [],
			optional: false,
			weight: 1,
			retries: 0,
			steps: [{ name: 'tick', command: 'sh', args: ['-c', TICKER], cwd: dir, env: {}, timeoutMs: null }]
		};
		const task = await createStandaloneTask(store);
		const runner = new TaskRunner(
			{
				store,
				bus,
				logger: runnerLogger,
				interruptedReason: 'the server stopped',
				config: { killGraceMs: 500, maxLineLength: 1024, ...(storeOutage ? { storeOutage } : {}) }
			},
			task,
			def
		);
		running = runner.run();
		return { task, done: running };
	}

	async function storedLines(taskId: string): Promise<LogLine[]> {
		const [execution] = await store.listExecutions(taskId);
		return store.readLogLines(execution.id, { limit: 10_000 });
	}

	const stop = () => fs.writeFileSync(path.join(dir, 'stop'), '');

	it('stores every line printed while the database was down, in order, once it is back', async () => {
		const { task, done } = await startTicker();
		await expect.poll(async () => (await storedLines(task.id).catch(() => [])).length).toBeGreaterThan(10);
		await pg.stop();
		const atStop = published;
		try {
			// the tool keeps running: its lines still stream live
			await expect.poll(() => published, { timeout: 15_000 }).toBeGreaterThan(atStop + 100);
		} finally {
			await pg.start();
		}
		const atStart = published;
		await expect.poll(() => published, { timeout: 15_000 }).toBeGreaterThan(atStart + 20);
		stop();
		const final = await done;
		expect(final).toMatchObject({ status: 'succeeded', error: null });
		const lines = await storedLines(task.id);
		expect(lines.length).toBe(published);
		expect(lines.length).toBeGreaterThan(atStop + 100);
		lines.forEach((line, i) => expect([line.n, line.text]).toEqual([i + 1, `line ${i + 1}`]));
	}, 30_000);

	it('fails the task with a stored reason once the database is back when the outage outlasts what it may keep', async () => {
		const { task, done } = await startTicker({ maxLines: 50 });
		await expect.poll(async () => (await storedLines(task.id).catch(() => [])).length).toBeGreaterThan(10);
		await pg.stop();
		try {
			// past its 50 kept lines nothing more is kept and the tool is stopped (the task waits for
			// the database to say so)
			await expect
				.poll(() => errors.some((line) => line.includes('printed more meanwhile')), { timeout: 15_000 })
				.toBe(true);
		} finally {
			await pg.start();
		}
		const final = await done;
		stop();
		expect(final).toMatchObject({ status: 'failed' });
		expect(final.error).toMatch(/database could not be reached/);
		expect((await store.getTask(task.id))!.error).toBe(final.error);
		const lines = await storedLines(task.id);
		expect(lines.length).toBeGreaterThan(10);
		lines.forEach((line, i) => expect([line.n, line.text]).toEqual([i + 1, `line ${i + 1}`]));
	}, 30_000);
});
