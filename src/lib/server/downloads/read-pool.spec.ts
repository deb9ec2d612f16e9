import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LogLine } from '../../protocol';
import { createLogger } from '../logger';
import { openSqliteStore } from '../store/sqlite-store';
import { createStandaloneTask, createTestExecution } from '../store/test-records';
import type { Store } from '../store/types';
import { DOWNLOAD_CHUNK_CHARS, type LogSegment } from '../http/log-stream';
import { storeLogReader, type LogReader } from './log-reader';
import { createReadPool } from './read-pool';

const LINES = 5_000;
const logger = createLogger('silent');

function line(n: number): LogLine {
	const line: LogLine = {
		n,
		stream: n % 7 === 0 ? 'stderr' : 'stdout',
		ts: '2026-12-02T00:00:00.000Z',
		text: n % 5 === 0 ? `\u001b[31mred ${n}\u001b[0m é ✓` : `line ${n}`
	};
	if (n % 11 === 0) line.partial = true;
	return line;
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => line(from + i));

async function text(stream: ReadableStream<Uint8Array>): Promise<string> {
	return new Response(stream).text();
}

describe('the read pool', () => {
	let dir: string;
	let store: Store;
	let pool: LogReader;
	let onLoop: LogReader;
	let executions: string[];

	beforeAll(async () => {
		dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aco-read-pool-'));
		store = openSqliteStore(dir);
		const task = await createStandaloneTask(store);
		executions = [];
		for (let step = 0; step < 2; step++) {
			const execution = await createTestExecution(store, task.id, { step, name: `step ${step}` });
			await store.appendLogLines(execution.id, range(1, LINES));
			executions.push(execution.id);
		}
		pool = createReadPool({ file: path.join(dir, 'aco.db'), workers: 2, logger });
		onLoop = storeLogReader(store);
	});

	afterAll(async () => {
		await pool.close();
		await store.close();
		fs.rmSync(dir, { recursive: true, force: true });
	});

	it('downloads a log byte for byte as reading it on the event loop does, in every format', async () => {
		for (const options of [
			{ format: 'text' as const, ansi: 'keep' as const },
			{ format: 'text' as const, ansi: 'strip' as const },
			{ format: 'ndjson' as const },
			{ format: 'text' as const, after: 1234, upTo: 4321 }
		]) {
			const expected = await text(onLoop.log(executions[0], options));
			expect(expected.length).toBeGreaterThan(0);
			expect(await text(pool.log(executions[0], options))).toBe(expected);
		}
	});

	it('downloads several steps after their headers as reading them on the event loop does', async () => {
		const segments: LogSegment[] = executions.map((executionId, step) => ({
			executionId,
			header: `=== step ${step} ===`,
			fields: { step, execution_id: executionId },
			upTo: step === 0 ? LINES : 2_500
		}));
		for (const format of ['text', 'ndjson'] as const) {
			const expected = await text(onLoop.segments(segments, { format }));
			expect(await text(pool.segments(segments, { format }))).toBe(expected);
		}
	});

	it('serves many downloads at once, each whole and in order', async () => {
		const expected = await text(onLoop.log(executions[1], { format: 'ndjson' }));
		const all = await Promise.all(
			Array.from({ length: 12 }, () => text(pool.log(executions[1], { format: 'ndjson' })))
		);
		for (const body of all) expect(body).toBe(expected);
	});

	it('ends a download of a growing log at the line count it began with', async () => {
		const task = await createStandaloneTask(store);
		const execution = await createTestExecution(store, task.id, { name: 'growing' });
		await store.appendLogLines(execution.id, range(1, 3_000));
		const reader = pool.log(execution.id, { format: 'ndjson', upTo: 3_000 }).getReader();
		const chunks: Uint8Array[] = [(await reader.read()).value!];
		await store.appendLogLines(execution.id, range(3_001, 9_000));
		for (let r = await reader.read(); !r.done; r = await reader.read()) chunks.push(r.value);
		const lines = Buffer.concat(chunks)
			.toString('utf8')
			.trim()
			.split('\n')
			.map((l) => JSON.parse(l).n);
		expect(lines).toEqual(Array.from({ length: 3_000 }, (_, i) => i + 1));
	});

	it('reads a page only when the client asks for it, so lines appended meanwhile are in a download without an end', async () => {
		const task = await createStandaloneTask(store);
		const execution = await createTestExecution(store, task.id, { name: 'lazy' });
		await store.appendLogLines(execution.id, range(1, 10_000));
		const reader = pool.log(execution.id, { format: 'ndjson' }).getReader();
		await reader.read();
		// the stream and its thread each keep a chunk ahead of the client (2,000 lines each): the
		// rest is not read yet
		await store.appendLogLines(execution.id, range(10_001, 11_000));
		let last = 0;
		for (let r = await reader.read(); !r.done; r = await reader.read()) {
			last = JSON.parse(Buffer.from(r.value).toString('utf8').trim().split('\n').at(-1)!).n;
		}
		expect(last).toBe(11_000);
	});

	it('downloads 200 lines of 64 KiB whole and in order, in chunks of a bounded size', async () => {
		// what `cat` of a binary stores; NDJSON writes each control character as \u00XX
		const binary = (n: number) => `${n}:`.padEnd(64 * 1024, '\u0001\u0002\u001b');
		const task = await createStandaloneTask(store);
		const execution = await createTestExecution(store, task.id, { name: 'binary' });
		await store.appendLogLines(
			execution.id,
			Array.from({ length: 200 }, (_, i) => ({
				n: i + 1,
				stream: 'stdout' as const,
				ts: 'now',
				text: binary(i + 1)
			}))
		);
		for (const format of ['ndjson', 'text'] as const) {
			const chunks: Uint8Array[] = [];
			const reader = pool.log(execution.id, { format }).getReader();
			for (let r = await reader.read(); !r.done; r = await reader.read()) chunks.push(r.value);
			for (const chunk of chunks) expect(chunk.length).toBeLessThanOrEqual(DOWNLOAD_CHUNK_CHARS);
			const rows = Buffer.concat(chunks).toString('utf8').slice(0, -1).split('\n');
			const texts = format === 'ndjson' ? rows.map((row) => (JSON.parse(row) as LogLine).text) : rows;
			expect(texts.length).toBe(200);
			texts.forEach((text, i) => expect(text === binary(i + 1), `line ${i + 1}`).toBe(true));
		}
	});

	it('keeps serving downloads after clients went away in the middle of theirs', async () => {
		for (let i = 0; i < 6; i++) {
			const reader = pool.log(executions[0], { format: 'text' }).getReader();
			await reader.read();
			await reader.cancel();
		}
		const expected = await text(onLoop.log(executions[0], { format: 'text' }));
		expect(await text(pool.log(executions[0], { format: 'text' }))).toBe(expected);
	});

	it('fails a download whose database cannot be read with a clear error, and the next one gets a new thread', async () => {
		const broken = createReadPool({ file: path.join(dir, 'missing.db'), workers: 1, logger });
		try {
			// each says why its thread stopped: the second download was given a thread of its own
			for (let i = 0; i < 2; i++) {
				await expect(text(broken.log(executions[0], { format: 'text' }))).rejects.toThrow(
					/log reader thread stopped \(.+\): download it again/
				);
			}
		} finally {
			await broken.close();
		}
	});

	it('fails the downloads still being read when it closes', async () => {
		const closing = createReadPool({ file: path.join(dir, 'aco.db'), workers: 1, logger });
		const reader = closing.log(executions[0], { format: 'text' }).getReader();
		await reader.read();
		await closing.close();
		await expect(
			(async () => {
				for (let r = await reader.read(); !r.done; r = await reader.read());
			})()
		).rejects.toThrow(/shutting down|thread stopped/);
	});
});
