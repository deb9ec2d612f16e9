/**
 * @module bench/log-ingest-pg
 * Log ingest into PostgreSQL: the real `LogPipeline` (numbering, `tool.lines` on a MemoryBus,
 * batched writes) into the real PostgreSQL store, fed as fast as a tool's output could arrive
 * (reads of 256 lines, held back by the pipeline's `pressure` as a tool's pipes are), until
 * `close()` says every line is stored. Baselines: the same store with one `appendLogLines` per
 * line (one transaction per line), as an unbatched writer would do; and the same pipeline with
 * its writes capped at one batch (500 lines / 1 MiB), as it wrote before a backlog was taken in
 * the store's preferred append (`Store.logBatch`). The server is Debian's PostgreSQL started in
 * a temp folder (tests/helpers/postgres.ts), with durability as in the tests.
 */
import os from 'node:os';
import { MemoryBus } from '../src/lib/server/bus/memory-bus';
import { createLogger } from '../src/lib/server/logger';
import {
	DEFAULT_MAX_BATCH_BYTES,
	DEFAULT_MAX_BATCH_LINES,
	LogPipeline
} from '../src/lib/server/orchestrator/log-pipeline';
import { PG_LOG_BATCH } from '../src/lib/server/store/pg/pg-append';
import { openPgStore } from '../src/lib/server/store/pg/pg-store';
import { createStandaloneTask, createTestExecution } from '../src/lib/server/store/test-records';
import type { LogBatchSize, Store } from '../src/lib/server/store/types';
import { startPostgres, type TestPostgres } from '../tests/helpers/postgres';
import { lineStream, lineText } from './lib/fixtures';
import { check, printTable, type BenchSummary, type Metric } from './lib/report';
import { medianOf, yieldToLoop } from './lib/stats';

export const INGEST_LINES = 200_000;
/** one transaction per line is slow; throughput per line is what is compared */
export const BASELINE_LINES = 5_000;
export const LINES_PER_READ = 256;
export const REPETITIONS = 3;
/** what the issue asks of PostgreSQL ingest on this machine */
export const TARGET_LINES_PER_SECOND = 50_000;
/** the second baseline: every write one batch at most, whatever waits */
const ONE_BATCH: LogBatchSize = { lines: DEFAULT_MAX_BATCH_LINES, bytes: DEFAULT_MAX_BATCH_BYTES };

interface IngestRun extends Record<string, number> {
	lines: number;
	seconds: number;
	linesPerSecond: number;
}

const logger = createLogger('silent');

async function withExecution<T>(
	pg: TestPostgres,
	fn: (store: Store, taskId: string, executionId: string) => Promise<T>
): Promise<T> {
	const store = await openPgStore({ url: await pg.createDatabase(), node: 'bench', logger });
	try {
		const task = await createStandaloneTask(store, { key: 'bench', name: 'bench' });
		const execution = await createTestExecution(store, task.id, { name: 'bench', command: 'bench' });
		return await fn(store, task.id, execution.id);
	} finally {
		await store.close();
	}
}

/** `maxWrite`: the pipeline's own cap on one write (default: the store's `logBatch`) */
function ingestWithPipeline(pg: TestPostgres, lines: number, maxWrite?: LogBatchSize): Promise<IngestRun> {
	return withExecution(pg, async (store, taskId, executionId) => {
		const pipeline = new LogPipeline({
			store,
			bus: new MemoryBus(),
			logger,
			task_id: taskId,
			run_id: null,
			execution_id: executionId,
			...(maxWrite ? { maxWrite } : {})
		});
		const started = performance.now();
		for (let i = 0; i < lines;) {
			const end = Math.min(lines, i + LINES_PER_READ);
			for (; i < end; i++) pipeline.push(lineStream(i), lineText(i));
			// as a tool's reader does: no more is read while the store is a write's worth behind
			await (pipeline.pressure ?? yieldToLoop());
		}
		await pipeline.close();
		const seconds = (performance.now() - started) / 1000;
		const execution = await store.getExecution(executionId);
		check(execution?.line_count === lines, `pipeline stored ${execution?.line_count} of ${lines} lines`);
		const stored = await store.readLogLines(executionId, { after: lines - 3 });
		check(
			stored.map((l) => l.text).join() === [lines - 3, lines - 2, lines - 1].map(lineText).join(),
			'last lines differ'
		);
		return { lines, seconds, linesPerSecond: lines / seconds };
	});
}

