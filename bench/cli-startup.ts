/**
 * @module bench/cli-startup
 * How long the `aco` command takes before it does anything, as a user runs it (`bin/aco.js`,
 * which loads the JavaScript bundle in dist/). Baselines from the same run, interleaved with
 * aco's runs so a busy moment of the machine hits both alike:
 * - `aco --help` against `node -e 0` (Node's own start-up; the target is under 0.3 s in all);
 * - `aco exec -- true` against `true` alone, with a real server (dist/server.js) taking the
 *   task and its log (the target is under 0.3 s added).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, SERVER_BUNDLE, startAco } from '../tests/helpers/server';
import { check, printTable, type BenchSummary, type Metric } from './lib/report';
import { median } from './lib/stats';

export const REPETITIONS = 15;
/** the bars: `aco --help` in all, and what `aco exec` adds to the command it runs */
export const HELP_TARGET_MS = 300;
export const EXEC_OVERHEAD_TARGET_MS = 300;

const ACO = path.join(ROOT, 'bin/aco.js');

/** wall time of one run of a command, in ms; it must exit 0 */
function timed(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): number {
	const started = performance.now();
	const result = spawnSync(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
	const ms = performance.now() - started;
	check(
		result.status === 0,
		`${command} ${args.join(' ')} exited ${result.status}: ${String(result.stderr).slice(0, 300)}`
	);
	return ms;
}

export async function runCliStartup(): Promise<BenchSummary> {
	check(fs.existsSync(SERVER_BUNDLE), `${SERVER_BUNDLE} is missing: run "npm run build" first`);
	const server = await startAco();
	try {
		const env = { ...process.env, ACO_URL: server.url, ACO_TOKEN: '' };
		const node = process.execPath;
		const times = { node: [] as number[], help: [] as number[], truth: [] as number[], exec: [] as number[] };
		// one round first, so the page cache holds every file
		timed(node, ['-e', '0']);
		timed(node, [ACO, '--help']);
		timed(node, [ACO, 'exec', '--quiet', '--', 'true'], env);
		for (let r = 0; r < REPETITIONS; r++) {
			times.node.push(timed(node, ['-e', '0']));
			times.help.push(timed(node, [ACO, '--help']));
			times.truth.push(timed('true', []));
			times.exec.push(timed(node, [ACO, 'exec', '--quiet', '--', 'true'], env));
		}
		const tasks = (await (await fetch(`${server.url}/api/v1/tasks?limit=100`)).json()) as {
			tasks: { status: string }[];
		};
		const succeeded = tasks.tasks.filter((t) => t.status === 'succeeded').length;
		check(succeeded === REPETITIONS + 1, `the server got ${succeeded} of ${REPETITIONS + 1} exec tasks`);

		const m = {
			node: median(times.node),
			help: median(times.help),
			truth: median(times.truth),
			exec: median(times.exec)
		};
		const help: Metric = {
			label: 'aco --help vs node -e 0',
			unit: 'ms',
			aco: m.help,
			baseline: m.node,
			better: 'lower',
			digits: 0
		};
		const exec: Metric = {
			label: 'aco exec -- true vs true',
			unit: 'ms',
			aco: m.exec,
			baseline: m.truth,
			better: 'lower',
			digits: 0
		};
		const overhead = m.exec - m.truth;
		printTable(
			`CLI start-up: bin/aco.js on the bundle in dist/; median of ${REPETITIONS}`,
			[help, exec],
			[
				`aco --help: ${m.help.toFixed(0)} ms in all, ${(m.help - m.node).toFixed(0)} ms over node -e 0 ` +
					`(target under ${HELP_TARGET_MS} ms in all: ${m.help < HELP_TARGET_MS ? 'met' : 'MISSED'})`,
				`aco exec adds ${overhead.toFixed(0)} ms to true, the task and its log delivered to the server ` +
					`(target under ${EXEC_OVERHEAD_TARGET_MS} ms: ${overhead < EXEC_OVERHEAD_TARGET_MS ? 'met' : 'MISSED'})`,
				`as multiples of node -e 0: aco --help ${(m.help / m.node).toFixed(2)}×, aco exec -- true ${(m.exec / m.node).toFixed(2)}×`
			]
		);
		return { headline: help, also: [exec] };
	} finally {
		await server.stop();
		fs.rmSync(server.dataDir, { recursive: true, force: true });
	}
}
