import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DomainEvent, Task } from '../../protocol';
import { MemoryBus } from '../bus/memory-bus';
import { openSqliteStore } from '../store/sqlite-store';
import type { Store } from '../store/types';
import { TaskProgress } from './task-progress';
import { createStandaloneTask } from '../store/test-records';
import { StoreUnavailableError } from '../store/errors';
import { failingStore } from '../store/test-failing-store';

const unreachable = () => new StoreUnavailableError(new Error('connect ECONNREFUSED 127.0.0.1:5432'));

const logger = pino({ level: 'silent' });
let store: Store;
let bus: MemoryBus;
let events: DomainEvent<'task.progress'>[];
let task: Task;

beforeEach(async () => {
	store = openSqliteStore('', { filename: ':memory:' });
	bus = new MemoryBus();
	events = [];
	bus.subscribe(
		(event) => event.type === 'task.progress' && events.push(event as DomainEvent<'task.progress'>)
	);
	task = await createStandaloneTask(store);
});

afterEach(async () => {
	await store.close();
});

describe('TaskProgress', () => {
	it('stores progress and message, then publishes task.progress', async () => {
		const progress = new TaskProgress({ store, bus, logger, task });
		progress.set(45, 'compiling');
		await progress.idle();
		expect(await store.getTask(task.id)).toMatchObject({ progress: 45, message: 'compiling' });
		expect(events.map((event) => event.data)).toEqual([
			{ task_id: task.id, run_id: null, progress: 45, message: 'compiling' }
		]);
	});

	it('writes only the latest of values set while a write is in flight, never losing a field', async () => {
		const progress = new TaskProgress({ store, bus, logger, task });
		progress.set(10, 'first');
		progress.set(20);
		progress.set(30);
		progress.set(undefined, 'last message');
		await progress.idle();
		expect(events.map((event) => [event.data.progress, event.data.message])).toEqual([
			[10, 'first'],
			[30, 'last message']
		]);
		expect(await store.getTask(task.id)).toMatchObject({ progress: 30, message: 'last message' });
	});

	it('clamps progress to 0–100', async () => {
		const progress = new TaskProgress({ store, bus, logger, task });
		progress.set(250);
		await progress.idle();
		expect(progress.progress).toBe(100);
		expect((await store.getTask(task.id))!.progress).toBe(100);
	});

	it('survives a store failure and keeps accepting values', async () => {
		let fail = true;
		const flaky: Store = Object.create(store, {
			updateTask: {
				value: async (id: string, patch: object) => {
					if (fail) {
						fail = false;
						throw new Error('locked');
					}
					return store.updateTask(id, patch);
				}
			}
		});
		const progress = new TaskProgress({ store: flaky, bus, logger, task });
		progress.set(5);
		await progress.idle();
		progress.set(6);
		await progress.idle();
		expect(events.map((event) => event.data.progress)).toEqual([6]);
	});

	it('keeps the latest values while the database cannot be reached and stores them once it is back', async () => {
		let away = true;
		let attempts = 0;
		const flaky: Store = Object.create(store, {
			updateTask: {
				value: async (id: string, patch: object) => {
					if (away) {
						attempts++;
						throw unreachable();
					}
					return store.updateTask(id, patch);
				}
			}
		});
		const progress = new TaskProgress({ store: flaky, bus, logger, task });
		progress.set(40, 'compiling');
		await expect.poll(() => attempts).toBeGreaterThanOrEqual(2);
		progress.set(60);
		away = false;
		await progress.idle();
		expect(await store.getTask(task.id)).toMatchObject({ progress: 60, message: 'compiling' });
		expect(events.map((event) => [event.data.progress, event.data.message])).toEqual([[60, 'compiling']]);
	});

	it('stops waiting for a database that stays unreachable once closed, dropping what is pending', async () => {
		const progress = new TaskProgress({
			store: failingStore(store, 'updateTask', unreachable()),
			bus,
			logger,
			task
		});
		progress.set(60, 'linking');
		const idle = progress.idle();
		progress.close();
		await idle;
		expect(events).toEqual([]);
		expect(await store.getTask(task.id)).toMatchObject({ progress: 0 });
	});

	it('stops waiting for a database that stays unreachable when its signal aborts', async () => {
		const shutdown = new AbortController();
		const unreachableStore = failingStore(store, 'updateTask', unreachable());
		const progress = new TaskProgress({
			store: unreachableStore,
			bus,
			logger,
			task,
			signal: shutdown.signal
		});
		progress.set(60);
		const idle = progress.idle();
		shutdown.abort();
		await idle;
		expect(events).toEqual([]);
	});
});
