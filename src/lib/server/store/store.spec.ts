import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LogLine } from '../../protocol';
import { MIGRATIONS, migrate } from './migrations';
import { openSqliteStore } from './sqlite-store';
import { LOG_CHUNK_CHARS } from './log-pages';
import { createStandaloneTask, createTestExecution } from './test-records';
import type { NewTask, Store } from './types';
import { STORE_KINDS, useStoreBackend } from '../../../../tests/helpers/store-backends';
import pg from 'pg';
import { createLogger } from '../logger';
import { openPgStore } from './pg/pg-store';
import { PG_MIGRATIONS, migratePg } from './pg/pg-migrations';

const TS = '2024-01-01T00:00:00.000Z';

function lines(from: number, to: number, stream: LogLine['stream'] = 'stdout'): LogLine[] {
	const out: LogLine[] = [];
	for (let n = from; n <= to; n++) out.push({ n, stream, ts: TS, text: `line ${n}` });
	return out;
}

function newTask(overrides: Partial<NewTask> = {}): NewTask {
	return {
		run_id: null,
		key: 'build',
		name: 'Build',
		needs: [],
		weight: 1,
		optional: false,
		step_count: 1,
		...overrides
	};
}

async function collect(iterable: AsyncIterable<LogLine[]>): Promise<LogLine[][]> {
	const chunks: LogLine[][] = [];
	for await (const chunk of iterable) chunks.push(chunk);
	return chunks;
}

