/**
 * @module bench/peers/scenarios/lossless
 * Scenario 0, no healthy client misses a line: a real tool (a workflow step) prints LINES lines
 * as fast as its pipe allows, watched by clients that read at full speed. Each must get every
 * event of the run, in seq order, with no `dropped` notice and no close; and the run must end
 * as fast as it does with no subscriber (within 1.5×): the fan-out may lag behind the tool, but
 * must not hold it up.
 *
 * Each run is split into its phases from what the server stored (the tool's start, its first and
 * last line, the run's end): with clients, the fan-out and the tool share the server's core. The
 * ceiling in the same run: uWebSockets.js reading the same tool on its core (see peer-flood), its
 * tool time with the same clients ÷ with none.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type {
	LogLinesResponse,
	RealtimeStatsResponse,
	RunDetailResponse,
	RunResponse,
	TaskResponse
} from '../../../src/lib/protocol/api';
import { nowUs } from '../../lib/stats';
import { floodScript } from '../flood';
import type { ServerHandle } from '../harness';
import { peerFlood } from '../peer-flood';
import { bar, type MetricSpec } from '../report';
import { medians, pick, record, type Scenario } from '../suite';

/**
 * How often the bench asks whether the flood run has finished. Its time is the run's own
 * `finished_at` (the server's clock, which is this machine's), so the asking need not be
 * frequent: asked every 10 ms, the run's page (run and tasks from the store, through SvelteKit)
 * took about 7 % of the server's core while a 100,000-line tool ran.
 */
const POLL_MS = 100;

/** Lines of the warm-up run (see {@link warmUp}). */
const WARM_LINES = 2_000;

/**
 * Workflows whose one step prints numbered lines as fast as its stdout takes them: `flood`,
 * `lines` of them, and `warm`, a few.
 */
export function floodWorkflows(lines: number): string {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aco-bench-flood-'));
	for (const [name, count] of [
		['flood', lines],
		['warm', WARM_LINES]
	] as const) {
		fs.writeFileSync(
			path.join(dir, `${name}.yml`),
			`name: ${name}\ntasks:\n  ${name}:\n    name: ${name}\n    steps:\n      - name: print\n        run: ${JSON.stringify(process.execPath)}\n        args: ["-e", ${JSON.stringify(floodScript(count))}]\n`
		);
	}
	return dir;
}

/**
 * Runs the `warm` workflow once, before any client connects: a server that has run a workflow
 * before has loaded the modules of the routes a run goes through (starting it, its page) and
 * compiled its code paths. A fresh server loads them in the first run, which read as a tenth of
 * a 100,000-line tool's time.
 */
export async function warmUp(server: ServerHandle): Promise<void> {
	await runFlood(server, 'warm');
}

/**
 * CPU the server and its tool took from a flood run's start to the poll that saw it finished
 * (the fan-out goes on after, and is partly in it), in seconds; the tool's where /proc tells.
 */
async function runCpu(
	server: ServerHandle,
	run: () => Promise<FloodRun>
): Promise<FloodRun & { cpu: Record<string, number> }> {
	const before = await server.cpu();
	const result = await run();
	const after = await server.cpu();
	const cpu: Record<string, number> = { serverCpuSeconds: (after.us - before.us) / 1e6 };
	if (after.childrenUs !== null && before.childrenUs !== null) {
		cpu.toolCpuSeconds = (after.childrenUs - before.childrenUs) / 1e6;
	}
	return { ...result, cpu };
}

interface FloodRun {
	runId: string;
	seconds: number;
	startedUs: number;
}

/** Starts a run of `workflow` and resolves with its id and how long it took to finish. */
export async function runFlood(server: ServerHandle, workflow = 'flood'): Promise<FloodRun> {
	const startedUs = nowUs();
	const startedMs = Date.now();
	const res = await fetch(`${server.httpUrl}/api/v1/workflows/${workflow}/runs`, { method: 'POST' });
	if (res.status !== 201) throw new Error(`starting the flood run: HTTP ${res.status} ${await res.text()}`);
	const { run } = (await res.json()) as RunResponse;
	for (;;) {
		const detail = await server.getJson<RunDetailResponse>(`/api/v1/runs/${run.id}`);
		const { status, finished_at } = detail.run;
		if (status !== 'running' && status !== 'queued') {
			if (status !== 'succeeded') throw new Error(`the flood run ended ${status}`);
			const finishedMs = finished_at === null ? Date.now() : Date.parse(finished_at);
			return { runId: run.id, seconds: (finishedMs - startedMs) / 1000, startedUs };
		}
		await sleep(POLL_MS);
	}
}

