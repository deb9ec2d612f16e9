import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AnyDomainEvent, IngestEventInput } from '../../protocol';
import { ingestEventSchema } from '../../protocol';
import { MemoryBus } from '../bus/memory-bus';
import { openSqliteStore } from '../store/sqlite-store';
import type { Store } from '../store/types';
import { isIngestError } from './ingest-error';
import { formatLines } from '../http/log-stream';
import { IngestService } from './service';

const logger = pino({ level: 'silent' });

const events = (list: IngestEventInput[]) => list.map((e) => ingestEventSchema.parse(e));

describe('ingest service', () => {
	let dir: string;
	let store: Store;
	let bus: MemoryBus;
	let published: AnyDomainEvent[];
	let service: IngestService;

	beforeEach(() => {
		dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aco-ingest-'));
		store = openSqliteStore(dir, { filename: ':memory:' });
		bus = new MemoryBus();
		published = [];
		bus.subscribe((e) => published.push(e));
		service = new IngestService({ store, bus, logger });
	});
	afterEach(async () => {
		await store.close();
		fs.rmSync(dir, { recursive: true, force: true });
	});

	it('remembers idempotency keys across a restart of the service', async () => {
		const first = await service.createTask({ name: 'build' }, 'key-1');
		const restarted = new IngestService({ store, bus, logger });
		const again = await restarted.createTask({ name: 'build' }, 'key-1');
		expect(again).toMatchObject({ existing: true, task: { id: first.task.id } });
		expect((await store.listTasks()).length).toBe(1);
	});

	it('creates one task for concurrent requests with the same key', async () => {
		const [a, b] = await Promise.all([
			service.createTask({ name: 'x' }, 'same'),
			service.createTask({ name: 'x' }, 'same')
		]);
		expect(a.task.id).toBe(b.task.id);
		expect(published.filter((e) => e.type === 'task.created')).toHaveLength(1);
	});

	it('numbers lines without n after the stored ones and refuses a gap, naming the field', async () => {
		const { task } = await service.createTask({ name: 't' });
		await service.applyEvents(
			task.id,
			events([
				{ type: 'tool.start', step: 0, name: 's' },
				{ type: 'output', step: 0, lines: [{ text: 'one' }, { text: 'two' }] }
			])
		);
		const gap = service.applyEvents(
			task.id,
			events([{ type: 'output', step: 0, lines: [{ n: 5, text: 'five' }] }])
		);
		await expect(gap).rejects.toSatisfy(
			(err) => isIngestError(err) && err.status === 409 && err.message.includes('events.0.lines.0.n')
		);
		const [execution] = await store.listExecutions(task.id);
		expect((await store.readLogLines(execution.id)).map((l) => l.text)).toEqual(['one', 'two']);
	});

	it('stores, streams and downloads a line marked partial as one the next line continues', async () => {
		const { task } = await service.createTask({ name: 't' });
		await service.applyEvents(
			task.id,
			events([
				{ type: 'tool.start', step: 0, name: 's' },
				{
					type: 'output',
					step: 0,
					lines: [
						{ text: 'working 50%\r', partial: true },
						{ text: 'working 100%' },
						{ text: '::error::boom' }
					]
				}
			])
		);
		const [execution] = await store.listExecutions(task.id);
		const stored = await store.readLogLines(execution.id);
		expect(stored.map((l) => l.partial ?? false)).toEqual([true, false, false]);
		expect(formatLines(stored, 'text')).toBe('working 50%\rworking 100%\n::error::boom\n');
		const output = published.filter((e) => e.type === 'tool.output');
		expect(output.map((e) => e.data.partial ?? false)).toEqual([true, false, false]);
		expect((await store.readLogOutline(execution.id)).annotations).toMatchObject([
			{ line: 3, level: 'error' }
		]);
	});

	it('coalesces progress lines of one batch into one write and one event', async () => {
		const { task } = await service.createTask({ name: 't' });
		published.length = 0;
		const lines = Array.from({ length: 20 }, (_, i) => ({
			n: i + 1,
			text: `::progress value=${i * 5}::step ${i}`
		}));
		const result = await service.applyEvents(
			task.id,
			events([
				{ type: 'tool.start', step: 0, name: 's' },
				{ type: 'output', step: 0, lines }
			])
		);
		expect(result.task).toMatchObject({ progress: 95, message: 'step 19' });
		expect(published.filter((e) => e.type === 'task.progress')).toHaveLength(1);
	});

	it('ignores events that would move a finished task, and closes tools left open when it ends', async () => {
		const { task } = await service.createTask({ name: 't' });
		await service.applyEvents(
			task.id,
			events([
				{ type: 'tool.start', step: 0, name: 's' },
				{ type: 'status', status: 'succeeded' }
			])
		);
		const later = await service.applyEvents(
			task.id,
			events([
				{ type: 'status', status: 'running' },
				{ type: 'progress', progress: 10 },
				{ type: 'status', status: 'failed' }
			])
		);
		expect(later).toMatchObject({ applied: 0, ignored: 3, task: { status: 'succeeded', progress: 100 } });
		const [execution] = await store.listExecutions(task.id);
		expect(execution.status).toBe('interrupted');
	});

	it('resumes a task that a server restart marked interrupted when its producer reports again', async () => {
		const { task } = await service.createTask({ name: 't' });
		await store.markInterrupted('server restarted');
		expect((await store.getTask(task.id))?.status).toBe('interrupted');
		const resumed = await service.applyEvents(task.id, events([{ type: 'progress', progress: 30 }]));
		expect(resumed.task).toMatchObject({ status: 'running', progress: 30, error: null, finished_at: null });
	});

	it('refuses events for a task of a workflow run', async () => {
		const run = await store.createRun({ workflow: 'w', total_weight: 1 });
		const task = await store.createTask({
			run_id: run.id,
			key: 'k',
			name: 'k',
			needs: [],
			weight: 1,
			optional: false,
			step_count: 1
		});
		await expect(service.applyEvents(task.id, events([{ type: 'progress', progress: 1 }]))).rejects.toSatisfy(
			(err) => isIngestError(err) && err.code === 'not_standalone'
		);
	});
});
