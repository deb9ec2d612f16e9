/**
 * @module bench/log-download
 * Log download: a 500,000-line execution in the real SQLite store, downloaded through
 * `logStream` (chunks pulled from the store as the sink takes them), measured for throughput
 * and for the memory the process grows by. Baseline, in the same run: every line read with
 * `readLogLines` (10,000 a call, the store's cap) into one string, as a non-streaming handler
 * would. Each download runs in a fresh child process so neither inherits the other's heap.
 */
import type { LogLine } from '../src/lib/protocol/models';
import type { DownloadMode, DownloadResult, Sampling } from './log-download/download.child';
import { BenchChild } from './lib/child';
import { lineStream, lineText, openBenchStore, type BenchStore } from './lib/fixtures';
import { check, printTable, type BenchSummary, type Metric } from './lib/report';
import { MB, medianOf } from './lib/stats';

export const DOWNLOAD_LINES = 500_000;
export const REPETITIONS = 3;
const APPEND_BATCH = 10_000;
const CHILD_TIMEOUT_MS = 60_000;
const DOWNLOAD_MODULE = new URL('./log-download/download.child.ts', import.meta.url);

type DownloadRun = Pick<DownloadResult, 'bytes' | 'seconds' | 'rssGrowthMB' | 'heapGrowthMB'> & {
	megabytesPerSecond: number;
	exactGc: number;
};

/** Stores the log and returns the size of its text download (every line plus its newline). */
async function populate(bench: BenchStore): Promise<number> {
	let bytes = 0;
	const ts = new Date().toISOString();
	for (let first = 0; first < DOWNLOAD_LINES; first += APPEND_BATCH) {
		const batch: LogLine[] = [];
		for (let i = first; i < Math.min(DOWNLOAD_LINES, first + APPEND_BATCH); i++) {
			const text = lineText(i);
			bytes += Buffer.byteLength(text) + 1;
			batch.push({ n: i + 1, stream: lineStream(i), ts, text });
		}
		await bench.store.appendLogLines(bench.executionId, batch);
	}
	return bytes;
}

async function download(
	bench: BenchStore,
	mode: DownloadMode,
	sampling: Sampling,
	expectedBytes: number
): Promise<DownloadRun> {
	const child = new BenchChild(DOWNLOAD_MODULE, [bench.dir, bench.executionId, mode, sampling]);
	try {
		const result = await child.next<DownloadResult>('result', CHILD_TIMEOUT_MS);
		check(
			result.bytes === expectedBytes,
			`${mode}: downloaded ${result.bytes} bytes, expected ${expectedBytes}`
		);
		const { bytes, seconds, rssGrowthMB, heapGrowthMB } = result;
		return {
			bytes,
			seconds,
			rssGrowthMB,
			heapGrowthMB,
			megabytesPerSecond: bytes / MB / seconds,
			exactGc: result.exactGc ? 1 : 0
		};
	} finally {
		await child.stop();
	}
}

export async function runLogDownload(): Promise<BenchSummary> {
	const bench = await openBenchStore('download');
	const runs: Record<DownloadMode, DownloadRun[]> = { stream: [], pool: [], whole: [] };
	const live = {} as Record<DownloadMode, DownloadRun>;
	let expectedBytes: number;
	try {
		expectedBytes = await populate(bench);
		// the children open the database themselves; closing here checkpoints the WAL into it
		await bench.store.close();
		for (let r = 0; r < REPETITIONS; r++) {
			runs.stream.push(await download(bench, 'stream', 'observed', expectedBytes));
			runs.pool.push(await download(bench, 'pool', 'observed', expectedBytes));
			runs.whole.push(await download(bench, 'whole', 'observed', expectedBytes));
		}
		live.stream = await download(bench, 'stream', 'live', expectedBytes);
		live.whole = await download(bench, 'whole', 'live', expectedBytes);
	} finally {
		await bench.dispose();
	}
	const a = medianOf(runs.stream);
	const b = medianOf(runs.whole);
	const p = medianOf(runs.pool);
	const held: Metric = {
		label: 'peak memory held (live, after GC)',
		unit: 'MB',
		aco: live.stream.heapGrowthMB,
		baseline: live.whole.heapGrowthMB,
		better: 'lower',
		digits: 1
	};
	const heap: Metric = {
		label: 'peak heap + buffers growth',
		unit: 'MB',
		aco: a.heapGrowthMB,
		baseline: b.heapGrowthMB,
		better: 'lower',
		digits: 1
	};
	const rss: Metric = {
		label: 'peak RSS growth',
		unit: 'MB',
		aco: a.rssGrowthMB,
		baseline: b.rssGrowthMB,
		better: 'lower',
		digits: 1
	};
	const speed: Metric = {
		label: 'throughput',
		unit: 'MB/s',
		aco: a.megabytesPerSecond,
		baseline: b.megabytesPerSecond,
		better: 'higher',
		digits: 1
	};
	printTable(
		`Log download: ${DOWNLOAD_LINES.toLocaleString('en-US')} lines (${(expectedBytes / MB).toFixed(1)} MB), ` +
			`logStream vs readLogLines into one string; median of ${REPETITIONS}`,
		[
			held,
			heap,
			rss,
			speed,
			{ label: 'time', unit: 's', aco: a.seconds, baseline: b.seconds, better: 'lower', digits: 2 }
		],
		[
			'growth = peak during the download − usage after a full GC just before it, each run in a fresh process',
			'"held": one more untimed run each, with a full GC before every sample, so garbage is not counted',
			'the difference between observed and held is garbage V8 had not collected yet',
			'MB = 1,000,000 bytes; the sink only counts bytes, so throughput is the store and the formatting',
			...(a.exactGc && live.stream.exactGc
				? []
				: ['no global.gc (run with --expose-gc): memory figures are rough'])
		]
	);
	const poolSpeed: Metric = {
		label: 'throughput',
		unit: 'MB/s',
		aco: p.megabytesPerSecond,
		baseline: a.megabytesPerSecond,
		better: 'higher',
		digits: 1
	};
	printTable(
		`Log download through the read pool (a worker thread, as the server reads SQLite) vs logStream on the event loop; median of ${REPETITIONS}`,
		[
			poolSpeed,
			{ label: 'time', unit: 's', aco: p.seconds, baseline: a.seconds, better: 'lower', digits: 2 },
			{
				label: 'peak RSS growth',
				unit: 'MB',
				aco: p.rssGrowthMB,
				baseline: a.rssGrowthMB,
				better: 'lower',
				digits: 1
			}
		],
		["the pool's thread is started before the clock starts; its RSS is in the process's"]
	);
	return { headline: held, also: [rss, speed, poolSpeed] };
}