function ingestLineByLine(pg: TestPostgres, lines: number): Promise<IngestRun> {
	return withExecution(pg, async (store, _taskId, executionId) => {
		const started = performance.now();
		for (let i = 0; i < lines; i++) {
			await store.appendLogLines(executionId, [
				{ n: i + 1, stream: lineStream(i), ts: new Date().toISOString(), text: lineText(i) }
			]);
		}
		const seconds = (performance.now() - started) / 1000;
		const execution = await store.getExecution(executionId);
		check(execution?.line_count === lines, `baseline stored ${execution?.line_count} of ${lines} lines`);
		return { lines, seconds, linesPerSecond: lines / seconds };
	});
}

export async function runLogIngestPg(): Promise<BenchSummary> {
	const pg = await startPostgres();
	try {
		await ingestWithPipeline(pg, BASELINE_LINES);
		await ingestWithPipeline(pg, BASELINE_LINES, ONE_BATCH);
		await ingestLineByLine(pg, BASELINE_LINES / 5);
		const aco: IngestRun[] = [];
		const batched: IngestRun[] = [];
		const baseline: IngestRun[] = [];
		for (let r = 0; r < REPETITIONS; r++) {
			aco.push(await ingestWithPipeline(pg, INGEST_LINES));
			batched.push(await ingestWithPipeline(pg, INGEST_LINES, ONE_BATCH));
			baseline.push(await ingestLineByLine(pg, BASELINE_LINES));
		}
		const a = medianOf(aco);
		const o = medianOf(batched);
		const b = medianOf(baseline);
		const throughput: Metric = {
			label: 'lines stored per second (PostgreSQL)',
			unit: '',
			aco: a.linesPerSecond,
			baseline: b.linesPerSecond,
			better: 'higher'
		};
		const overBatches: Metric = {
			label: `lines/s vs writes of one ${DEFAULT_MAX_BATCH_LINES}-line batch`,
			unit: '',
			aco: a.linesPerSecond,
			baseline: o.linesPerSecond,
			better: 'higher'
		};
		printTable(
			`Log ingest: LogPipeline → PostgreSQL vs one appendLogLines per line, and vs writes capped at one batch; median of ${REPETITIONS}`,
			[
				throughput,
				overBatches,
				{ label: 'lines', unit: '', aco: a.lines, baseline: b.lines, better: 'higher', compare: false },
				{
					label: 'seconds',
					unit: 's',
					aco: a.seconds,
					baseline: b.seconds,
					better: 'lower',
					digits: 2,
					compare: false
				}
			],
			[
				`target: at least ${TARGET_LINES_PER_SECOND.toLocaleString('en')} lines/s; ` +
					`${a.linesPerSecond >= TARGET_LINES_PER_SECOND ? 'met' : 'NOT met'} (${Math.round(a.linesPerSecond).toLocaleString('en')}) ` +
					`at a load average of ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores (PostgreSQL shares them)`,
				`writes capped at one batch: ${Math.round(o.linesPerSecond).toLocaleString('en')} lines/s in ${o.seconds.toFixed(2)} s`,
				`each append is one transaction: lock the execution row (it holds the stream ranks), COPY the lines; ` +
					`a backlog is written up to ${PG_LOG_BATCH.lines.toLocaleString('en')} lines (${PG_LOG_BATCH.bytes / 1024 / 1024} MiB) at a time`
			]
		);
		return { headline: throughput, also: [overBatches] };
	} finally {
		await pg.close();
	}
}
