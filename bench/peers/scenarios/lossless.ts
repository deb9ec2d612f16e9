/**
 * @module bench/peers/scenarios/lossless
 * Scenario 0, no healthy client misses a line: a real tool (a workflow step) prints LINES lines
 * as fast as its pipe allows, watched by clients that read at full speed. Each must get every
 * event of the run, in seq order, with no `dropped` notice and no close; and the run must end
 * as fast as it does with no subscriber (within 1.5×): the fan-out may lag behind the tool, but
 * must not hold it up.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RealtimeStatsResponse, RunDetailResponse, RunResponse } from '../../../src/lib/protocol/api';
import { nowUs } from '../../lib/stats';
import { floodScript } from '../flood';
import type { ServerHandle } from '../harness';
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

/** Starts a run of `workflow` and resolves with its id and how long it took to finish. */
export async function runFlood(
	server: ServerHandle,
	workflow = 'flood'
): Promise<{ runId: string; seconds: number; startedUs: number }> {
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

const METRICS: MetricSpec[] = [
	{ key: 'runSeconds', label: 'run (tool start → run finished)', unit: 's', better: 'lower', digits: 2 },
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
				const alone = await runFlood(server);
				record(rounds, 'aco-bare', { runSeconds: alone.seconds }, METRICS);
			}
			const group = 'lossless';
			await suite.connect(server, group, clients);
			for (let r = 0; r < roundCount; r++) {
				const before = await server.getJson<RealtimeStatsResponse>('/api/v1/realtime/stats');
				// the clients count the run's output lines (its other events come between them)
				await suite.loadgen.expect(group, [lines], [false]);
				const watched = await runFlood(server);
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
				record(
					rounds,
					'aco',
					{
						runSeconds: watched.seconds,
						deliveredSeconds,
						deliveriesPerSecond: report.received / deliveredSeconds
					},
					METRICS
				);
			}
			const figures = medians(rounds);
			const slower = figures.aco!.runSeconds! / figures['aco-bare']!.runSeconds!;
			return {
				figures,
				rounds,
				metrics: METRICS,
				ratios: [{ system: 'aco', peer: 'aco-bare', metric: 'runSeconds', ratio: 1 / slower }],
				bars: [bar(`run time with ${clients} subscribers ÷ with none`, slower, '<=', 1.5)],
				notes: [
					`${lines.toLocaleString('en-US')} lines from a real tool (a workflow step), ${clients} clients subscribed to everything; ` +
						'every client got every line of the run once, in seq order; no dropped notice, no slow-consumer close (checked)'
				]
			};
		} finally {
			fs.rmSync(workflowsDir, { recursive: true, force: true });
		}
	}
};
