import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AnyDomainEvent, DomainEvent, IngestEventInput } from '../../protocol';
import { MAX_EVENT_TEXT, MAX_LINES_PER_EVENT, ingestEventSchema } from '../../protocol';
import { MemoryBus } from '../bus/memory-bus';
import { openSqliteStore } from '../store/sqlite-store';
import type { Store } from '../store/types';
import { isIngestError } from './ingest-error';
import { failingStore, storeWithOutage } from '../store/test-failing-store';
import { formatLines } from '../http/log-stream';
import { CANCEL_REQUESTED_MESSAGE, IngestService } from './service';
import { memoryMaskRegistry } from '../masking/test-mask-registry';

const logger = pino({ level: 'silent' });

const events = (list: IngestEventInput[]) => list.map((e) => ingestEventSchema.parse(e));

/**
 * `store` as another node sees it: its first `listExecutions` (how a node reads a task's tools
 * before it ends it) waits until `open()`, so a test can end the task elsewhere meanwhile.
 */
function gatedExecutions(store: Store) {
	let reach!: () => void;
	let pass!: () => void;
	let opened!: () => void;
	const reached = new Promise<void>((resolve) => (reach = resolve));
	const passed = new Promise<void>((resolve) => (pass = resolve));
	const gate = new Promise<void>((resolve) => (opened = resolve));
	let first = true;
	const gated = new Proxy(store, {
		get: (target, prop) => {
			if (prop === 'listExecutions' && first) {
				return async (taskId: string) => {
					first = false;
					reach();
					await gate;
					const list = await target.listExecutions(taskId);
					pass();
					return list;
				};
			}
			const value = Reflect.get(target, prop);
			return typeof value === 'function' ? value.bind(target) : value;
		}
	});
	return { store: gated, reached, passed, open: opened };
}

/** `store` with every call recorded by method name, in order */
function recordedCalls(store: Store) {
	const calls: string[] = [];
	const recorded = new Proxy(store, {
		get: (target, prop) => {
			const value = Reflect.get(target, prop);
			if (typeof value !== 'function') return value;
			return (...args: unknown[]) => {
				calls.push(String(prop));
				return (value as (...a: unknown[]) => unknown).apply(target, args);
			};
		}
	});
	return { store: recorded, calls };
}

/** whether `check` holds within `ms` (polled) */
async function within(ms: number, check: () => Promise<boolean>): Promise<boolean> {
	const deadline = Date.now() + ms;
	for (;;) {
		if (await check()) return true;
		if (Date.now() > deadline) return false;
		await new Promise((resolve) => setTimeout(resolve, 20));
	}
}

/** resolves once the clock has moved past the current millisecond (stored times then differ) */
async function nextMillisecond(): Promise<void> {
	const now = Date.now();
	while (Date.now() === now) await new Promise((resolve) => setTimeout(resolve, 1));
}

