/**
 * @module bench/peers/scenarios/huge-log
 * Scenario 10, one huge log: a real tool prints 1,000,000 lines as fast as its pipe allows, 10
 * clients watch; lines per second stored (SQLite, batched) and delivered to all of them, while
 * `/api/v1/healthz` is asked every 50 ms and must answer within 50 ms throughout (it is asked
 * once before, as a load balancer would have since the server started: a route's first request
 * loads its module, and that is not the log's doing; its time is noted). Then lines through
 * the ingest API: REST (`POST …/events`, one request at a time) and the hub's WebSocket
 * producer, each once first (a route's first requests, not counted) and then a few times in
 * turn, the median counting. Baseline, in the same run: the same tool's lines read by a bare
 * pipe (no aco), pinned like the server; every lines/s figure is also given as a ratio to it. And the peers' ceiling: the same tool run by uWebSockets.js's and
 * `ws`'s servers, each line published to the same watchers as it is read, nothing stored.
 */
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TaskResponse } from '../../../src/lib/protocol/api';
import { nowUs, percentile } from '../../lib/stats';
import { bar, type MetricSpec } from '../report';
import { pick, type Scenario } from '../suite';
import { SERVER_CPU } from '../harness';
import { floodWorkflows, runFlood, warmUp } from './lossless';
import { readFlood } from '../flood';
import { peerFlood } from '../peer-flood';
import type { IngestResult } from '../producers';
import type { SystemName } from '../systems';

const WATCHERS = 10;
const HEALTH_GAP_MS = 50;
/** times each ingest runs (at least; a run of more rounds runs it once a round) */
const INGEST_REPEATS = 3;
/**
 * The peers that read the same tool through a bare pipe in their server and publish each line to
 * the same watchers, storing nothing: how fast the fastest servers pass the tool's lines on, with
 * the tool on their core, as aco's is on its own.
 */
const FLOOD_PEERS: SystemName[] = ['uws', 'ws-frames', 'ws-cork'];

const METRICS: MetricSpec[] = [
	{ key: 'linesPerSecond', label: 'lines/s', unit: '', better: 'higher' },
	{ key: 'seconds', label: 'time', unit: 's', better: 'lower', digits: 1 },
	{ key: 'healthP99Ms', label: 'healthz p99', unit: 'ms', better: 'lower', digits: 1 },
	{ key: 'healthMaxMs', label: 'healthz max', unit: 'ms', better: 'lower', digits: 1 }
];

