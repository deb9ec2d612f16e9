/**
 * @module bench/log-ingest
 * Log ingest: the real `LogPipeline` (numbering, `tool.lines` on a MemoryBus, batched
 * writes) into the real SQLite store, fed as fast as a tool's output could arrive, until
 * `close()` says every line is stored. Baseline: the same store with one `appendLogLines`
 * per line, i.e. one transaction per line, as an unbatched writer would do.
 */
import { MemoryBus } from '../src/lib/server/bus/memory-bus';
import { createLogger } from '../src/lib/server/logger';
import { LogPipeline } from '../src/lib/server/orchestrator/log-pipeline';
import { lineStream, lineText, openBenchStore } from './lib/fixtures';
import { check, printTable, type BenchSummary, type Metric } from './lib/report';
import { medianOf, yieldToLoop } from './lib/stats';

export const INGEST_LINES = 200_000;
/** fewer lines: one transaction per line is slow, and throughput per line is what is compared */
export const BASELINE_LINES = 20_000;
/** lines per event-loop turn, about what one 32 KiB read of a tool's stdout brings */
export const LINES_PER_READ = 256;
export const REPETITIONS = 3;

interface IngestRun extends Record<string, number> {
	lines: number;
	/** first line pushed → every line stored */
	seconds: number;
	linesPerSecond: number;
	/** last line pushed → every line stored: how far storage lags behind the producer */
	lagMs: number;
}

async function ingestWithPipeline(lines: number): Promise<IngestRun> {
	const bench = await openBenchStore('ingest');
	try {
		const bus = new MemoryBus();
		let published = 0;
		bus.subscribe((event) => {
			if (event.type === 'tool.lines') published += event.data.lines.length;
		});
		const pipeline = new LogPipeline({
			store: bench.store,
			bus,
			logger: createLogger('silent'),
			task_id: bench.taskId,
			run_id: null,
			execution_id: bench.executionId
		});
		const started = performance.now();
		for (let i = 0; i < lines;) {
			const end = Math.min(lines, i + LINES_PER_READ);
			for (; i < end; i++) pipeline.push(lineStream(i), lineText(i));
			await yieldToLoop();
		}
		const pushed = performance.now();
		await pipeline.close();
		const stored = performance.now();
		const execution = await bench.store.getExecution(bench.executionId);
		check(execution?.line_count === lines, `pipeline stored ${execution?.line_count} of ${lines} lines`);
		check(published === lines, `pipeline published ${published} of ${lines} lines as tool.lines`);
		const seconds = (stored - started) / 1000;
		return { lines, seconds, linesPerSecond: lines / seconds, lagMs: stored - pushed };
	} finally {
		await bench.dispose();
	}
}

async function ingestLineByLine(lines: number): Promise<IngestRun> {
	const bench = await openBenchStore('ingest-baseline');
	try {
		const { store, executionId } = bench;
		const started = performance.now();
		for (let i = 0; i < lines; i++) {
			const line = { n: i + 1, stream: lineStream(i), ts: new Date().toISOString(), text: lineText(i) };
			await store.appendLogLines(executionId, [line]);
			if ((i + 1) % LINES_PER_READ === 0) await yieldToLoop();
		}
		const stored = performance.now();
		const execution = await store.getExecution(executionId);
		check(execution?.line_count === lines, `baseline stored ${execution?.line_count} of ${lines} lines`);
		const seconds = (stored - started) / 1000;
		return { lines, seconds, linesPerSecond: lines / seconds, lagMs: 0 };
	} finally {
		await bench.dispose();
	}
}

export async function runLogIngest(): Promise<BenchSummary> {
	// one short round of each first, so JIT warm-up is not measured
	await ingestWithPipeline(BASELINE_LINES / 4);
	await ingestLineByLine(BASELINE_LINES / 4);
	const aco: IngestRun[] = [];
	const baseline: IngestRun[] = [];
	for (let r = 0; r < REPETITIONS; r++) {
		aco.push(await ingestWithPipeline(INGEST_LINES));
		baseline.push(await ingestLineByLine(BASELINE_LINES));
	}
	const a = medianOf(aco);
	const b = medianOf(baseline);
	const throughput: Metric = {
		label: 'lines stored per second',
		unit: '',
		aco: a.linesPerSecond,
		baseline: b.linesPerSecond,
		better: 'higher'
	};
	const perLine: Metric = {
		label: 'time per line',
		unit: 'µs',
		aco: 1e6 / a.linesPerSecond,
		baseline: 1e6 / b.linesPerSecond,
		better: 'lower',
		digits: 2
	};
	printTable(
		`Log ingest: LogPipeline → SQLite (WAL file) vs one appendLogLines per line; median of ${REPETITIONS}`,
		[
			throughput,
			perLine,
			{ label: 'lines', unit: '', aco: a.lines, baseline: b.lines, better: 'higher', compare: false },
			{
				label: 'time until every line is stored',
				unit: 's',
				aco: a.seconds,
				baseline: b.seconds,
				better: 'lower',
				digits: 2,
				compare: false
			}
		],
		[
			`aco also publishes every line (as tool.lines) on the bus; the baseline only stores`,
			`storage lag after the last line was pushed (aco): ${a.lagMs.toFixed(1)} ms`,
			`lines arrive ${LINES_PER_READ} per event-loop turn, as from a tool's stdout`
		]
	);
	return { headline: throughput };
}
