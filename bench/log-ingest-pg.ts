/**
 * @module bench/log-ingest-pg
 * Log ingest into PostgreSQL: the real `LogPipeline` (numbering, `tool.output` on a MemoryBus,
 * batched writes) into the real PostgreSQL store, fed as fast as a tool's output could arrive,
 * until `close()` says every line is stored. Baseline: the same store with one `appendLogLines`
 * per line (one transaction per line), as an unbatched writer would do. The server is Debian's
 * PostgreSQL started in a temp folder (tests/helpers/postgres.ts), with durability as in the tests.
 */
import os from 'node:os';
import { MemoryBus } from '../src/lib/server/bus/memory-bus';
import { createLogger } from '../src/lib/server/logger';
import { LogPipeline } from '../src/lib/server/orchestrator/log-pipeline';
import { openPgStore } from '../src/lib/server/store/pg/pg-store';
import { createStandaloneTask, createTestExecution } from '../src/lib/server/store/test-records';
import type { Store } from '../src/lib/server/store/types';
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

function ingestWithPipeline(pg: TestPostgres, lines: number): Promise<IngestRun> {
	return withExecution(pg, async (store, taskId, executionId) => {
		const pipeline = new LogPipeline({
			store,
			bus: new MemoryBus(),
			logger,
			task_id: taskId,
			run_id: null,
			execution_id: executionId
		});
		const started = performance.now();
		for (let i = 0; i < lines;) {
			const end = Math.min(lines, i + LINES_PER_READ);
			for (; i < end; i++) pipeline.push(lineStream(i), lineText(i));
			await yieldToLoop();
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
		await ingestLineByLine(pg, BASELINE_LINES / 5);
		const aco: IngestRun[] = [];
		const baseline: IngestRun[] = [];
		for (let r = 0; r < REPETITIONS; r++) {
			aco.push(await ingestWithPipeline(pg, INGEST_LINES));
			baseline.push(await ingestLineByLine(pg, BASELINE_LINES));
		}
		const a = medianOf(aco);
		const b = medianOf(baseline);
		const throughput: Metric = {
			label: 'lines stored per second (PostgreSQL)',
			unit: '',
			aco: a.linesPerSecond,
			baseline: b.linesPerSecond,
			better: 'higher'
		};
		printTable(
			`Log ingest: LogPipeline → PostgreSQL vs one appendLogLines per line; median of ${REPETITIONS}`,
			[
				throughput,
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
				'each append is one transaction: lock the execution, read the stream ranks, insert through unnest arrays'
			]
		);
		return { headline: throughput };
	} finally {
		await pg.close();
	}
}