describe.each(STORE_KINDS)('%s store', (kind) => {
	const backend = useStoreBackend(kind);
	let store: Store;
	beforeEach(async () => {
		store = await backend.open();
	});
	afterEach(async () => {
		await store.close();
	});

	it('reads long lines a character budget at a time, every line once and in order, on the whole log and on one stream', async () => {
		const task = await createStandaloneTask(store);
		const exec = await createTestExecution(store, task.id);
		const long = 'x'.repeat(64 * 1024);
		const lines: LogLine[] = Array.from({ length: 40 }, (_, i) => ({
			n: i + 1,
			stream: i % 2 ? 'stderr' : 'stdout',
			ts: TS,
			text: `${i + 1}${long}`
		}));
		await store.appendLogLines(exec.id, lines);
		for (const stream of [undefined, 'stdout'] as const) {
			const seen: number[] = [];
			let chunks = 0;
			for await (const chunk of store.scanLogText(exec.id, {
				chunk: 2_000,
				...(stream ? { stream } : {})
			})) {
				chunks++;
				const chars = chunk.reduce((sum, [, text]) => sum + text.length, 0);
				expect(chars).toBeLessThanOrEqual(LOG_CHUNK_CHARS + long.length + 2);
				seen.push(...chunk.map(([n]) => n));
			}
			const expected = lines.filter((l) => !stream || l.stream === stream).map((l) => l.n);
			expect(seen, String(stream)).toEqual(expected);
			expect(chunks).toBeGreaterThan(1);
		}
	});

	it('creates a run with defaults and reads it back', async () => {
		const run = await store.createRun({ workflow: 'demo', total_weight: 3 });
		expect(run).toEqual({
			id: expect.stringMatching(/^run_[\w-]+$/),
			workflow: 'demo',
			status: 'queued',
			progress: 0,
			total_weight: 3,
			finished_weight: 0,
			created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
			started_at: null,
			finished_at: null,
			duration_ms: null,
			error: null
		});
		expect(await store.getRun(run.id)).toEqual(run);
		expect(await store.getRun('run_missing')).toBeNull();
	});

	it('creates a task with its needs and optional flag mapped back from JSON and 0/1', async () => {
		const run = await store.createRun({ workflow: 'demo', total_weight: 2 });
		const task = await store.createTask(
			newTask({
				run_id: run.id,
				key: 'test',
				needs: ['build', 'lint'],
				weight: 2,
				optional: true,
				step_count: 3
			})
		);
		expect(task).toMatchObject({
			run_id: run.id,
			key: 'test',
			status: 'queued',
			progress: 0,
			message: null,
			needs: ['build', 'lint'],
			weight: 2,
			optional: true,
			step_count: 3,
			started_at: null,
			error: null
		});
		expect(task.id).toMatch(/^task_/);
		expect(await store.getTask(task.id)).toEqual(task);
	});

	it('finds running stand-alone tasks by how long their producer has been silent, and lets one node claim each', async () => {
		const secondsAgo = (s: number) => new Date(Date.now() - s * 1000).toISOString();
		const start = async (startedSecondsAgo: number) => {
			const task = await store.createTask(newTask());
			return store.updateTask(task.id, { status: 'running', started_at: secondsAgo(startedSecondsAgo) });
		};
		const heard = await start(100);
		const longest = await start(80);
		const neverHeard = await start(50);
		const ended = await start(100);
		await store.updateTask(ended.id, { status: 'succeeded', finished_at: secondsAgo(90) });
		const run = await store.createRun({ workflow: 'demo', total_weight: 1 });
		const ofRun = await store.createTask(newTask({ run_id: run.id }));
		await store.updateTask(ofRun.id, { status: 'running', started_at: secondsAgo(100) });

		await store.noteHeard(heard.id);
		// never heard: silent since it started; tasks of runs and ended tasks are never listed
		expect(await store.listSilentTasks(30_000, 10)).toEqual([longest.id, neverHeard.id]);
		expect(await store.listSilentTasks(30_000, 1)).toEqual([longest.id]);
		expect(await store.listSilentTasks(60_000, 10)).toEqual([longest.id]);

		// heard since: not claimed; claimed once, the claim counts as heard
		expect(await store.claimSilentTask(heard.id, 30_000)).toBe(false);
		expect(await store.claimSilentTask(neverHeard.id, 30_000)).toBe(true);
		expect(await store.claimSilentTask(neverHeard.id, 30_000)).toBe(false);
		expect(await store.claimSilentTask(ended.id, 30_000)).toBe(false);
		expect(await store.claimSilentTask(ofRun.id, 30_000)).toBe(false);
		expect(await store.listSilentTasks(30_000, 10)).toEqual([longest.id]);
		expect(await store.getTask(neverHeard.id)).toMatchObject({ status: 'running' });
	});

	it('ends a task once: a second ending finds it ended and changes nothing', async () => {
		const task = await store.createTask(newTask());
		await store.updateTask(task.id, { status: 'running', started_at: TS });
		const ended = await store.endTask(task.id, { status: 'cancelled', finished_at: TS, message: null });
		expect(ended).toMatchObject({ id: task.id, status: 'cancelled', message: null });
		expect(await store.endTask(task.id, { status: 'failed', error: 'lost contact' })).toBeNull();
		expect(await store.getTask(task.id)).toMatchObject({ status: 'cancelled', error: null });
	});

	it('ends an execution only while it runs: an end written after another node closed it changes nothing', async () => {
		const task = await createStandaloneTask(store);
		const exec = await createTestExecution(store, task.id);
		const closed = { status: 'interrupted', error: 'taken over', finished_at: TS } as const;
		expect(await store.endExecution(exec.id, closed)).toMatchObject({ id: exec.id, ...closed });
		const late = {
			status: 'succeeded',
			exit_code: 0,
			error: null,
			finished_at: new Date().toISOString()
		} as const;
		expect(await store.endExecution(exec.id, late)).toBeNull();
		expect(await store.getExecution(exec.id)).toMatchObject({ ...closed, exit_code: null });
		expect(await store.endExecution('exec_ghost', late)).toBeNull();
	});

	it('ends an execution again with the same end: a write tried again after its answer was lost finds its own', async () => {
		const task = await createStandaloneTask(store);
		const exec = await createTestExecution(store, task.id);
		const end = {
			status: 'succeeded',
			exit_code: 0,
			error: null,
			finished_at: new Date().toISOString()
		} as const;
		expect(await store.endExecution(exec.id, end)).toMatchObject({ id: exec.id, ...end });
		expect(await store.endExecution(exec.id, end)).toMatchObject({ id: exec.id, ...end });
		// another end (a takeover's, a later write's) is still not its own
		expect(await store.endExecution(exec.id, { ...end, finished_at: TS })).toBeNull();
		expect(await store.endExecution(exec.id, { ...end, status: 'interrupted' })).toBeNull();
		expect(await store.getExecution(exec.id)).toMatchObject(end);
	});

	it('keeps a cancel asked of a running stand-alone task for every node to read with the task', async () => {
		const running = await store.createTask(newTask());
		await store.updateTask(running.id, { status: 'running', started_at: TS });
		const queued = await store.createTask(newTask());
		const run = await store.createRun({ workflow: 'demo', total_weight: 1 });
		const ofRun = await store.createTask(newTask({ run_id: run.id }));
		await store.updateTask(ofRun.id, { status: 'running', started_at: TS });

		const before = await store.getProducerTask(running.id);
		expect(before).toEqual({ task: await store.getTask(running.id), cancelAsked: false });
		expect(await store.askProducerCancel(running.id)).toBe('asked');
		expect(await store.askProducerCancel(running.id)).toBe('already');
		expect(await store.getProducerTask(running.id)).toEqual({ task: before!.task, cancelAsked: true });
		// not running, or a task of a run (its cancel goes through the queue): not asked
		expect(await store.askProducerCancel(queued.id)).toBeNull();
		expect(await store.askProducerCancel(ofRun.id)).toBeNull();
		expect(await store.askProducerCancel('task_missing')).toBeNull();
		expect(await store.getProducerTask(queued.id)).toMatchObject({
			task: { id: queued.id },
			cancelAsked: false
		});
		expect(await store.getProducerTask('task_missing')).toBeNull();
		// a task of a run asked to stop through the queue is no producer's cancel
		expect(await store.queue.stopTask(ofRun.id, 'cancelled')).toBe(true);
		expect(await store.getProducerTask(ofRun.id)).toMatchObject({
			task: { id: ofRun.id },
			cancelAsked: false
		});
	});

	it('applies a partial patch, can set a column back to null, and returns the updated record', async () => {
		const task = await store.createTask(newTask());
		const running = await store.updateTask(task.id, {
			status: 'running',
			progress: 45,
			message: 'compiling'
		});
		expect(running).toMatchObject({ status: 'running', progress: 45, message: 'compiling', key: 'build' });
		const cleared = await store.updateTask(task.id, { message: null, progress: undefined });
		expect(cleared).toMatchObject({ status: 'running', progress: 45, message: null });
		expect(await store.getTask(task.id)).toEqual(cleared);

		const run = await store.createRun({ workflow: 'demo', total_weight: 4 });
		const done = await store.updateRun(run.id, {
			finished_weight: 4,
			progress: 100,
			status: 'succeeded',
			duration_ms: 12
		});
		expect(done).toMatchObject({ finished_weight: 4, progress: 100, status: 'succeeded', duration_ms: 12 });
	});

	it('throws a clear error when updating an id that does not exist', async () => {
		await expect(store.updateRun('run_nope', { status: 'running' })).rejects.toThrow(
			'run run_nope not found'
		);
		await expect(store.updateTask('task_nope', { progress: 1 })).rejects.toThrow('task task_nope not found');
		await expect(store.updateExecution('exec_nope', { exit_code: 0 })).rejects.toThrow(
			'execution exec_nope not found'
		);
	});

	it('refuses a task whose run does not exist, naming the run', async () => {
		await expect(store.createTask(newTask({ run_id: 'run_ghost' }))).rejects.toThrow(
			/run run_ghost does not exist/
		);
	});

	it('lists runs newest first with status and workflow filters and a limit', async () => {
		const a = await store.createRun({ workflow: 'demo', total_weight: 1 });
		const b = await store.createRun({ workflow: 'other', total_weight: 1 });
		const c = await store.createRun({ workflow: 'demo', total_weight: 1 });
		await store.updateRun(b.id, { status: 'running' });

		expect((await store.listRuns()).map((r) => r.id)).toEqual([c.id, b.id, a.id]);
		expect((await store.listRuns({ workflow: 'demo' })).map((r) => r.id)).toEqual([c.id, a.id]);
		expect((await store.listRuns({ status: 'running' })).map((r) => r.id)).toEqual([b.id]);
		expect(await store.listRuns({ status: 'running', workflow: 'demo' })).toEqual([]);
		expect((await store.listRuns({ limit: 2 })).map((r) => r.id)).toEqual([c.id, b.id]);
	});

	it('lists tasks newest first filtered by run and status, capping the limit at 1000', async () => {
		const run = await store.createRun({ workflow: 'demo', total_weight: 2 });
		const first = await store.createTask(newTask({ run_id: run.id, key: 'one' }));
		const second = await store.createTask(newTask({ run_id: run.id, key: 'two' }));
		const alone = await store.createTask(newTask({ key: 'alone' }));
		await store.updateTask(first.id, { status: 'failed' });

		expect((await store.listTasks()).map((t) => t.key)).toEqual(['alone', 'two', 'one']);
		expect((await store.listTasks({ run_id: run.id })).map((t) => t.id)).toEqual([second.id, first.id]);
		expect((await store.listTasks({ run_id: run.id, status: 'failed' })).map((t) => t.id)).toEqual([
			first.id
		]);
		expect((await store.listTasks({ status: 'queued' })).map((t) => t.id)).toEqual([alone.id, second.id]);

		for (let i = 0; i < 1100; i++) await store.createTask(newTask({ key: `bulk${i}` }));
		expect(await store.listTasks()).toHaveLength(100);
		expect(await store.listTasks({ limit: 5000 })).toHaveLength(1000);
	});

	it("lists every task of a run oldest first, past listTasks' cap, and none of another run's", async () => {
		const run = await store.createRun({ workflow: 'demo', total_weight: 1100 });
		const other = await store.createRun({ workflow: 'demo', total_weight: 1 });
		const keys = Array.from({ length: 1100 }, (_, i) => `t${i}`);
		for (const key of keys) await store.createTask(newTask({ run_id: run.id, key }));
		await store.createTask(newTask({ run_id: other.id, key: 'elsewhere' }));
		await store.createTask(newTask({ key: 'alone' }));

		expect((await store.runTasks(run.id)).map((t) => t.key)).toEqual(keys);
		expect((await store.runTasks(other.id)).map((t) => t.key)).toEqual(['elsewhere']);
		expect(await store.runTasks('run_unknown')).toEqual([]);
	});

	it('creates executions running with args from JSON and lists them in step order', async () => {
		const task = await store.createTask(newTask({ step_count: 2 }));
		const second = await store.createExecution({
			task_id: task.id,
			step: 1,
			name: 'test',
			command: 'npm',
			args: ['test', '--', '--run'],
			cwd: '/tmp'
		});
		const first = await store.createExecution({
			task_id: task.id,
			step: 0,
			name: 'build',
			command: 'make',
			args: [],
			cwd: null
		});
		expect(second).toMatchObject({
			status: 'running',
			args: ['test', '--', '--run'],
			cwd: '/tmp',
			line_count: 0,
			exit_code: null,
			signal: null,
			finished_at: null
		});
		expect(second.id).toMatch(/^exec_/);
		expect(second.started_at).toMatch(/Z$/);
		expect((await store.listExecutions(task.id)).map((e) => e.id)).toEqual([first.id, second.id]);
		expect(
			await store.updateExecution(first.id, { status: 'failed', exit_code: null, signal: 'SIGTERM' })
		).toMatchObject({
			status: 'failed',
			signal: 'SIGTERM'
		});
		await expect(
			store.createExecution({ task_id: 'task_ghost', step: 0, name: 'x', command: 'x', args: [], cwd: null })
		).rejects.toThrow(/task task_ghost does not exist/);
	});

	it('creates an execution with a given id once: trying it again returns the stored one', async () => {
		const task = await store.createTask(newTask());
		const input = {
			id: 'exec_given',
			task_id: task.id,
			step: 0,
			name: 'build',
			command: 'make',
			args: [],
			cwd: null
		};
		const first = await store.createExecution(input);
		expect(first).toMatchObject({ id: 'exec_given', status: 'running', step: 0 });
		// a retry after a lost reply: the first INSERT committed
		expect(await store.createExecution(input)).toEqual(first);
		expect((await store.listExecutions(task.id)).map((e) => e.id)).toEqual(['exec_given']);
		const other = await store.createTask(newTask());
		await expect(store.createExecution({ ...input, task_id: other.id })).rejects.toThrow(/exec_given/);
	});

	it('keeps one execution of a step created as one per step, however many create it at once', async () => {
		const task = await store.createTask(newTask({ step_count: 2 }));
		const input = (id: string, step = 0) => ({
			id,
			task_id: task.id,
			step,
			name: 'build',
			command: 'make',
			args: [],
			cwd: null,
			one_per_step: true
		});
		// at once: on PostgreSQL each on a connection of its own, as nodes would
		const created = await Promise.all(
			['exec_a', 'exec_b', 'exec_c', 'exec_d'].map((id) => store.createExecution(input(id)))
		);
		const stored = await store.listExecutions(task.id);
		expect(stored).toHaveLength(1);
		expect(created.map((e) => e.id)).toEqual(Array(4).fill(stored[0].id));
		// later too, and another step is one of its own
		expect((await store.createExecution(input('exec_e'))).id).toBe(stored[0].id);
		expect((await store.createExecution(input('exec_f', 1))).id).toBe('exec_f');
		// the given id of the first is still its own to send again after a lost reply
		expect((await store.createExecution(input(stored[0].id))).id).toBe(stored[0].id);
		// a workflow step runs once per attempt of its task, each attempt with an execution of its own
		const again = { ...input('exec_g', 1), one_per_step: false };
		expect((await store.createExecution(again)).id).toBe('exec_g');
		expect((await store.listExecutions(task.id)).map((e) => e.id)).toEqual([
			stored[0].id,
			'exec_f',
			'exec_g'
		]);
		await expect(store.createExecution({ ...input('exec_h'), task_id: 'task_ghost' })).rejects.toThrow(
			/task task_ghost does not exist/
		);
	});

	it('keeps the output an execution dropped past its limit, and reports it only once there is some', async () => {
		const task = await store.createTask(newTask());
		const execution = await store.createExecution({
			task_id: task.id,
			step: 0,
			name: 'flood',
			command: 'yes',
			args: [],
			cwd: null
		});
		expect(execution).not.toHaveProperty('output_dropped');
		// past 2^31: a tool may print gigabytes after its limit
		const bytes = 5 * 1024 ** 3;
		const updated = await store.updateExecution(execution.id, {
			output_dropped_lines: 1_200,
			output_dropped_bytes: bytes
		});
		expect(updated.output_dropped).toEqual({ lines: 1_200, bytes });
		const ended = await store.updateExecution(execution.id, { status: 'succeeded', exit_code: 0 });
		expect(ended).toMatchObject({ status: 'succeeded', output_dropped: { lines: 1_200, bytes } });
		expect((await store.getExecution(execution.id))?.output_dropped).toEqual({ lines: 1_200, bytes });
		expect((await store.listExecutions(task.id))[0].output_dropped).toEqual({ lines: 1_200, bytes });
	});

	describe('log lines', () => {
		let execId: string;
		beforeEach(async () => {
			const task = await store.createTask(newTask());
			execId = (
				await store.createExecution({
					task_id: task.id,
					step: 0,
					name: 's',
					command: 'c',
					args: [],
					cwd: null
				})
			).id;
		});

		it('appends and reads lines in order with after and limit', async () => {
			await store.appendLogLines(execId, [...lines(1, 3), { n: 4, stream: 'stderr', ts: TS, text: 'oops' }]);
			await store.appendLogLines(execId, lines(5, 6));
			expect(await store.readLogLines(execId)).toEqual([
				...lines(1, 3),
				{ n: 4, stream: 'stderr', ts: TS, text: 'oops' },
				...lines(5, 6)
			]);
			expect((await store.readLogLines(execId, { after: 2, limit: 3 })).map((l) => l.n)).toEqual([3, 4, 5]);
			expect(await store.readLogLines(execId, { after: 6 })).toEqual([]);
			expect((await store.getExecution(execId))!.line_count).toBe(6);
		});

		it('ignores repeated line numbers and keeps line_count at the highest stored number', async () => {
			await store.appendLogLines(execId, lines(1, 5));
			await store.appendLogLines(execId, [
				{ n: 4, stream: 'stderr', ts: TS, text: 'replayed 4' },
				{ n: 5, stream: 'stderr', ts: TS, text: 'replayed 5' },
				...lines(6, 7)
			]);
			await store.appendLogLines(execId, lines(2, 3));
			const stored = await store.readLogLines(execId);
			expect(stored.map((l) => l.n)).toEqual([1, 2, 3, 4, 5, 6, 7]);
			expect(stored[3]).toEqual({ n: 4, stream: 'stdout', ts: TS, text: 'line 4' });
			expect((await store.getExecution(execId))!.line_count).toBe(7);
		});

		it('returns the lines each append stored: all of a new batch, none of a repeat, the new ones of an overlap', async () => {
			const batch = lines(1, 3);
			expect(await store.appendLogLines(execId, batch)).toEqual(batch);
			expect(await store.appendLogLines(execId, lines(1, 3))).toEqual([]);
			expect(
				await store.appendLogLines(execId, [
					...lines(2, 4),
					{ n: 4, stream: 'stderr', ts: TS, text: 'twice' }
				])
			).toEqual(lines(4, 4));
			expect(await store.appendLogLines(execId, [])).toEqual([]);
		});

		it('gives each line to one of the appends that send it at once, as two nodes taking one batch', async () => {
			// large enough for PostgreSQL's COPY path, and a small one beside it
			for (const size of [3, 600]) {
				const from = (await store.getExecution(execId))!.line_count + 1;
				const batch = lines(from, from + size - 1);
				const stored = await Promise.all(
					[0, 1, 2].map(() =>
						store.appendLogLines(
							execId,
							batch.map((l) => ({ ...l }))
						)
					)
				);
				expect(stored.flat().map((l) => l.n)).toEqual(batch.map((l) => l.n));
				expect(stored.filter((s) => s.length > 0)).toHaveLength(1);
				expect((await store.readLogLines(execId, { after: from - 1, limit: 1000 })).map((l) => l.n)).toEqual(
					batch.map((l) => l.n)
				);
			}
		});

		it('rejects lines for an unknown execution and stores none of them', async () => {
			await expect(store.appendLogLines('exec_ghost', lines(1, 2))).rejects.toThrow(
				'execution exec_ghost not found'
			);
			expect(await store.readLogLines('exec_ghost')).toEqual([]);
		});

		it('stores appends made at once to several logs, refusing only the one for an unknown execution', async () => {
			const ids = [execId, await newExecution(), await newExecution()];
			const settled = await Promise.allSettled([
				store.appendLogLines(ids[0], lines(1, 3)),
				store.appendLogLines('exec_ghost', lines(1, 2)),
				store.appendLogLines(ids[1], lines(1, 4)),
				store.appendLogLines(ids[2], lines(1, 5))
			]);
			expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
			expect(String((settled[1] as PromiseRejectedResult).reason)).toContain(
				'execution exec_ghost not found'
			);
			for (const [i, id] of ids.entries()) {
				expect((await store.readLogLines(id)).map((l) => l.n)).toEqual(lines(1, 3 + i).map((l) => l.n));
				expect((await store.getExecution(id))!.line_count).toBe(3 + i);
			}
			expect(await store.readLogLines('exec_ghost')).toEqual([]);
		});

		it('caps a read at 10000 lines and defaults to 1000', async () => {
			await store.appendLogLines(execId, lines(1, 12_000));
			expect(await store.readLogLines(execId)).toHaveLength(1000);
			expect(await store.readLogLines(execId, { limit: 50_000 })).toHaveLength(10_000);
		});

		it('iterates 25,000 lines in chunks, all of them in order', async () => {
			await store.appendLogLines(execId, lines(1, 25_000));
			const chunks = await collect(store.iterateLogLines(execId));
			expect(chunks).toHaveLength(25);
			expect(chunks.every((c) => c.length === 1000)).toBe(true);
			const all = chunks.flat();
			expect(all).toHaveLength(25_000);
			expect(all.every((l, i) => l.n === i + 1 && l.text === `line ${i + 1}`)).toBe(true);

			const tail = (await collect(store.iterateLogLines(execId, { after: 24_990, chunk: 4 }))).map((c) =>
				c.map((l) => l.n)
			);
			expect(tail).toEqual([
				[24991, 24992, 24993, 24994],
				[24995, 24996, 24997, 24998],
				[24999, 25000]
			]);
		});

		/** 400 lines of every kind: both streams, marks, progress snapshots, characters that need escaping */
		function mixedLines(): LogLine[] {
			const kinds = [
				(n: number) => `plain ${n}`,
				(n: number) => `tab\there, back\\slash ${n}, "quoted"`,
				(n: number) => `::group::Group ${n}`,
				(n: number) => `::error file=src/a.ts,line=${n}::broke ${n}`,
				() => `::endgroup::`,
				(n: number) => `::progress value=${n % 100}::step ${n}`,
				(n: number) => `nul \u0000 and newline \n inside ${n} 🚀`,
				(n: number) => `\u001b[31mred ${n}\u001b[0m`
			];
			return Array.from({ length: 400 }, (_, i): LogLine => {
				const n = i + 1;
				if (n % 13 === 0 || n % 13 === 1) {
					// a progress bar: snapshots redrawn with \r, then its last state
					const line: LogLine = { n, stream: 'stderr', ts: TS, text: `\r[${'#'.repeat(n % 5)}] ${n}%` };
					if (n % 13 === 0) line.partial = true;
					return line;
				}
				return { n, stream: n % 7 === 0 ? 'stderr' : 'stdout', ts: TS, text: kinds[n % kinds.length](n) };
			});
		}

		async function newExecution(): Promise<string> {
			return (await createTestExecution(store, (await createStandaloneTask(store)).id)).id;
		}

		/** what a reader can see of a log: every line, each stream by rank, the outline */
		async function view(id: string) {
			const stderr = await store.readLogPage(id, { stream: 'stderr', index: 0, limit: 5000 });
			return {
				lines: await store.readLogLines(id, { limit: 5000 }),
				stderr,
				stdoutMiddle: await store.readLogPage(id, { stream: 'stdout', index: 101, limit: 7 }),
				stderrMiddle: await store.readLogPage(id, { stream: 'stderr', index: 37, limit: 3 }),
				outline: await store.readLogOutline(id),
				lineCount: (await store.getExecution(id))!.line_count
			};
		}

		it('stores a large append as the same lines appended one by one: text, ranks, marks and progress runs', async () => {
			const all = mixedLines();
			await store.appendLogLines(execId, all);
			const oneByOne = await newExecution();
			for (const line of all) await store.appendLogLines(oneByOne, [line]);
			const large = await view(execId);
			expect(large.lines).toEqual(all);
			expect(large.stderr.lines).toEqual(all.filter((line) => line.stream === 'stderr'));
			expect(large.outline.groups.length).toBeGreaterThan(0);
			expect(large.outline.progress!.length).toBeGreaterThan(0);
			expect(large).toEqual(await view(oneByOne));
		});

		it('keeps a log whole whose workflow commands hold NUL or a file line no integer holds, small or large appends', async () => {
			const commands = [
				'before',
				'::error::bad\u0000thing',
				'::group::g\u0000x',
				'::warning file=a\u0000.ts,line=3000000000::w',
				'::notice file=b.ts,line=2147483647::n',
				'::error file=c.ts,line=2147483648::e',
				'::error file=d.ts,line=-3::e',
				'::progress value=50::half\u0000way',
				'after'
			];
			const expected = {
				groups: [{ name: 'gx', start: 3, end: null }],
				annotations: [
					{ line: 2, level: 'error', message: 'badthing' },
					{ line: 4, level: 'warning', message: 'w', file: 'a.ts' },
					{ line: 5, level: 'notice', message: 'n', file: 'b.ts', file_line: 2147483647 },
					{ line: 6, level: 'error', message: 'e', file: 'c.ts' },
					{ line: 7, level: 'error', message: 'e', file: 'd.ts' }
				],
				progress: [],
				commands: [{ start: 8, end: 8 }],
				marks: { count: 7, last: 8 },
				truncated: false
			};
			const small: LogLine[] = commands.map((text, i) => ({ n: i + 1, stream: 'stdout', ts: TS, text }));
			await store.appendLogLines(execId, small);
			expect(await store.readLogLines(execId)).toEqual(small);
			expect(await store.readLogOutline(execId)).toEqual(expected);

			// past COPY_FROM_LINES, PostgreSQL writes lines and marks another way
			const large = await newExecution();
			const padded = [...small, ...lines(small.length + 1, 300)];
			await store.appendLogLines(large, padded);
			expect(await store.readLogLines(large, { limit: 5000 })).toEqual(padded);
			expect(await store.readLogOutline(large)).toEqual(expected);
		});

		it('adds only the new lines of a large append that repeats stored ones, ranked after them', async () => {
			const all = mixedLines();
			await store.appendLogLines(execId, all.slice(0, 250));
			await store.appendLogLines(execId, all.slice(100, 400));
			await store.appendLogLines(execId, all);
			const whole = await newExecution();
			await store.appendLogLines(whole, all);
			expect(await view(execId)).toEqual(await view(whole));
		});

		it('keeps ranks gap-free and every line once when appends of one log race', async () => {
			const all = mixedLines();
			await Promise.all([
				store.appendLogLines(execId, all.slice(0, 300)),
				store.appendLogLines(execId, all.slice(0, 200)),
				store.appendLogLines(execId, all)
			]);
			const whole = await newExecution();
			await store.appendLogLines(whole, all);
			const raced = await view(execId);
			expect(raced.lines).toEqual(all);
			expect(raced.stderr).toEqual((await view(whole)).stderr);
			expect(raced.stdoutMiddle).toEqual((await view(whole)).stdoutMiddle);
		});

		if (kind === 'postgres') {
			it('ranks the lines of an append after those of one that held the log while it waited', async () => {
				const all = mixedLines();
				const holder = new pg.Client({ connectionString: backend.url });
				await holder.connect();
				try {
					await holder.query('BEGIN');
					await holder.query('SELECT 1 FROM executions WHERE id = $1 FOR UPDATE', [execId]);
					const appends = [
						store.appendLogLines(execId, all.slice(0, 300)),
						store.appendLogLines(execId, all)
					];
					// both appends have begun and wait for the execution row: one will wait for the other
					const waiting = async () => {
						// pg_stat_activity is read once per transaction unless its snapshot is cleared
						await holder.query('SELECT pg_stat_clear_snapshot()');
						const { rows } = await holder.query<{ n: number }>(
							"SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
						);
						return rows[0].n;
					};
					await expect.poll(waiting, { timeout: 20_000 }).toBe(2);
					await holder.query('COMMIT');
					await Promise.all(appends);
				} finally {
					await holder.end();
				}
				const whole = await newExecution();
				await store.appendLogLines(whole, all);
				expect(await view(execId)).toEqual(await view(whole));
			});
		}

		it('sees lines appended while it iterates', async () => {
			await store.appendLogLines(execId, lines(1, 2500));
			const seen: number[] = [];
			for await (const chunk of store.iterateLogLines(execId, { chunk: 1000 })) {
				seen.push(...chunk.map((l) => l.n));
				if (seen.length === 1000) await store.appendLogLines(execId, lines(2501, 3200));
			}
			expect(seen).toEqual(Array.from({ length: 3200 }, (_, i) => i + 1));
		});
	});

	it('marks running and queued work interrupted, keeping task progress, and counts it', async () => {
		const run = await store.createRun({ workflow: 'demo', total_weight: 3 });
		await store.updateRun(run.id, { status: 'running' });
		const doneRun = await store.createRun({ workflow: 'demo', total_weight: 1 });
		await store.updateRun(doneRun.id, { status: 'succeeded' });
		const running = await store.createTask(newTask({ run_id: run.id, key: 'a' }));
		await store.updateTask(running.id, { status: 'running', progress: 60 });
		const queued = await store.createTask(newTask({ run_id: run.id, key: 'b' }));
		const failed = await store.createTask(newTask({ run_id: run.id, key: 'c' }));
		await store.updateTask(failed.id, { status: 'failed', error: 'exit 1' });
		const exec = await store.createExecution({
			task_id: running.id,
			step: 0,
			name: 's',
			command: 'c',
			args: [],
			cwd: null
		});
		const finished = await store.createExecution({
			task_id: failed.id,
			step: 0,
			name: 's',
			command: 'c',
			args: [],
			cwd: null
		});
		await store.updateExecution(finished.id, { status: 'failed', exit_code: 1 });

		const counts = await store.markInterrupted('server restarted');
		expect(counts).toEqual({ runs: 1, tasks: 2, executions: 1 });

		const interruptedTask = (await store.getTask(running.id))!;
		expect(interruptedTask).toMatchObject({ status: 'interrupted', progress: 60, error: 'server restarted' });
		expect(interruptedTask.finished_at).not.toBeNull();
		expect(await store.getTask(queued.id)).toMatchObject({ status: 'interrupted' });
		expect(await store.getTask(failed.id)).toMatchObject({
			status: 'failed',
			error: 'exit 1',
			finished_at: null
		});
		expect(await store.getRun(run.id)).toMatchObject({ status: 'interrupted', error: 'server restarted' });
		expect(await store.getRun(doneRun.id)).toMatchObject({ status: 'succeeded', error: null });
		expect(await store.getExecution(exec.id)).toMatchObject({
			status: 'interrupted',
			error: 'server restarted'
		});
		expect(await store.getExecution(finished.id)).toMatchObject({ status: 'failed', exit_code: 1 });

		expect(await store.markInterrupted('again')).toEqual({ runs: 0, tasks: 0, executions: 0 });
	});

	it('creates one task per idempotency key, also for concurrent calls, and returns it again', async () => {
		const [a, b] = await Promise.all([
			store.createTaskOnce('key-1', newTask({ key: 'a' })),
			store.createTaskOnce('key-1', newTask({ key: 'a' }))
		]);
		expect(a.task.id).toBe(b.task.id);
		expect([a.existing, b.existing].sort()).toEqual([false, true]);
		const other = await store.createTaskOnce('key-2', newTask({ key: 'b' }));
		expect(other).toMatchObject({ existing: false, task: { key: 'b', status: 'queued' } });
		expect(await store.createTaskOnce('key-1', newTask({ key: 'c' }))).toEqual({
			task: a.task,
			existing: true
		});
		expect(await store.listTasks()).toHaveLength(2);
	});

	it('imports known keys, skipping keys already kept and keys whose task does not exist', async () => {
		const task = await store.createTask(newTask());
		const kept = await store.createTaskOnce('kept', newTask({ key: 'k' }));
		const added = await store.importIdempotencyKeys([
			['old', task.id],
			['kept', task.id],
			['gone', 'task_missing']
		]);
		expect(added).toBe(1);
		expect(await store.createTaskOnce('old', newTask())).toEqual({ task, existing: true });
		expect((await store.createTaskOnce('kept', newTask())).task.id).toBe(kept.task.id);
		expect((await store.createTaskOnce('gone', newTask())).existing).toBe(false);
	});

	it('keeps lines with NUL, control characters and astral text exactly as given', async () => {
		const task = await store.createTask(newTask());
		const exec = await store.createExecution({
			task_id: task.id,
			step: 0,
			name: 's',
			command: 'c',
			args: [],
			cwd: null
		});
		const texts = ['a\u0000b', '\u001b[31mred\u001b[0m\r', '🚀 ünïcode', '"quoted" \\ back'];
		await store.appendLogLines(
			exec.id,
			texts.map((text, i) => ({ n: i + 1, stream: 'stdout', ts: TS, text }))
		);
		expect((await store.readLogLines(exec.id)).map((l) => l.text)).toEqual(texts);
		const scanned: string[] = [];
		for await (const chunk of store.scanLogText(exec.id)) scanned.push(...chunk.map(([, text]) => text));
		expect(scanned).toEqual(texts);
	});

	it('finds nothing for an id or filter with a NUL in it, rather than failing', async () => {
		const run = await store.createRun({ workflow: 'demo', total_weight: 1 });
		const task = await store.createTask(newTask({ run_id: run.id }));
		await createTestExecution(store, task.id);
		expect(await store.getRun(`${run.id}\u0000`)).toBeNull();
		expect(await store.getTask('\u0000')).toBeNull();
		expect(await store.getExecution('\u0000')).toBeNull();
		expect(await store.listExecutions(`${task.id}\u0000`)).toEqual([]);
		expect(await store.listTasks({ run_id: '\u0000' })).toEqual([]);
		expect(await store.runTasks('\u0000')).toEqual([]);
		expect(await store.listRuns({ workflow: 'demo\u0000' })).toEqual([]);
		await expect(store.updateTask('\u0000', { status: 'running' })).rejects.toThrow('task \u0000 not found');
	});

	it('keeps an exit code past 32 bits, as Windows reports a crash', async () => {
		const task = await store.createTask(newTask());
		const exec = await createTestExecution(store, task.id);
		const ended = await store.updateExecution(exec.id, { status: 'failed', exit_code: 3_221_225_477 });
		expect(ended.exit_code).toBe(3_221_225_477);
		expect((await store.getExecution(exec.id))?.exit_code).toBe(3_221_225_477);
	});

	if (kind === 'postgres') {
		it('refuses a value PostgreSQL cannot hold as a data error no retry fixes, alone or in a transaction, and works on', async () => {
			const task = await store.createTask(newTask());
			const exec = await createTestExecution(store, task.id);
			const refused = { name: 'StoreDataError', code: 'invalid_data', retryable: false };
			// one statement: a step count past `integer`
			const outOfRange = store.updateTask(task.id, { step_count: 3_000_000_000 });
			await expect(outOfRange).rejects.toMatchObject(refused);
			await expect(outOfRange).rejects.toThrow(/out of range for type integer/);
			// a transaction: a key with a NUL
			await expect(store.createTaskOnce('a\u0000b', newTask())).rejects.toMatchObject(refused);
			expect(await store.updateExecution(exec.id, { exit_code: 3 })).toMatchObject({ exit_code: 3 });
			expect((await store.createTaskOnce('ab', newTask())).existing).toBe(false);
		});

		it('applies each migration once when two nodes open an empty database at once', async () => {
			const url = await backend.createDatabase();
			const logger = createLogger('silent');
			const stores = await Promise.all([
				openPgStore({ url, node: 'a', logger }),
				openPgStore({ url, node: 'b', logger })
			]);
			await Promise.all(stores.map((s) => s.close()));
			const client = new pg.Client({ connectionString: url });
			await client.connect();
			try {
				const { rows } = await client.query(
					'SELECT version, applied_by FROM aco_migrations ORDER BY version'
				);
				expect(rows.map((row) => row.version)).toEqual(PG_MIGRATIONS.map((m) => m.version));
				expect(new Set(rows.map((row) => row.applied_by)).size).toBe(1);
			} finally {
				await client.end();
			}
		});

		it('migrates a database holding two executions of one step of a producer’s task, keeping both', async () => {
			const url = await backend.createDatabase();
			const client = new pg.Client({ connectionString: url });
			await client.connect();
			try {
				// the schema before executions were one per step, with what two nodes racing left in it
				await migratePg(client, 'old', PG_MIGRATIONS.slice(0, 7));
				await client.query(
					`INSERT INTO tasks (id, key, name, status, created_at) VALUES ('task_old', 'k', 'k', 'running', now());
					 INSERT INTO executions (id, task_id, step, name, command, status, started_at)
					 VALUES ('exec_1', 'task_old', 0, 's', '', 'running', now()),
					        ('exec_2', 'task_old', 0, 's', '', 'running', now())`
				);
			} finally {
				await client.end();
			}
			const migrated = await openPgStore({ url, node: 'new', logger: createLogger('silent') });
			try {
				expect((await migrated.listExecutions('task_old')).map((e) => e.id).sort()).toEqual([
					'exec_1',
					'exec_2'
				]);
				// a new one per step is one of its own beside them
				await expectOnePerStep(migrated, 'task_old');
			} finally {
				await migrated.close();
			}
		});

		it('refuses a database written by a newer schema', async () => {
			const url = await backend.createDatabase();
			const logger = createLogger('silent');
			await (await openPgStore({ url, node: 'a', logger })).close();
			const client = new pg.Client({ connectionString: url });
			await client.connect();
			await client.query(
				"INSERT INTO aco_migrations (version, name, applied_by) VALUES (999, 'future', 'x')"
			);
			await client.end();
			await expect(openPgStore({ url, node: 'a', logger })).rejects.toThrow(/newer than this aco knows/);
		});
	}

	it('keeps sign-in sessions: creates, reads, touches, deletes and expires them', async () => {
		const session = {
			id: 'a'.repeat(64),
			role: 'viewer' as const,
			token_id: '0123456789abcdef',
			created_at: '2024-01-01T00:00:00.000Z',
			last_seen_at: '2024-01-01T00:00:00.000Z',
			expires_at: '2024-01-01T08:00:00.000Z'
		};
		await store.createSession(session);
		await store.createSession({ ...session, id: 'b'.repeat(64), expires_at: '2024-01-01T01:00:00.000Z' });
		expect(await store.getSession(session.id)).toEqual(session);
		expect(await store.getSession('c'.repeat(64))).toBeNull();
		expect(await store.touchSession(session.id, '2024-01-01T02:00:00.000Z', '2024-01-01T10:00:00.000Z')).toBe(
			true
		);
		expect(await store.getSession(session.id)).toMatchObject({
			last_seen_at: '2024-01-01T02:00:00.000Z',
			expires_at: '2024-01-01T10:00:00.000Z'
		});
		expect(await store.touchSession('c'.repeat(64), TS, TS)).toBe(false);
		expect(await store.expireSessions('2024-01-01T01:00:00.000Z')).toBe(1);
		expect(await store.getSession('b'.repeat(64))).toBeNull();
		expect(await store.deleteSession(session.id)).toBe(true);
		expect(await store.deleteSession(session.id)).toBe(false);
		expect(await store.getSession(session.id)).toBeNull();
	});

	it('closes idempotently and refuses work afterwards', async () => {
		await store.close();
		await store.close();
		await expect(store.getRun('run_x')).rejects.toThrow('store is closed');
	});
});

