/**
 * @module bench/peers
 * `npm run bench -- peers [scenario…] [--quick | --short] [--rounds N] [--clients N] [--peers a,b]
 * [--profile dir] [--no-pin]`: aco
 * against the realtime servers people use today (plain `ws` two ways, Socket.IO 4,
 * uWebSockets.js), side by side in one run: each system in its own process pinned to one core,
 * the load generator pinned to the other, rounds interleaved. Prints a table per scenario with
 * every aco figure as a ratio against each peer and the issue's bars, and writes the run to
 * bench/results/. Scenarios by number or name (`peers 1 replay`); all of them by default.
 * `--quick` is a smoke of a few seconds per scenario (20 clients, tiny sizes); `--short` keeps
 * 1,000 clients but smaller logs and one round, about a minute per scenario; neither flag: the
 * issue's sizes, three rounds.
 */
import path from 'node:path';
import { canPin } from './lib/child';
import { printRows } from './lib/report';
import { LoadGen } from './peers/harness';
import { formatLimit, printScenario, writeResults, type ScenarioResult } from './peers/report';
import { SCENARIOS } from './peers/scenarios';
import { LABELS, Suite, type RunSize, type SuiteOptions } from './peers/suite';
import { uwsLoads, type SystemName } from './peers/systems';

export interface PeersRun {
	ok: boolean;
	file: string;
	results: ScenarioResult[];
}

function parse(args: string[]): { options: SuiteOptions; wanted: string[] } {
	const quick = args.includes('--quick');
	const size: RunSize = quick ? 'quick' : args.includes('--short') ? 'short' : 'full';
	const value = (flag: string, fallback: number) => {
		const at = args.indexOf(flag);
		return at >= 0 ? Number(args[at + 1]) : fallback;
	};
	const text = (flag: string) => {
		const at = args.indexOf(flag);
		return at >= 0 ? args[at + 1] : undefined;
	};
	const withValue = ['--rounds', '--clients', '--peers', '--profile'];
	const wanted = args.filter((a, i) => !a.startsWith('--') && !withValue.includes(args[i - 1] ?? ''));
	let peers: SystemName[] = ['ws-stringify', 'ws-cork', 'ws-frames', 'socketio', 'uws'];
	const only = text('--peers');
	if (only !== undefined) peers = peers.filter((p) => only.split(',').includes(p));
	if (!uwsLoads()) peers = peers.filter((p) => p !== 'uws');
	const profile = text('--profile');
	return {
		options: {
			size,
			quick,
			rounds: value('--rounds', size === 'full' ? 3 : 1),
			clients: value('--clients', quick ? 20 : 1000),
			pin: !args.includes('--no-pin'),
			peers,
			profileDir: profile ? path.resolve(profile) : undefined
		},
		wanted
	};
}

export async function runPeers(args: string[]): Promise<PeersRun> {
	const { options, wanted } = parse(args);
	const unknown = wanted.filter((w) => !SCENARIOS.some((s) => String(s.id) === w || s.name === w));
	if (unknown.length) {
		throw new Error(
			`unknown peers scenario ${unknown.join(', ')}; choose from ${SCENARIOS.map((s) => `${s.id} ${s.name}`).join(', ')}`
		);
	}
	const selected = wanted.length
		? SCENARIOS.filter((s) => wanted.includes(String(s.id)) || wanted.includes(s.name))
		: SCENARIOS;
	const pinned = options.pin && canPin();
	console.log(
		`\nPeers suite (${options.size}): ${selected.map((s) => s.id).join(', ')}; ${options.clients} clients; ${options.rounds} round(s); ` +
			(pinned
				? 'servers on core 0, load generator on core 1 (taskset)'
				: 'not pinned (no taskset or one core)') +
			(options.peers.includes('uws')
				? ''
				: '; uWebSockets.js skipped: its native binary does not load on this Node')
	);
	const loadgen = new LoadGen(pinned);
	const results: ScenarioResult[] = [];
	try {
		for (const scenario of selected) {
			const suite = new Suite(options, loadgen);
			const started = performance.now();
			let result: ScenarioResult;
			try {
				const outcome = await scenario.run(suite);
				result = { id: scenario.id, name: scenario.name, title: scenario.title, seconds: 0, ...outcome };
			} catch (err) {
				console.error(`\nscenario ${scenario.id} (${scenario.name}) failed:`, err);
				result = {
					id: scenario.id,
					name: scenario.name,
					title: scenario.title,
					seconds: 0,
					figures: {},
					rounds: {},
					metrics: [],
					ratios: [],
					bars: [],
					notes: [],
					error: err instanceof Error ? err.message : String(err)
				};
			} finally {
				await suite.release();
			}
			result.seconds = (performance.now() - started) / 1000;
			results.push(result);
			printScenario(result, LABELS);
		}
	} finally {
		await loadgen.stop();
	}
	const file = writeResults({ options, pinned, results }, options.size);
	printSummary(results);
	console.log(`\nresults: ${file}`);
	return { ok: results.every((r) => !r.error), file, results };
}

function printSummary(results: ScenarioResult[]): void {
	console.log('\nPeers summary: the bars');
	const rows = [['scenario', 'bar', 'value', 'result']];
	for (const r of results) {
		if (r.error) rows.push([`${r.id} ${r.name}`, 'ran', '—', 'FAILED']);
		for (const b of r.bars) {
			const value = Math.abs(b.value) < 10 ? b.value.toFixed(2) : Math.round(b.value).toLocaleString('en-US');
			rows.push([
				`${r.id} ${r.name}`,
				`${b.text} ${b.op} ${formatLimit(b.limit)}`,
				value,
				b.pass ? 'PASS' : 'MISS'
			]);
		}
	}
	printRows(rows, [0, 1]);
}