/** waits until `service` has nothing queued for `taskId` (its ending, if any, is done) */
async function sweepingSettled(service: IngestService, taskId: string): Promise<void> {
	// a request queued behind the ending runs once it is done
	await service.applyEvents(taskId, events([])).catch(() => undefined);
}

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

	it('takes a tool’s lines in turn from two nodes on one store (a proxy spreading the requests)', async () => {
		const other = new IngestService({ store, bus, logger });
		const { task } = await service.createTask({ name: 'spread' });
		await service.applyEvents(
			task.id,
			events([
				{ type: 'tool.start', step: 0, name: 's' },
				{ type: 'output', step: 0, lines: [{ n: 1, text: 'one' }] }
			])
		);
		await other.applyEvents(task.id, events([{ type: 'output', step: 0, lines: [{ n: 2, text: 'two' }] }]));
		const third = await service.applyEvents(
			task.id,
			events([{ type: 'output', step: 0, lines: [{ n: 3, text: 'three' }, { text: 'four' }] }])
		);
		expect(third.line_counts).toEqual({ 0: 4 });
		// and a batch resent to the other node is still seen as duplicates
		const resent = await other.applyEvents(
			task.id,
			events([{ type: 'output', step: 0, lines: [{ n: 3, text: 'three' }] }])
		);
		expect(resent.duplicates).toBe(1);
		const [execution] = await store.listExecutions(task.id);
		expect((await store.readLogLines(execution!.id)).map((l) => [l.n, l.text])).toEqual([
			[1, 'one'],
			[2, 'two'],
			[3, 'three'],
			[4, 'four']
		]);
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
		const output = published.filter((e) => e.type === 'tool.lines').flatMap((e) => e.data.lines);
		expect(output.map((line) => line.partial ?? false)).toEqual([true, false, false]);
		expect((await store.readLogOutline(execution.id)).annotations).toMatchObject([
			{ line: 3, level: 'error' }
		]);
	});

	describe('streaming what a batch stored', () => {
		const lineEvents = () => published.filter((e): e is DomainEvent<'tool.lines'> => e.type === 'tool.lines');
		/** the numbers of the lines each `tool.lines` event carried */
		const numbersPerEvent = () => lineEvents().map((e) => e.data.lines.map((line) => line.line));
		const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

		it('publishes a batch of more than MAX_LINES_PER_EVENT lines as several events, every stored line once, in order', async () => {
			const { task } = await service.createTask({ name: 't' });
			const count = 2 * MAX_LINES_PER_EVENT + 500;
			const lines = range(1, count).map((n) => ({ n, text: `line ${n}` }));
			await service.applyEvents(
				task.id,
				events([
					{ type: 'tool.start', step: 0, name: 's' },
					{ type: 'output', step: 0, lines }
				])
			);
			const [execution] = await store.listExecutions(task.id);
			expect(numbersPerEvent()).toEqual([
				range(1, MAX_LINES_PER_EVENT),
				range(MAX_LINES_PER_EVENT + 1, 2 * MAX_LINES_PER_EVENT),
				range(2 * MAX_LINES_PER_EVENT + 1, count)
			]);
			const streamed = lineEvents().flatMap((e) => e.data.lines.map((line) => [line.line, line.output]));
			expect(streamed).toEqual(
				(await store.readLogLines(execution!.id, { limit: count })).map((l) => [l.n, l.text])
			);
			expect(lineEvents().every((e) => e.data.execution_id === execution!.id)).toBe(true);
		});

		it('keeps each event within MAX_EVENT_TEXT characters', async () => {
			const { task } = await service.createTask({ name: 't' });
			// 60,000 characters each: four fit in an event, a fifth would pass the limit
			const lines = range(1, 10).map((n) => ({ n, text: String(n % 10).repeat(60_000) }));
			await service.applyEvents(
				task.id,
				events([
					{ type: 'tool.start', step: 0, name: 's' },
					{ type: 'output', step: 0, lines }
				])
			);
			expect(numbersPerEvent()).toEqual([range(1, 4), range(5, 8), range(9, 10)]);
			for (const event of lineEvents()) {
				const chars = event.data.lines.reduce((sum, line) => sum + line.output.length, 0);
				expect(chars).toBeLessThanOrEqual(MAX_EVENT_TEXT);
			}
		});

		it('publishes none of the lines it already stored when a batch is sent again, only the new ones', async () => {
			const { task } = await service.createTask({ name: 't' });
			const out = (from: number, to: number) => ({
				type: 'output' as const,
				step: 0,
				lines: range(from, to).map((n) => ({ n, text: `line ${n}` }))
			});
			await service.applyEvents(task.id, events([{ type: 'tool.start', step: 0, name: 's' }, out(1, 3)]));
			expect(numbersPerEvent()).toEqual([[1, 2, 3]]);
			published.length = 0;
			// the producer did not hear the answer and sends lines 1..3 again with two more
			const again = await service.applyEvents(task.id, events([out(1, 5)]));
			expect(again).toMatchObject({ duplicates: 3, line_counts: { 0: 5 } });
			expect(numbersPerEvent()).toEqual([[4, 5]]);
			published.length = 0;
			expect(await service.applyEvents(task.id, events([out(1, 5)]))).toMatchObject({ duplicates: 5 });
			expect(lineEvents()).toEqual([]);
		});
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

	describe('secrets, limits and silence', () => {
		const lines = async (taskId: string) => {
			const [execution] = await store.listExecutions(taskId);
			return store.readLogLines(execution.id, { limit: 1000 });
		};

		it('hands on to the other nodes a value the tool’s end closed, before it answers', async () => {
			const { registry, valuesOf } = memoryMaskRegistry();
			const a = new IngestService({ store, bus, logger, maskRegistry: registry });
			const b = new IngestService({ store, bus, logger, maskRegistry: registry });
			const { task } = await a.createTask({ name: 'spread' });
			await a.applyEvents(
				task.id,
				events([
					{ type: 'tool.start', step: 0, name: 's' },
					{ type: 'output', step: 0, lines: [{ text: '::add-mask::s3cr3t-value', partial: true }] }
				])
			);
			// the piece is stored as it came; the tool's end makes it a line, and the value with it
			await a.applyEvents(task.id, events([{ type: 'tool.end', step: 0, exit_code: 0 }]));
			expect(valuesOf(task.id)).toEqual(['s3cr3t-value']);
			await b.applyEvents(
				task.id,
				events([
					{ type: 'tool.start', step: 1, name: 't' },
					{ type: 'output', step: 1, lines: [{ text: 'token is s3cr3t-value' }] }
				])
			);
			const second = (await store.listExecutions(task.id)).find((e) => e.step === 1)!;
			const stored = await store.readLogLines(second.id, { limit: 10 });
			expect(stored.map((l) => l.text)).toEqual(['token is ***']);
		});

		it('refuses a tool’s end whose closed value cannot reach the other nodes, and takes it again once it can', async () => {
			const { registry, state, valuesOf } = memoryMaskRegistry();
			const node = new IngestService({ store, bus, logger, maskRegistry: registry });
			const { task } = await node.createTask({ name: 'spread' });
			await node.applyEvents(
				task.id,
				events([
					{ type: 'tool.start', step: 0, name: 's' },
					{ type: 'output', step: 0, lines: [{ text: '::add-mask::s3cr3t-value', partial: true }] }
				])
			);
			state.addsDown = true;
			const end = events([{ type: 'tool.end', step: 0, exit_code: 0 }]);
			await expect(node.applyEvents(task.id, end)).rejects.toSatisfy(
				(err) => isIngestError(err) && err.status === 503 && err.code === 'masks_unavailable'
			);
			// the tool did not end: the producer's resent end is taken, not ignored
			expect((await store.listExecutions(task.id))[0]!.status).toBe('running');
			state.addsDown = false;
			await node.applyEvents(task.id, end);
			expect((await store.listExecutions(task.id))[0]!.status).toBe('succeeded');
			expect(valuesOf(task.id)).toEqual(['s3cr3t-value']);
		});

		it('masks the server secrets and ::add-mask:: values in output and fields, split pieces too', async () => {
			const masked = new IngestService({ store, bus, logger, secrets: ['server-secret-1'] });
			const { task } = await masked.createTask({ name: 'run with server-secret-1' });
			expect(task.name).toBe('run with ***');
			await masked.applyEvents(
				task.id,
				events([
					{ type: 'tool.start', step: 0, name: 's', args: ['--token', 'server-secret-1'] },
					{
						type: 'output',
						step: 0,
						lines: [
							{ text: '::add-mask::added-secret-2' },
							{ text: 'value: added-sec', partial: true },
							{ text: 'ret-2 done' },
							{ text: 'encoded ' + encodeURIComponent('added-secret-2') }
						]
					},
					{ type: 'progress', message: 'deploying added-secret-2' }
				])
			);
			const stored = await lines(task.id);
			expect(stored.map((l) => l.n)).toEqual([1, 2, 3, 4]);
			expect(formatLines(stored, 'text')).toBe('::add-mask::***\nvalue: *** done\nencoded ***\n');
			const everything = JSON.stringify([
				published,
				await store.listExecutions(task.id),
				await store.getTask(task.id)
			]);
			expect(everything).not.toMatch(/server-secret-1|added-secret-2|added-sec/);
		});

		it('keeps output up to the limit, counts the rest on the execution and marks both ends', async () => {
			const capped = new IngestService({
				store,
				bus,
				logger,
				outputLimit: { maxBytes: 1_000_000, maxLines: 3 }
			});
			const { task } = await capped.createTask({ name: 't' });
			const out = (from: number, count: number) => ({
				type: 'output' as const,
				step: 0,
				lines: Array.from({ length: count }, (_, i) => ({ n: from + i, text: `l${from + i}` }))
			});
			await capped.applyEvents(task.id, events([{ type: 'tool.start', step: 0, name: 's' }, out(1, 5)]));
			const next = await capped.applyEvents(task.id, events([out(6, 4)]));
			expect(next.duplicates).toBe(0);
			await capped.applyEvents(task.id, events([{ type: 'tool.end', step: 0, exit_code: 0 }]));
			const texts = (await lines(task.id)).map((l) => l.text);
			expect(texts.slice(0, 3)).toEqual(['l1', 'l2', 'l3']);
			expect(texts[3]).toMatch(/^::warning::Output limit reached/);
			expect(texts[4]).toMatch(/^::warning::Output limit: 6 more lines/);
			const [execution] = await store.listExecutions(task.id);
			expect(execution).toMatchObject({ status: 'succeeded', output_dropped: { lines: 6, bytes: 18 } });
		});

		it('fails a running task whose producer goes silent, and keeps one that sends heartbeats', async () => {
			const watched = new IngestService({ store, bus, logger, silenceMs: 300 });
			const quiet = await watched.createTask({ name: 'quiet' });
			const beating = await watched.createTask({ name: 'beating' });
			const started = Date.now();
			while (Date.now() - started < 900) {
				await watched.applyEvents(beating.task.id, events([{ type: 'heartbeat' }]));
				await new Promise((resolve) => setTimeout(resolve, 50));
			}
			expect(await store.getTask(quiet.task.id)).toMatchObject({
				status: 'failed',
				error: 'lost contact: the producer reported nothing for 0.3 s'
			});
			expect((await store.getTask(beating.task.id))?.status).toBe('running');
			watched.close();
		});

		it('keeps a task whose producer went on at another node, and ends it once when it goes silent there', async () => {
			const silenceMs = 1_000;
			const first = new IngestService({ store, bus, logger, silenceMs });
			const second = new IngestService({ store, bus, logger, silenceMs });
			const { task } = await first.createTask({ name: 'moved' });
			await first.applyEvents(task.id, events([{ type: 'heartbeat' }]));
			// a proxy sends the producer's requests to the other node from now on: the first one
			// hears nothing more for three times the silence allowed
			const moved = Date.now();
			while (Date.now() - moved < 3 * silenceMs) {
				await second.applyEvents(task.id, events([{ type: 'heartbeat' }]));
				await new Promise((resolve) => setTimeout(resolve, 50));
			}
			expect((await store.getTask(task.id))?.status).toBe('running');
			// then the producer goes silent
			while ((await store.getTask(task.id))?.status === 'running')
				await new Promise((resolve) => setTimeout(resolve, 20));
			expect(await store.getTask(task.id)).toMatchObject({
				status: 'failed',
				error: expect.stringMatching(/^lost contact/)
			});
			// both nodes watched it: give the other one time for several sweeps of its own
			await new Promise((resolve) => setTimeout(resolve, silenceMs));
			expect(published.filter((e) => e.type === 'task.failed' && e.data.task_id === task.id)).toHaveLength(1);
			first.close();
			second.close();
		});

		it('fails a task whose node went away together with its producer, from another node', async () => {
			const gone = new IngestService({ store, bus, logger, silenceMs: 300 });
			const { task } = await gone.createTask({ name: 'orphan' });
			await gone.applyEvents(task.id, events([{ type: 'heartbeat' }]));
			gone.close();
			// a node that never heard of the task
			const other = new IngestService({ store, bus, logger, silenceMs: 300 });
			while ((await store.getTask(task.id))?.status === 'running')
				await new Promise((resolve) => setTimeout(resolve, 20));
			expect(await store.getTask(task.id)).toMatchObject({
				status: 'failed',
				error: 'lost contact: the producer reported nothing for 0.3 s'
			});
			other.close();
		});

		it('asks the producer to cancel in its next answer, then takes its cancelled status', async () => {
			const { task } = await service.createTask({ name: 't', message: 'building' });
			const requested = await service.requestCancel(task.id);
			expect(requested).toMatchObject({ status: 'running', message: CANCEL_REQUESTED_MESSAGE });
			const answer = await service.applyEvents(task.id, events([{ type: 'heartbeat' }]));
			expect(answer.cancel_requested).toBe(true);
			const done = await service.applyEvents(task.id, events([{ type: 'status', status: 'cancelled' }]));
			expect(done.task).toMatchObject({ status: 'cancelled', message: 'building' });
			expect(await service.requestCancel(task.id)).toBeNull();
		});

		it('tells the producer of a cancel asked of another node, and ends without that node’s message', async () => {
			const other = new IngestService({ store, bus, logger });
			const { task } = await service.createTask({ name: 't', message: 'building' });
			expect((await other.applyEvents(task.id, events([{ type: 'heartbeat' }]))).cancel_requested).toBe(
				false
			);
			await service.requestCancel(task.id);
			// the producer's requests reach the other node
			const answer = await other.applyEvents(task.id, events([{ type: 'heartbeat' }]));
			expect(answer.cancel_requested).toBe(true);
			const done = await other.applyEvents(task.id, events([{ type: 'status', status: 'cancelled' }]));
			expect(done.task).toMatchObject({ status: 'cancelled', message: null });
			expect(done.cancel_requested).toBe(false);
		});

		it('keeps the message of a cancel asked of two nodes, and ends without "cancel requested"', async () => {
			const other = new IngestService({ store, bus, logger });
			const { task } = await service.createTask({ name: 't', message: 'building' });
			await service.requestCancel(task.id);
			const again = await other.requestCancel(task.id);
			expect(again).toMatchObject({ status: 'running', message: CANCEL_REQUESTED_MESSAGE });
			const done = await other.applyEvents(task.id, events([{ type: 'status', status: 'cancelled' }]));
			expect(done.task).toMatchObject({ status: 'cancelled', message: null });
		});

		it('ends a task once when another node ends it while a silent producer’s task is being ended', async () => {
			const gate = gatedExecutions(store);
			const sweeping = new IngestService({ store: gate.store, bus, logger, silenceMs: 200 });
			const { task } = await service.createTask({ name: 't' });
			// the other node has claimed the silent task and reads its tools when the producer,
			// back at this node, reports the task cancelled
			await gate.reached;
			await service.applyEvents(task.id, events([{ type: 'status', status: 'cancelled' }]));
			gate.open();
			await gate.passed;
			await sweepingSettled(sweeping, task.id);
			expect(await store.getTask(task.id)).toMatchObject({ status: 'cancelled' });
			expect(published.filter((e) => e.type === 'task.failed')).toHaveLength(0);
			sweeping.close();
		});

		it('fails a node’s other silent tasks, in this sweep and later ones, while a request for one hangs there', async () => {
			// the sweeping node's first read of a task's tools (the stuck task's request) never
			// answers until the end: that task's requests on this node wait behind it
			const gate = gatedExecutions(store);
			const sweeping = new IngestService({ store: gate.store, bus, logger, silenceMs: 200 });
			const ended = async (taskId: string) => (await store.getTask(taskId))?.status !== 'running';
			try {
				// the stuck task is the longest silent: the first a sweep hands on
				const stuck = await service.createTask({ name: 'stuck' });
				await nextMillisecond();
				const quiet = await service.createTask({ name: 'quiet' });
				const hung = sweeping.applyEvents(stuck.task.id, events([{ type: 'heartbeat' }]));
				await gate.reached;
				expect(await within(10_000, () => ended(quiet.task.id))).toBe(true);
				expect(await store.getTask(quiet.task.id)).toMatchObject({
					status: 'failed',
					error: 'lost contact: the producer reported nothing for 0.2 s'
				});
				const later = await service.createTask({ name: 'later' });
				expect(await within(10_000, () => ended(later.task.id))).toBe(true);
				expect((await store.getTask(stuck.task.id))?.status).toBe('running');
				gate.open();
				expect((await hung).task.status).toBe('running');
			} finally {
				gate.open();
				sweeping.close();
			}
		});

		it('learns of a cancel asked of another node from the task row a request reads anyway', async () => {
			const recorded = recordedCalls(store);
			const other = new IngestService({ store: recorded.store, bus, logger });
			const { task } = await service.createTask({ name: 't', message: 'building' });
			const heartbeat = async () => {
				recorded.calls.length = 0;
				const answer = await other.applyEvents(task.id, events([{ type: 'heartbeat' }]));
				// the task and its tools, as before a cancel was kept with the task
				expect(recorded.calls).toHaveLength(2);
				expect(recorded.calls).toContain('listExecutions');
				return answer.cancel_requested;
			};
			expect(await heartbeat()).toBe(false);
			await service.requestCancel(task.id);
			expect(await heartbeat()).toBe(true);
		});

		it('answers a cancel of a task another node ended meanwhile as ended, changing nothing', async () => {
			const gate = gatedExecutions(store);
			const asking = new IngestService({ store: gate.store, bus, logger });
			const { task } = await service.createTask({ name: 't', message: 'building' });
			const cancelled = asking.requestCancel(task.id);
			await gate.reached;
			await service.applyEvents(task.id, events([{ type: 'status', status: 'succeeded' }]));
			gate.open();
			expect(await cancelled).toBeNull();
			expect(await store.getTask(task.id)).toMatchObject({ status: 'succeeded', message: 'building' });
			expect(published.filter((e) => e.type === 'task.completed')).toHaveLength(1);
		});

		it('cancels without the producer when it does not confirm in time', async () => {
			const impatient = new IngestService({ store, bus, logger, cancelTimeoutMs: 200 });
			const { task } = await impatient.createTask({ name: 't' });
			await impatient.requestCancel(task.id);
			while ((await store.getTask(task.id))?.status === 'running')
				await new Promise((resolve) => setTimeout(resolve, 20));
			expect(await store.getTask(task.id)).toMatchObject({
				status: 'cancelled',
				error: expect.stringMatching(/did not confirm within 0.2 s/)
			});
			impatient.close();
		});

		describe('output that comes after its task ended', () => {
			const SECRET = 'hunter2-very-secret';
			const late = (n: number) =>
				events([
					{ type: 'output', step: 0, lines: [{ n, text: `late pw=${SECRET}` }] },
					{ type: 'tool.end', step: 0, exit_code: 1, error: `failed with pw=${SECRET}` }
				]);
			/** a running task with one tool whose output announced SECRET and showed it masked */
			const announced = async (producer: IngestService) => {
				const { task } = await producer.createTask({ name: 't' });
				await producer.applyEvents(
					task.id,
					events([
						{ type: 'tool.start', step: 0, name: 's' },
						{
							type: 'output',
							step: 0,
							lines: [
								{ n: 1, text: `::add-mask::${SECRET}` },
								{ n: 2, text: `pw=${SECRET}` }
							]
						}
					])
				);
				expect((await lines(task.id)).map((l) => l.text)).toEqual(['::add-mask::***', 'pw=***']);
				return task;
			};
			/** nothing stored or published holds SECRET, and the tool's log is what it was when the task ended */
			const expectNothingLeaked = async (taskId: string) => {
				expect((await lines(taskId)).map((l) => l.text)).toEqual(['::add-mask::***', 'pw=***']);
				const everything = JSON.stringify([
					published,
					await store.listExecutions(taskId),
					await store.getTask(taskId)
				]);
				expect(everything).not.toContain(SECRET);
			};

			it('stores none of it once the cancel timeout ended the task, and answers that it was ignored', async () => {
				const impatient = new IngestService({ store, bus, logger, cancelTimeoutMs: 100 });
				const task = await announced(impatient);
				await impatient.requestCancel(task.id);
				expect(await within(5_000, async () => (await store.getTask(task.id))?.status === 'cancelled')).toBe(
					true
				);
				// the producer did not hear of the cancel in time and reports on
				const answer = await impatient.applyEvents(task.id, late(3));
				expect(answer).toMatchObject({
					applied: 0,
					ignored: 2,
					task: { status: 'cancelled' },
					line_counts: { 0: 2 },
					cancel_requested: false
				});
				await expectNothingLeaked(task.id);
				impatient.close();
			});

			it('stores none of it after the producer’s own end, in the same request or a later one, on any node', async () => {
				const task = await announced(service);
				const same = await service.applyEvents(
					task.id,
					events([{ type: 'status', status: 'succeeded' }, ...late(3)])
				);
				expect(same).toMatchObject({ applied: 1, ignored: 2, task: { status: 'succeeded' } });
				expect((await service.applyEvents(task.id, late(3))).ignored).toBe(2);
				// a node that never heard the ::add-mask:: line takes the producer's resent backlog
				const other = new IngestService({ store, bus, logger });
				expect(await other.applyEvents(task.id, late(3))).toMatchObject({
					applied: 0,
					ignored: 2,
					line_counts: { 0: 2 }
				});
				await expectNothingLeaked(task.id);
				other.close();
			});
		});

		it('fails the task with a 507 when the data folder is full', async () => {
			const starved = new IngestService({ store: failingStore(store, 'appendLogLines'), bus, logger });
			const { task } = await starved.createTask({ name: 't' });
			const attempt = starved.applyEvents(
				task.id,
				events([
					{ type: 'tool.start', step: 0, name: 's' },
					{ type: 'output', step: 0, lines: [{ text: 'x' }] }
				])
			);
			await expect(attempt).rejects.toSatisfy(
				(err) => isIngestError(err) && err.status === 507 && /data folder is full/.test(err.message)
			);
			expect(await store.getTask(task.id)).toMatchObject({
				status: 'failed',
				error: expect.stringMatching(/^the data folder is full/)
			});
		});
	});

	/** a producer on a store whose `method` fails while `outage.away`, its task running a tool that sent `lines` */
	async function startedWithOutage(
		method: keyof Store,
		lines: Extract<IngestEventInput, { type: 'output' }>['lines'],
		secrets: string[] = []
	) {
		const { store: flaky, outage } = storeWithOutage(store, method);
		const producer = new IngestService({ store: flaky, bus, logger, secrets });
		const { task } = await producer.createTask({ name: 't', status: 'running' });
		await producer.applyEvents(
			task.id,
			events([
				{ type: 'tool.start', step: 0, name: 's' },
				{ type: 'output', step: 0, lines }
			])
		);
		return { producer, task, outage };
	}

	it('stores lines sent again after the database could not be reached, not counting them as duplicates', async () => {
		const { producer, task, outage } = await startedWithOutage('appendLogLines', [{ n: 1, text: 'one' }]);
		const batch = events([
			{
				type: 'output',
				step: 0,
				lines: [
					{ n: 2, text: 'two' },
					{ n: 3, text: 'three' }
				]
			}
		]);
		outage.away = true;
		await expect(producer.applyEvents(task.id, batch)).rejects.toThrow(/cannot be reached/);
		outage.away = false;
		// the producer got a retryable error and sends the same batch again
		const again = await producer.applyEvents(task.id, batch);
		expect(again).toMatchObject({ duplicates: 0, line_counts: { 0: 3 } });
		const [execution] = await store.listExecutions(task.id);
		expect((await store.readLogLines(execution.id)).map((line) => [line.n, line.text])).toEqual([
			[1, 'one'],
			[2, 'two'],
			[3, 'three']
		]);
		producer.close();
	});

	it('closes the open tools of a task before it ends it, so a status resent after the database went away still closes them', async () => {
		const { producer, task, outage } = await startedWithOutage('updateExecution', [{ n: 1, text: 'one' }]);
		const end = events([{ type: 'status', status: 'succeeded' }]);
		outage.away = true;
		await expect(producer.applyEvents(task.id, end)).rejects.toThrow(/cannot be reached/);
		outage.away = false;
		expect(await producer.applyEvents(task.id, end)).toMatchObject({ task: { status: 'succeeded' } });
		const [execution] = await store.listExecutions(task.id);
		expect(execution).toMatchObject({ status: 'interrupted', line_count: 1 });
		producer.close();
	});

	it('keeps what its masker held back when a batch could not be stored, so a secret split across it is masked once sent again', async () => {
		// the line's first piece ends with the secret's start: held back until the rest shows
		const { producer, task, outage } = await startedWithOutage(
			'appendLogLines',
			[{ n: 1, text: 'token=hu', partial: true }],
			['hunter22-secret']
		);
		const rest = events([{ type: 'output', step: 0, lines: [{ n: 2, text: 'nter22-secret done' }] }]);
		outage.away = true;
		await expect(producer.applyEvents(task.id, rest)).rejects.toThrow(/cannot be reached/);
		outage.away = false;
		expect(await producer.applyEvents(task.id, rest)).toMatchObject({ duplicates: 0, line_counts: { 0: 2 } });
		const [execution] = await store.listExecutions(task.id);
		const text = (await store.readLogLines(execution.id)).map((line) => line.text).join('');
		expect(text).toBe('token=*** done');
		producer.close();
	});
});