describe('sqlite store on disk', () => {
	let dir: string;
	beforeEach(() => {
		dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aco-store-'));
	});
	afterEach(() => {
		fs.rmSync(dir, { recursive: true, force: true });
	});

	it('keeps runs, tasks, executions and log lines across close and reopen, in WAL mode', async () => {
		const dataDir = path.join(dir, 'data');
		const store = openSqliteStore(dataDir);
		const run = await store.createRun({ workflow: 'demo', total_weight: 1 });
		const task = await store.createTask(newTask({ run_id: run.id, needs: ['x'] }));
		const exec = await store.createExecution({
			task_id: task.id,
			step: 0,
			name: 's',
			command: 'c',
			args: ['a'],
			cwd: null
		});
		await store.appendLogLines(exec.id, lines(1, 300));
		await store.updateTask(task.id, { status: 'running', progress: 10 });
		expect(fs.existsSync(path.join(dataDir, 'aco.db-wal'))).toBe(true);
		await store.close();

		const db = new Database(path.join(dataDir, 'aco.db'), { readonly: true });
		expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
		expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
		db.close();

		const reopened = openSqliteStore(dataDir);
		try {
			expect(await reopened.getRun(run.id)).toEqual(run);
			expect(await reopened.getTask(task.id)).toMatchObject({
				status: 'running',
				progress: 10,
				needs: ['x']
			});
			expect(await reopened.getExecution(exec.id)).toMatchObject({ args: ['a'], line_count: 300 });
			expect(await reopened.readLogLines(exec.id, { after: 298 })).toEqual(lines(299, 300));
			expect(await reopened.markInterrupted('restart')).toEqual({ runs: 1, tasks: 1, executions: 1 });
		} finally {
			await reopened.close();
		}
	});

	it('stores the log lines of appends still waiting when it closes', async () => {
		const store = openSqliteStore(dir);
		const task = await store.createTask(newTask());
		const execs = [
			await createTestExecution(store, task.id),
			await createTestExecution(store, task.id, { step: 1 })
		];
		const appends = execs.map((exec, i) => store.appendLogLines(exec.id, lines(1, 10 + i)));
		await store.close();
		await Promise.all(appends);
		const reopened = openSqliteStore(dir);
		try {
			for (const [i, exec] of execs.entries()) {
				expect(await reopened.readLogLines(exec.id)).toEqual(lines(1, 10 + i));
			}
		} finally {
			await reopened.close();
		}
	});

	it('orders lists by created_at first and by id among equal timestamps', async () => {
		const store = openSqliteStore(dir);
		const [a, b, c] = [
			await store.createRun({ workflow: 'demo', total_weight: 1 }),
			await store.createRun({ workflow: 'demo', total_weight: 1 }),
			await store.createRun({ workflow: 'demo', total_weight: 1 })
		];
		// another writer (or a clock that stepped) made the first-created run the newest
		const db = new Database(path.join(dir, 'aco.db'));
		db.prepare('UPDATE runs SET created_at = ? WHERE id = ?').run('2999-01-01T00:00:00.000Z', a.id);
		db.prepare('UPDATE runs SET created_at = ? WHERE id IN (?, ?)').run(
			'2000-01-01T00:00:00.000Z',
			b.id,
			c.id
		);
		db.close();
		try {
			expect((await store.listRuns()).map((r) => r.id)).toEqual([a.id, c.id, b.id]);
		} finally {
			await store.close();
		}
	});

	it('migrates a database holding two executions of one step of a producer’s task, keeping both', async () => {
		const db = new Database(path.join(dir, 'aco.db'));
		// the schema before executions were one per step, with what two requests racing left in it
		migrate(db, MIGRATIONS.slice(0, 9));
		db.exec(`
			INSERT INTO tasks (id, key, name, status, created_at) VALUES ('task_old', 'k', 'k', 'running', '${TS}');
			INSERT INTO executions (id, task_id, step, name, command, status, started_at)
			VALUES ('exec_1', 'task_old', 0, 's', '', 'running', '${TS}'), ('exec_2', 'task_old', 0, 's', '', 'running', '${TS}');
		`);
		db.close();
		const store = openSqliteStore(dir);
		try {
			expect((await store.listExecutions('task_old')).map((e) => e.id)).toEqual(['exec_1', 'exec_2']);
			await expectOnePerStep(store, 'task_old');
		} finally {
			await store.close();
		}
	});

	it('migrates the log lines of a database from before lines were keyed by number, every reader seeing the same log', async () => {
		const db = new Database(path.join(dir, 'aco.db'));
		migrate(db, MIGRATIONS.slice(0, 10));
		db.exec(`
			INSERT INTO tasks (id, key, name, status, created_at) VALUES ('task_old', 'k', 'k', 'running', '${TS}');
			INSERT INTO executions (id, task_id, step, name, command, status, started_at, line_count)
			VALUES ('exec_1', 'task_old', 0, 's', '', 'running', '${TS}', 4), ('exec_2', 'task_old', 1, 's', '', 'running', '${TS}', 1);
		`);
		const insert = db.prepare(
			'INSERT INTO log_lines (execution_id, n, stream, ts, text, sn, partial) VALUES (?, ?, ?, ?, ?, ?, ?)'
		);
		const old: [string, LogLine, number][] = [
			['exec_1', { n: 1, stream: 'stdout', ts: TS, text: 'one' }, 1],
			['exec_1', { n: 2, stream: 'stderr', ts: TS, text: 'two' }, 1],
			['exec_1', { n: 3, stream: 'stdout', ts: TS, text: 'three' }, 2],
			['exec_1', { n: 4, stream: 'stderr', ts: TS, text: 'four', partial: true }, 2],
			['exec_2', { n: 1, stream: 'stderr', ts: TS, text: 'other' }, 1]
		];
		for (const [exec, line, sn] of old) {
			insert.run(exec, line.n, line.stream, line.ts, line.text, sn, line.partial ? 1 : 0);
		}
		db.close();
		const applied: number[] = [];
		const store = openSqliteStore(dir, { onMigration: (m) => applied.push(m.version) });
		try {
			expect(applied).toEqual(MIGRATIONS.slice(10).map((m) => m.version));
			const of = (exec: string) => old.filter(([e]) => e === exec).map(([, line]) => line);
			expect(await store.readLogLines('exec_1')).toEqual(of('exec_1'));
			expect(await store.readLogLines('exec_2')).toEqual(of('exec_2'));
			// appended after: numbered and ranked on from the migrated lines
			const more = lines(5, 6, 'stderr');
			await store.appendLogLines('exec_1', more);
			const stderr = await store.readLogPage('exec_1', { stream: 'stderr', index: 1, limit: 10 });
			expect(stderr.lines).toEqual([of('exec_1')[3], ...more]);
			expect(stderr.total).toBe(4);
			expect((await store.getExecution('exec_1'))!.line_count).toBe(6);
			const lines2: string[] = [];
			for await (const page of store.scanLogText('exec_1', { stream: 'stdout' }))
				lines2.push(...page.map(([, t]) => t));
			expect(lines2).toEqual(['one', 'three']);
			// a new execution's log starts empty, beside the migrated ones
			const fresh = await store.createExecution({
				task_id: 'task_old',
				step: 2,
				name: 's',
				command: '',
				args: [],
				cwd: null
			});
			expect(await store.readLogLines(fresh.id)).toEqual([]);
			await store.appendLogLines(fresh.id, lines(1, 2));
			expect(await store.readLogLines(fresh.id)).toEqual(lines(1, 2));
			expect(await store.readLogLines('exec_2')).toEqual(of('exec_2'));
		} finally {
			await store.close();
		}
	});

	it('refuses a database written by a newer schema', async () => {
		const db = new Database(path.join(dir, 'aco.db'));
		db.pragma(`user_version = ${MIGRATIONS.length + 1}`);
		db.close();
		expect(() => openSqliteStore(dir)).toThrow(/newer than this aco knows/);
	});
});

/** Step 1 of `taskId` made twice as a producer's tool (one per step) is one execution. */
async function expectOnePerStep(store: Store, taskId: string): Promise<void> {
	const next = { task_id: taskId, step: 1, name: 's', command: '', args: [], cwd: null, one_per_step: true };
	const created = await store.createExecution({ ...next, id: 'exec_3' });
	expect((await store.createExecution({ ...next, id: 'exec_4' })).id).toBe(created.id);
}