/** Where a flood run's time went, in seconds, from what the server stored. */
interface RunPhases {
	/** the run's start → its tool's first line (queueing the task, starting the tool) */
	startSeconds: number;
	/** the tool's first line → its last */
	linesSeconds: number;
	/** the last line → the run finished */
	finishSeconds: number;
}

async function runPhases(server: ServerHandle, runId: string): Promise<RunPhases> {
	const { run, tasks } = await server.getJson<RunDetailResponse>(`/api/v1/runs/${runId}`);
	const { task } = await server.getJson<TaskResponse>(`/api/v1/tasks/${tasks[0]!.id}`);
	const execution = task.executions[0]!;
	const lines = `/api/v1/executions/${execution.id}/lines`;
	const first = (await server.getJson<LogLinesResponse>(`${lines}?limit=1`)).lines[0];
	const last = (await server.getJson<LogLinesResponse>(`${lines}?tail=1`)).lines.at(-1);
	if (!first || !last || run.started_at === null || run.finished_at === null) {
		throw new Error(`the flood run ${runId} has no lines or no start and end`);
	}
	const ms = (iso: string) => Date.parse(iso);
	return {
		startSeconds: (ms(first.ts) - ms(run.started_at)) / 1000,
		linesSeconds: (ms(last.ts) - ms(first.ts)) / 1000,
		finishSeconds: (ms(run.finished_at) - ms(last.ts)) / 1000
	};
}

const METRICS: MetricSpec[] = [
	{ key: 'runSeconds', label: 'run (tool start → run finished)', unit: 's', better: 'lower', digits: 2 },
	{ key: 'startSeconds', label: 'start → first line', unit: 's', better: 'lower', digits: 3 },
	{ key: 'linesSeconds', label: 'first → last line', unit: 's', better: 'lower', digits: 3 },
	{ key: 'finishSeconds', label: 'last line → finished', unit: 's', better: 'lower', digits: 3 },
	{ key: 'toolSeconds', label: 'tool start → last line read', unit: 's', better: 'lower', digits: 2 },
	{ key: 'serverCpuSeconds', label: 'server CPU', unit: 's', better: 'lower', digits: 2 },
	{ key: 'toolCpuSeconds', label: 'tool CPU', unit: 's', better: 'lower', digits: 2 },
	{ key: 'deliveredSeconds', label: 'every line at every client', unit: 's', better: 'lower', digits: 2 },
	{ key: 'deliveriesPerSecond', label: 'deliveries/s', unit: '', better: 'higher' }
];