export const hugeLog: Scenario = {
	id: 10,
	name: 'huge-log',
	title: 'One huge log: 1,000,000 lines stored and delivered; ingest over REST and WebSocket',
	async run(suite) {
		const { quick, size } = suite.options;
		const lines = pick(size, 20_000, 100_000, 1_000_000);
		const workflowsDir = floodWorkflows(lines);
		try {
			const server = await suite.server('aco', { workflowsDir });
			await warmUp(server);
			const group = 'huge-log';
			const watchers = quick ? 2 : WATCHERS;
			await suite.connect(server, group, watchers);
			// the clients count the run's output lines (its other events come between them)
			await suite.loadgen.expect(group, [lines], [false]);
			const askHealth = async (): Promise<number> => {
				const t0 = nowUs();
				await (await fetch(`${server.httpUrl}/api/v1/healthz`)).arrayBuffer();
				return (nowUs() - t0) / 1000;
			};
			const firstHealthMs = await askHealth();
			let running = true;
			const health: number[] = [];
			const probing = (async () => {
				while (running) {
					health.push(await askHealth());
					await sleep(HEALTH_GAP_MS);
				}
			})();
			const flood = await runFlood(server);
			const delivered = await suite.loadgen.delivered(group, 600_000);
			running = false;
			await probing;
			const report = await suite.loadgen.report(group);
			const detail = await server.getJson<{ tasks: { id: string }[] }>(`/api/v1/runs/${flood.runId}`);
			const task = await server.getJson<TaskResponse>(`/api/v1/tasks/${detail.tasks[0]!.id}`);
			const stored = task.task.executions[0]?.line_count ?? 0;
			if (!delivered || report.complete !== report.clients || stored !== lines) {
				throw new Error(
					`stored ${stored} of ${lines} lines; ${report.complete} of ${report.clients} clients got every event in order` +
						[...report.closes, ...report.orderErrors].map((l) => `; ${l}`).join('')
				);
			}
			const deliveredSeconds = (report.lastUs - flood.startedUs) / 1e6;
			const sorted = Float64Array.from(health).sort();
			const ingest = {
				httpUrl: server.httpUrl!,
				wsUrl: server.url,
				lines: pick(size, 20_000, 50_000, 200_000)
			};
			// a short ingest lasts under a second and scatters by a quarter from one to the next:
			// each runs several times, the two alternating, and the median counts
			const repeats = Math.max(INGEST_REPEATS, suite.options.rounds);
			const restRuns: IngestResult[] = [];
			const wsRuns: IngestResult[] = [];
			const ingestRest = () => suite.loadgen.ingest('rest', { ...ingest, perMessage: 2_000 });
			const ingestWs = () => suite.loadgen.ingest('ws', { ...ingest, perMessage: 800, window: 4 });
			// the first of each loads its route's modules and runs the intake's code cold, once in a
			// server's life (as healthz's first request above): not counted, its rate noted
			const coldRest = await ingestRest();
			const coldWs = await ingestWs();
			for (let r = 0; r < repeats; r++) {
				restRuns.push(await ingestRest());
				wsRuns.push(await ingestWs());
			}
			const rest = medianRun(restRuns);
			const ws = medianRun(wsRuns);
			// the baseline and the peers have the server core to themselves
			await suite.disconnect(group);
			await server.close();
			const { linesPerSecond: alone } = await readFlood(lines, {
				cpu: suite.pinned ? SERVER_CPU : undefined
			});
			const peers: Record<string, Record<string, number>> = {};
			for (const peer of FLOOD_PEERS.filter((p) => suite.options.peers.includes(p))) {
				const { deliveredSeconds } = await peerFlood(suite, peer, lines, watchers);
				peers[`tool → ${peer}, no store`] = { linesPerSecond: lines / deliveredSeconds };
			}
			const figures: Record<string, Record<string, number>> = {
				'tool alone, bare pipe': { linesPerSecond: alone },
				'tool → stored and delivered': {
					linesPerSecond: lines / Math.max(flood.seconds, deliveredSeconds),
					seconds: Math.max(flood.seconds, deliveredSeconds),
					healthP99Ms: percentile(sorted, 99),
					healthMaxMs: percentile(sorted, 100)
				},
				'ingest, REST': { linesPerSecond: rest.linesPerSecond, seconds: rest.seconds },
				'ingest, WebSocket producer': { linesPerSecond: ws.linesPerSecond, seconds: ws.seconds },
				...peers
			};
			const tool = figures['tool → stored and delivered']!;
			return {
				figures,
				rounds: {},
				metrics: METRICS,
				ratios: [
					...Object.keys(figures)
						.filter((system) => system !== 'tool alone, bare pipe' && !(system in peers))
						.map((system) => ({
							system,
							peer: 'tool alone, bare pipe',
							metric: 'linesPerSecond',
							ratio: figures[system]!.linesPerSecond! / alone
						})),
					...Object.entries(peers).map(([peer, figure]) => ({
						system: 'tool → stored and delivered',
						peer,
						metric: 'linesPerSecond',
						ratio: tool.linesPerSecond! / figure.linesPerSecond!
					}))
				],
				bars: [
					bar(
						`lines/s of a ${lines.toLocaleString('en-US')}-line tool, stored and delivered`,
						tool.linesPerSecond!,
						'>=',
						200_000
					),
					bar('healthz slowest answer during it (ms)', tool.healthMaxMs!, '<=', 50),
					bar('ingest over REST (lines/s)', rest.linesPerSecond, '>=', 100_000),
					bar('ingest over the WebSocket producer (lines/s)', ws.linesPerSecond, '>=', 100_000)
				],
				notes: [
					`tool: run ${flood.seconds.toFixed(1)} s, last line at the last of ${report.clients} watchers ${deliveredSeconds.toFixed(1)} s; ` +
						`${health.length} healthz answers; every line stored (line_count) and delivered in order (checked)`,
					`healthz asked once before the tool starts (its route's first request): ${firstHealthMs.toFixed(1)} ms, not counted`,
					...(Object.keys(peers).length
						? [
								`"no store" rows: the same tool run by a peer's server on its core (as aco's step runs on aco's), each line ` +
									`published as it is read to ${watchers} watchers, nothing stored; the ceiling for passing the lines on with the tool on that core`
							]
						: []),
					`ingest: ${ingest.lines.toLocaleString('en-US')} lines, REST 2,000 lines per request one at a time, WebSocket 800 lines per frame, 4 in flight; ` +
						`each ${repeats} times, alternating, the median shown (REST ${spread(restRuns)}, WebSocket ${spread(wsRuns)} lines/s), ` +
						`after one run of each not counted (the server's first: REST ${Math.round(coldRest.linesPerSecond).toLocaleString('en-US')}, ` +
						`WebSocket ${Math.round(coldWs.linesPerSecond).toLocaleString('en-US')} lines/s)`
				]
			};
		} finally {
			fs.rmSync(workflowsDir, { recursive: true, force: true });
		}
	}
};

/** the run whose lines/s is the median (of an odd number of runs; the upper middle of an even one) */
function medianRun(runs: IngestResult[]): IngestResult {
	const sorted = [...runs].sort((a, b) => a.linesPerSecond - b.linesPerSecond);
	return sorted[sorted.length >> 1]!;
}

/** "50,495–95,361": the slowest and fastest of the runs */
function spread(runs: IngestResult[]): string {
	const rates = runs.map((run) => Math.round(run.linesPerSecond));
	return `${Math.min(...rates).toLocaleString('en-US')}–${Math.max(...rates).toLocaleString('en-US')}`;
}
