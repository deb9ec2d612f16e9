import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MAX_EVENT_TEXT, MAX_LINES_PER_EVENT, type AnyDomainEvent, type DomainEvent } from '../../protocol';
import { MemoryBus } from '../bus/memory-bus';
import { openSqliteStore } from '../store/sqlite-store';
import type { Store } from '../store/types';
import { MaskSet } from '../masking/mask-set';
import { publish } from './emit';
import { LogPipeline, type LogPipelineOptions } from './log-pipeline';
import type { WorkflowCommand } from './workflow-commands';
import { createStandaloneTask, createTestExecution } from '../store/test-records';
import { failingStore } from '../store/test-failing-store';
import { StoreUnavailableError } from '../store/errors';

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

const lineEvents = () =>
	events.filter((event): event is DomainEvent<'tool.lines'> => event.type === 'tool.lines');
/** every line streamed so far, in the order published */
const streamed = () => lineEvents().flatMap((event) => event.data.lines);
/** the numbers of the lines each `tool.lines` event carried */
const numbersPerEvent = () => lineEvents().map((event) => event.data.lines.map((line) => line.line));
/** lets the microtasks queued so far run: the pipeline publishes the lines of one go in one */
const microtask = () => Promise.resolve();
/** `from`..`to` */
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('LogPipeline', () => {
	it('numbers lines across both streams in arrival order and streams them with their execution', async () => {
		const log = pipeline();
		log.push('stdout', 'one');
		log.push('stderr', 'two');
		log.push('stdout', 'three');
		await microtask();
		expect(lineEvents().map((event) => event.data)).toEqual([
			{
				...ids,
				lines: [
					{ line: 1, output: 'one', is_stderr: false, timestamp: expect.any(String) },
					{ line: 2, output: 'two', is_stderr: true, timestamp: expect.any(String) },
					{ line: 3, output: 'three', is_stderr: false, timestamp: expect.any(String) }
				]
			}
		]);
		expect(log.lineCount).toBe(3);
		await log.close();
	});

	it('streams the lines pushed in one go as one event once that code is done, and a later line as the next', async () => {
		const log = pipeline();
		for (let i = 1; i <= 5; i++) log.push(i % 2 ? 'stdout' : 'stderr', `line ${i}`);
		// nothing leaves while the read that pushed them is still being handled
		expect(lineEvents()).toEqual([]);
		await microtask();
		expect(numbersPerEvent()).toEqual([[1, 2, 3, 4, 5]]);
		expect(streamed().map((line) => line.output)).toEqual(range(1, 5).map((i) => `line ${i}`));
		log.push('stdout', 'line 6');
		await microtask();
		expect(numbersPerEvent()).toEqual([[1, 2, 3, 4, 5], [6]]);
		await log.close();
		expect(numbersPerEvent()).toEqual([[1, 2, 3, 4, 5], [6]]);
	});

	it('splits what arrives in one go at MAX_LINES_PER_EVENT lines and MAX_EVENT_TEXT characters; a longer line goes alone', async () => {
		const log = pipeline();
		const many = 2 * MAX_LINES_PER_EVENT + 5;
		for (let i = 1; i <= many; i++) log.push('stdout', `line ${i}`);
		await microtask();
		expect(lineEvents().map((event) => event.data.lines.length)).toEqual([
			MAX_LINES_PER_EVENT,
			MAX_LINES_PER_EVENT,
			5
		]);
		expect(streamed().map((line) => line.output)).toEqual(range(1, many).map((i) => `line ${i}`));

		// five lines of 100,000 characters: two fit in an event, a third would pass the limit
		events.length = 0;
		for (let i = 1; i <= 5; i++) log.push('stdout', String(i).repeat(100_000));
		await microtask();
		expect(numbersPerEvent()).toEqual([[many + 1, many + 2], [many + 3, many + 4], [many + 5]]);

		events.length = 0;
		const long = 'x'.repeat(MAX_EVENT_TEXT + 1);
		log.push('stdout', 'before');
		log.push('stdout', long);
		log.push('stdout', 'after');
		await microtask();
		expect(numbersPerEvent()).toEqual([[many + 6], [many + 7], [many + 8]]);
		expect(lineEvents()[1]!.data.lines[0]!.output).toBe(long);
		await log.close();
	});

	it("streams the lines before a workflow command, the command's own line included, before what the command publishes", async () => {
		const log = pipeline({
			// as the task runner's ::progress handling does (task.progress), but at once
			onCommand: (command) => {
				if (command.kind !== 'progress') return;
				const { task_id, run_id } = ids;
				publish(bus, 'task.progress', { task_id, run_id, progress: command.value, message: command.message });
			}
		});
		log.push('stdout', 'one');
		log.push('stderr', 'two');
		log.push('stdout', '::progress value=50::half way');
		log.push('stdout', 'three');
		await microtask();
		const order = events.map((event) =>
			event.type === 'tool.lines'
				? `lines ${event.data.lines.map((line) => line.line).join(',')}`
				: `${event.type} ${(event.data as { progress?: number }).progress}`
		);
		expect(order).toEqual(['lines 1,2,3', 'task.progress 50', 'lines 4']);
		await log.close();
	});

	it('streams every line it still holds by the time close() returns, the held-back masking tail included, each once', async () => {
		const log = pipeline({ masks: new MaskSet(['held-secret-5']) });
		for (let i = 1; i <= 3; i++) log.push('stdout', `line ${i}`);
		// the end of this piece could begin the secret: the masker holds it back until it knows
		log.push('stdout', 'line 4 held-sec', true);
		const closing = log.close();
		const expected = [
			[1, 'line 1'],
			[2, 'line 2'],
			[3, 'line 3'],
			[4, 'line 4 '],
			[5, 'held-sec']
		];
		// already out when close() returns, not left to the queued microtask (which awaiting close()
		// alone would let run, at close's first await)
		expect(streamed().map((line) => [line.line, line.output])).toEqual(expected);
		await closing;
		// and nothing is streamed twice after it
		await new Promise((resolve) => setTimeout(resolve, 0));
		expect(streamed().map((line) => [line.line, line.output])).toEqual(expected);
		expect((await store.readLogLines(ids.execution_id)).map((line) => [line.n, line.text])).toEqual(expected);
	});

	it('stores every line with the number and timestamp it was streamed with once closed', async () => {
		const log = pipeline();
		for (let i = 1; i <= 1234; i++) log.push(i % 3 ? 'stdout' : 'stderr', `line ${i}`);
		await log.close();
		const stored = await store.readLogLines(ids.execution_id, { limit: 5000 });
		expect(stored).toHaveLength(1234);
		expect(stored.map((line) => ({ n: line.n, text: line.text, stream: line.stream, ts: line.ts }))).toEqual(
			streamed().map((line) => ({
				n: line.line,
				text: line.output,
				stream: line.is_stderr ? 'stderr' : 'stdout',
				ts: line.timestamp
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

	it('writes the lines of pipelines that began waiting at different times on the same tick', async () => {
		const other = (await createTestExecution(store, ids.task_id, { step: 1 })).id;
		const appends: Array<{ id: string; at: number }> = [];
		const recording: Store = Object.create(store, {
			appendLogLines: { value: async (id: string) => void appends.push({ id, at: Date.now() }) }
		});
		vi.useFakeTimers({ now: 1_000_010 });
		try {
			const first = pipeline({ store: recording, flushIntervalMs: 50 });
			const second = pipeline({ store: recording, flushIntervalMs: 50, execution_id: other });
			first.push('stdout', 'early');
			await vi.advanceTimersByTimeAsync(15);
			second.push('stdout', 'later');
			await vi.advanceTimersByTimeAsync(50);
			// both within their 50 ms, on the clock's next multiple of it
			expect(appends).toEqual([
				{ id: ids.execution_id, at: 1_000_050 },
				{ id: other, at: 1_000_050 }
			]);
		} finally {
			vi.useRealTimers();
		}
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
		await log.close();
		expect(streamed().map((line) => line.output)).toEqual(['::progress value=40::halfway there', 'plain']);
	});

	it('ignores lines pushed after close', async () => {
		const log = pipeline();
		await log.close();
		log.push('stdout', 'late');
		await microtask();
		expect(lineEvents()).toEqual([]);
	});

	it('masks secrets before a line is streamed or stored, also ones announced on the way', async () => {
		const log = pipeline({ masks: new MaskSet(['env-secret-1']) });
		log.push('stdout', 'token env-secret-1');
		log.push('stdout', '::add-mask::later-secret-2');
		log.push('stderr', 'json {"k":"later-secret-2"} b64 ' + Buffer.from('later-secret-2').toString('base64'));
		await log.close();
		const texts = (await store.readLogLines(ids.execution_id)).map((line) => line.text);
		// the last base64 characters also carry the padding, not only the secret
		expect(texts).toEqual([
			'token ***',
			'::add-mask::***',
			expect.stringMatching(/^json \{"k":"\*\*\*"\} b64 \*\*\*.{0,3}$/)
		]);
		expect(streamed().map((line) => line.output)).toEqual(texts);
	});

	it('masks a secret split across the pieces of an overlong line', async () => {
		const log = pipeline({ masks: new MaskSet(['split-secret-3']) });
		log.push('stdout', 'x'.repeat(10) + 'split-', true);
		log.push('stdout', 'secret-3 tail', false);
		await log.close();
		const lines = await store.readLogLines(ids.execution_id);
		expect(lines.map((line) => line.text).join('')).toBe('x'.repeat(10) + '*** tail');
		expect(JSON.stringify(lines)).not.toContain('split-');
	});

	it('keeps output up to its limit, then counts it and says so in two marker lines', async () => {
		const log = pipeline({ outputLimit: { maxBytes: 1_000, maxLines: 5 } });
		for (let i = 1; i <= 8; i++) log.push('stdout', `line ${i}`);
		await log.close();
		const lines = await store.readLogLines(ids.execution_id);
		expect(lines.map((line) => line.text)).toEqual([
			'line 1',
			'line 2',
			'line 3',
			'line 4',
			'line 5',
			expect.stringMatching(
				/^::warning::Output limit reached: .*1,000 bytes or 5 lines.*counted but not stored/
			),
			expect.stringMatching(/^::warning::Output limit: 3 more lines \(21 bytes\)/)
		]);
		expect(lines.at(-1)!.stream).toBe('stderr');
		expect(log.dropped).toEqual({ lines: 3, bytes: 21 });
		expect(streamed().map((line) => line.line)).toEqual(range(1, 7));
	});

	it('still applies ::progress past the output limit', async () => {
		const commands: WorkflowCommand[] = [];
		const log = pipeline({
			outputLimit: { maxBytes: 1_000, maxLines: 1 },
			onCommand: (c) => commands.push(c)
		});
		log.push('stdout', 'kept');
		log.push('stdout', '::progress value=70::late');
		expect(commands).toContainEqual({ kind: 'progress', value: 70, message: 'late' });
		await log.close();
		expect(streamed().map((line) => line.output)).not.toContain('::progress value=70::late');
	});

	it('reports a full disk at once and stores nothing more', async () => {
		const failures: string[] = [];
		const log = pipeline({
			store: failingStore(store, 'appendLogLines'),
			onStoreFailure: (message) => failures.push(message)
		});
		log.push('stdout', 'a');
		await new Promise((resolve) => setTimeout(resolve, 120));
		log.push('stdout', 'b');
		await log.close();
		expect(failures).toEqual([expect.stringMatching(/^the data folder is full.*database or disk is full/)]);
	});

	it('holds its reader back while a slow store is behind, then lets it go on', async () => {
		let release!: () => void;
		const gate = new Promise<void>((resolve) => (release = resolve));
		const slow: Store = Object.create(store, {
			appendLogLines: {
				value: async (id: string, lines: never[]) => (await gate, store.appendLogLines(id, lines))
			}
		});
		const log = pipeline({ store: slow, maxBatchBytes: 100, flushIntervalMs: 10_000 });
		log.push('stdout', 'x'.repeat(150));
		await new Promise((resolve) => setTimeout(resolve, 10));
		expect(log.pressure).toBeNull();
		log.push('stdout', 'y'.repeat(150));
		const pressure = log.pressure;
		expect(pressure).not.toBeNull();
		release();
		await pressure;
		await log.close();
		expect((await store.getExecution(ids.execution_id))!.line_count).toBe(2);
	});

	it("takes what waited behind a slow write in one append, up to the store's preferred size, and holds the reader only then", async () => {
		let release!: () => void;
		const gate = new Promise<void>((resolve) => (release = resolve));
		const batches: number[] = [];
		const slow: Store = Object.create(store, {
			logBatch: { value: { lines: 1000, bytes: 1024 * 1024 } },
			appendLogLines: {
				value: async (id: string, lines: never[]) => {
					batches.push(lines.length);
					if (batches.length === 1) await gate;
					return store.appendLogLines(id, lines);
				}
			}
		});
		const log = pipeline({ store: slow, maxBatchLines: 100, flushIntervalMs: 10_000 });
		for (let i = 1; i <= 100; i++) log.push('stdout', `line ${i}`);
		await expect.poll(() => batches.length).toBe(1);
		for (let i = 101; i <= 1099; i++) log.push('stdout', `line ${i}`);
		expect(log.pressure).toBeNull();
		log.push('stdout', 'line 1100');
		const pressure = log.pressure;
		expect(pressure).not.toBeNull();
		release();
		await pressure;
		await log.close();
		expect(batches).toEqual([100, 1000]);
		expect((await store.readLogLines(ids.execution_id, { limit: 2000 })).map((line) => line.text)).toEqual(
			Array.from({ length: 1100 }, (_, i) => `line ${i + 1}`)
		);
	});

	it('writes a long backlog in order, whatever its length', async () => {
		const batches: number[] = [];
		let release!: () => void;
		const gate = new Promise<void>((resolve) => (release = resolve));
		const slow: Store = Object.create(store, {
			appendLogLines: {
				value: async (id: string, lines: never[]) => {
					batches.push(lines.length);
					await gate;
					return store.appendLogLines(id, lines);
				}
			}
		});
		// a reader that does not heed `pressure`: the backlog grows far past one write
		const log = pipeline({ store: slow, maxBatchLines: 7, flushIntervalMs: 10_000 });
		for (let i = 1; i <= 5000; i++) log.push(i % 4 ? 'stdout' : 'stderr', `line ${i}`);
		release();
		await log.close();
		expect(batches.reduce((a, b) => a + b, 0)).toBe(5000);
		expect(batches.every((size) => size <= 7)).toBe(true);
		const stored = await store.readLogLines(ids.execution_id, { limit: 10_000 });
		expect(stored.map((line) => line.text)).toEqual(Array.from({ length: 5000 }, (_, i) => `line ${i + 1}`));
	});

	describe('while the store cannot be reached', () => {
		/** a store whose appends fail as an unreachable PostgreSQL does until `back()` */
		function awayStore() {
			let away = true;
			let attempts = 0;
			const away_: Store = Object.create(store, {
				appendLogLines: {
					value: async (id: string, lines: never[]) => {
						attempts++;
						if (away) throw new StoreUnavailableError(new Error('connect ECONNREFUSED 127.0.0.1:5432'));
						return store.appendLogLines(id, lines);
					}
				}
			});
			return { store: away_, back: () => (away = false), attempts: () => attempts };
		}

		/** a pipeline on `db` that retries quickly and records what it reports as store failures */
		function onAway(db: Store, options: Partial<LogPipelineOptions> = {}) {
			const failures: string[] = [];
			const log = pipeline({
				store: db,
				flushIntervalMs: 5,
				retryMaxMs: 10,
				...options,
				onStoreFailure: (message) => failures.push(message)
			});
			return { log, failures };
		}

		it('keeps retrying past the usual attempts and stores every line in order once it is back', async () => {
			const db = awayStore();
			const { log, failures } = onAway(db.store);
			for (let i = 1; i <= 20; i++) log.push(i % 2 ? 'stdout' : 'stderr', `line ${i}`);
			const closed = log.close();
			await expect.poll(db.attempts).toBeGreaterThanOrEqual(6);
			db.back();
			await closed;
			expect(failures).toEqual([]);
			const stored = await store.readLogLines(ids.execution_id, { limit: 100 });
			expect(stored.map((line) => [line.n, line.text])).toEqual(
				Array.from({ length: 20 }, (_, i) => [i + 1, `line ${i + 1}`])
			);
		});

		it('lets the tool run on while it keeps lines, and writes the backlog in batches once the store is back', async () => {
			const db = awayStore();
			const batches: number[] = [];
			const counting: Store = Object.create(db.store, {
				appendLogLines: {
					value: (id: string, lines: never[]) => {
						batches.push(lines.length);
						return db.store.appendLogLines(id, lines);
					}
				}
			});
			const log = pipeline({ store: counting, maxBatchLines: 10, flushIntervalMs: 5, retryMaxMs: 10 });
			for (let i = 1; i <= 30; i++) log.push('stdout', `line ${i}`);
			await expect.poll(db.attempts).toBeGreaterThanOrEqual(3);
			// three batches' worth waits, yet the reader may go on: what is kept is bounded otherwise
			for (let i = 31; i <= 45; i++) log.push('stdout', `line ${i}`);
			expect(log.pressure).toBeNull();
			const failedAttempts = batches.length;
			db.back();
			await log.close();
			expect(batches.slice(failedAttempts).every((size) => size <= 10)).toBe(true);
			expect((await store.readLogLines(ids.execution_id, { limit: 100 })).map((line) => line.text)).toEqual(
				Array.from({ length: 45 }, (_, i) => `line ${i + 1}`)
			);
		});

		it('keeps no more than it may through an outage, says so once, and stores the kept lines once it is back', async () => {
			const db = awayStore();
			const { log, failures } = onAway(db.store, { storeOutage: { maxLines: 5 } });
			log.push('stdout', 'line 1');
			await expect.poll(db.attempts).toBeGreaterThanOrEqual(1);
			for (let i = 2; i <= 12; i++) log.push('stdout', `line ${i}`);
			expect(failures).toEqual([
				expect.stringMatching(
					/database could not be reached.*more meanwhile.*lines 1 to 5 are stored, later ones are not/
				)
			]);
			// every line still streams live
			await microtask();
			expect(streamed().map((line) => line.line)).toEqual(range(1, 12));
			const closed = log.close();
			await expect.poll(db.attempts).toBeGreaterThanOrEqual(4);
			db.back();
			await closed;
			expect(failures).toHaveLength(1);
			expect((await store.readLogLines(ids.execution_id)).map((line) => [line.n, line.text])).toEqual(
				Array.from({ length: 5 }, (_, i) => [i + 1, `line ${i + 1}`])
			);
		});

		it('gives up keeping lines when the outage lasts longer than it waits', async () => {
			const db = awayStore();
			const { log, failures } = onAway(db.store, { storeOutage: { maxMs: 50 } });
			log.push('stdout', 'kept');
			await expect
				.poll(() => failures)
				.toEqual([
					expect.stringMatching(
						/database could not be reached for [\d.]+ s, longer than a running task waits.*lines 1 to 1 are stored/
					)
				]);
			log.push('stdout', 'not kept');
			db.back();
			await log.close();
			expect((await store.readLogLines(ids.execution_id)).map((line) => line.text)).toEqual(['kept']);
		});

		it('stops waiting once the task is interrupted, and reports the lines it could not store', async () => {
			const db = awayStore();
			const { log, failures } = onAway(db.store, { retryMaxMs: 60_000 });
			log.push('stdout', 'never stored');
			const closed = log.close();
			await expect.poll(db.attempts).toBeGreaterThanOrEqual(1);
			log.stopWaitingForStore();
			await closed;
			expect(failures).toEqual([expect.stringMatching(/could not be stored.*database cannot be reached/)]);
			expect(await store.readLogLines(ids.execution_id)).toEqual([]);
		});
	});
});