export const lossless: Scenario = {
	id: 0,
	name: 'lossless',
	title: 'No healthy client misses a line: a real tool printing flat out, clients reading at full speed',
	async run(suite) {
		const { size, clients } = suite.options;
		const lines = pick(size, 2_000, 5_000, 20_000);
		const workflowsDir = floodWorkflows(lines);
		try {
			const server = await suite.server('aco', { workflowsDir });
			await warmUp(server);
			const rounds: Record<string, Record<string, number[]>> = {};
			const roundCount = Math.min(2, suite.options.rounds);
			// alone first, then watched, on a warm server: the tool and its store work the same either way
			for (let r = 0; r < roundCount; r++) {
				const alone = await runCpu(server, () => runFlood(server));
				const phases = await runPhases(server, alone.runId);
				record(rounds, 'aco-bare', { runSeconds: alone.seconds, ...phases, ...alone.cpu }, METRICS);
			}
			const group = 'lossless';
			await suite.connect(server, group, clients);
			// watched once before counting, as the bare runs come after the warm-up: the first run
			// with clients compiles the fan-out's code (V8's optimising compiler, on the same core)
			await suite.loadgen.expect(group, [WARM_LINES], [false]);
			const coldWatched = await runFlood(server, 'warm');
			if (!(await suite.loadgen.delivered(group, 600_000))) {
				throw new Error('the watched warm-up run did not reach every client');
			}
			for (let r = 0; r < roundCount; r++) {
				const before = await server.getJson<RealtimeStatsResponse>('/api/v1/realtime/stats');
				// the clients count the run's output lines (its other events come between them)
				await suite.loadgen.expect(group, [lines], [false]);
				const watched = await runCpu(server, () => runFlood(server));
				const complete = await suite.loadgen.delivered(group, 600_000);
				const report = await suite.loadgen.report(group);
				const stats = await server.getJson<RealtimeStatsResponse>('/api/v1/realtime/stats');
				const lost = stats.backpressure.dropped - before.backpressure.dropped;
				const closed = stats.backpressure.slow_consumer_closes - before.backpressure.slow_consumer_closes;
				if (!complete || report.complete !== clients || lost > 0 || closed > 0) {
					throw new Error(
						`${report.complete} of ${clients} clients got all ${lines} lines of the run in order; ` +
							`${lost} dropped, ${closed} closed as slow` +
							[...report.closes, ...report.orderErrors].map((l) => `; ${l}`).join('')
					);
				}
				const deliveredSeconds = (report.lastUs - watched.startedUs) / 1e6;
				const phases = await runPhases(server, watched.runId);
				record(
					rounds,
					'aco',
					{
						runSeconds: watched.seconds,
						...phases,
						...watched.cpu,
						deliveredSeconds,
						deliveriesPerSecond: report.received / deliveredSeconds
					},
					METRICS
				);
			}
			// the ceiling has the server's core to itself
			await suite.disconnect(group);
			await server.close();
			const ceiling = suite.options.peers.includes('uws');
			for (let r = 0; ceiling && r < roundCount; r++) {
				const alone = await peerFlood(suite, 'uws', lines, 0, { warmLines: WARM_LINES });
				record(rounds, 'uws-bare', { toolSeconds: alone.toolSeconds }, METRICS);
				const watched = await peerFlood(suite, 'uws', lines, clients, { warmLines: WARM_LINES });
				record(
					rounds,
					'uws',
					{
						toolSeconds: watched.toolSeconds,
						deliveredSeconds: watched.deliveredSeconds,
						deliveriesPerSecond: (lines * clients) / watched.deliveredSeconds
					},
					METRICS
				);
			}
			const figures = medians(rounds);
			const slower = figures.aco!.runSeconds! / figures['aco-bare']!.runSeconds!;
			const uwsSlower = ceiling ? figures.uws!.toolSeconds! / figures['uws-bare']!.toolSeconds! : null;
			return {
				figures,
				rounds,
				metrics: METRICS,
				ratios: [
					{ system: 'aco', peer: 'aco-bare', metric: 'runSeconds', ratio: 1 / slower },
					...(ceiling
						? [
								{
									system: 'aco',
									peer: 'uws',
									metric: 'deliveredSeconds',
									ratio: figures.uws!.deliveredSeconds! / figures.aco!.deliveredSeconds!
								}
							]
						: [])
				],
				bars: [bar(`run time with ${clients} subscribers ÷ with none`, slower, '<=', 1.5)],
				notes: [
					`${lines.toLocaleString('en-US')} lines from a real tool (a workflow step), ${clients} clients subscribed to everything; ` +
						'every client got every line of the run once, in seq order; no dropped notice, no slow-consumer close (checked)',
					"the phases are the server's own times: the run's start, the first and last line's, the run's end; the tool shares the server's core (as a workflow step does), " +
						"so with clients it shares it with the fan-out as well; CPU from the run's start to the poll (every 100 ms) that saw it finished",
					`before the counted runs, the ${WARM_LINES.toLocaleString('en-US')}-line warm-up ran once with no client and once watched ` +
						`(the first watched run compiles the fan-out's code: ${coldWatched.seconds.toFixed(2)} s), neither counted`,
					...(uwsSlower === null
						? []
						: [
								`uWebSockets.js rows: the same tool on its server's core, each line published as read to the same clients, nothing stored ` +
									`(warmed up like aco; tool start → last line read; the ceiling): ${clients} subscribers ÷ none = ${uwsSlower.toFixed(2)}`
							])
				]
			};
		} finally {
			fs.rmSync(workflowsDir, { recursive: true, force: true });
		}
	}
};
