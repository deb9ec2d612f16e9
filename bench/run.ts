/**
 * @module bench/run
 * `npm run bench`: runs every benchmark (or those named on the command line), each against
 * its baseline in the same run, and ends with a summary of the ratios. Exits non-zero if a
 * benchmark failed its own checks (lost or reordered events, missing lines, wrong bytes).
 *
 * @example
 * npm run bench                 # all of them
 * npm run bench -- hub-fanout   # only one
 * npm run bench -- peers        # aco against ws, Socket.IO and uWebSockets.js (bench/peers.ts)
 */
import { runCliStartup } from './cli-startup';
import { runClusterFanout } from './cluster-fanout';
import { runHubFanout } from './hub-fanout';
import { runLogDownload } from './log-download';
import { runLogIngest } from './log-ingest';
import { runLogIngestPg } from './log-ingest-pg';
import { runLogQuery } from './log-query';
import { runMasking } from './masking';
import { runPeers } from './peers';
import { runRunPlan } from './run-plan';
import { runWsFlood } from './ws-flood';
import { formatRatio, printRows, type BenchSummary, type Metric } from './lib/report';

interface Bench {
	name: string;
	run(): Promise<BenchSummary>;
}

const BENCHES: Bench[] = [
	{ name: 'log-ingest', run: runLogIngest },
	{ name: 'log-ingest-pg', run: runLogIngestPg },
	{ name: 'hub-fanout', run: runHubFanout },
	{ name: 'log-download', run: runLogDownload },
	{ name: 'log-query', run: runLogQuery },
	{ name: 'masking', run: runMasking },
	{ name: 'run-plan', run: runRunPlan },
	{ name: 'cli-startup', run: runCliStartup },
	{ name: 'ws-flood', run: runWsFlood },
	{ name: 'cluster-fanout', run: runClusterFanout }
];

/** After the summary, anything still holding the event loop is a leak in a bench; do not hang on it. */
const EXIT_GRACE_MS = 2_000;
/** a failure's full message is printed where it happens; the summary keeps its start */
const SUMMARY_MESSAGE_CHARS = 140;

function describe(metric: Metric): string {
	return `${metric.label} ${formatRatio(metric)}`;
}

async function main(): Promise<number> {
	const wanted = process.argv.slice(2);
	// `peers` takes its own arguments (scenarios and flags), see bench/peers.ts
	if (wanted[0] === 'peers') return (await runPeers(wanted.slice(1))).ok ? 0 : 1;
	const unknown = wanted.filter((name) => !BENCHES.some((b) => b.name === name));
	if (unknown.length) {
		console.error(
			`unknown bench ${unknown.join(', ')}; choose from ${BENCHES.map((b) => b.name).join(', ')} or peers`
		);
		return 2;
	}
	const selected = wanted.length ? BENCHES.filter((b) => wanted.includes(b.name)) : BENCHES;
	const gc = typeof (globalThis as { gc?: unknown }).gc === 'function';
	console.log(
		`aco benchmarks: node ${process.version}, ${process.platform}/${process.arch}` +
			(gc ? '' : ' — without --expose-gc, memory figures are rough')
	);
	const started = performance.now();
	const rows: string[][] = [['bench', 'time', 'ratio vs baseline (> 1 = aco better)']];
	let failed = 0;
	for (const bench of selected) {
		const benchStarted = performance.now();
		let outcome: string;
		try {
			const summary = await bench.run();
			outcome = [summary.headline, ...(summary.also ?? [])].map(describe).join(', ');
		} catch (err) {
			failed += 1;
			const message = err instanceof Error ? err.message : String(err);
			const cut = message.length > SUMMARY_MESSAGE_CHARS;
			outcome = `FAILED: ${message.slice(0, SUMMARY_MESSAGE_CHARS)}${cut ? '…' : ''}`;
			console.error(`\n${bench.name} FAILED`, err);
		}
		rows.push([bench.name, `${((performance.now() - benchStarted) / 1000).toFixed(1)} s`, outcome]);
	}
	console.log(`\nSummary (${((performance.now() - started) / 1000).toFixed(1)} s in all)`);
	printRows(rows, [0, 2]);
	return failed ? 1 : 0;
}

main().then(
	(code) => {
		process.exitCode = code;
		setTimeout(() => {
			console.error('bench: something still holds the event loop after the run; exiting anyway');
			process.exit(code);
		}, EXIT_GRACE_MS).unref();
	},
	(err: unknown) => {
		console.error(err);
		process.exit(1);
	}
);
