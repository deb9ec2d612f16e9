/**
 * @module bench/peers/scenarios/churn
 * Scenario 8, churn: CYCLES connect → subscribe (until the server confirms) → disconnect cycles,
 * CONCURRENCY at a time, ten times over; handshake rate against plain `ws`, and the server's
 * heap and open file descriptors back where they were once the clients are gone. The systems'
 * rounds interleave (each round starts with another system), so a change in the machine's load
 * falls on all of them alike.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { protocolOf } from '../harness';
import { bar, ratiosAgainst, type MetricSpec } from '../report';
import { medians, pick, record, rotate, type Scenario } from '../suite';
import type { SystemName } from '../systems';

const CYCLES = 5_000;
const REPEATS = 10;
const CONCURRENCY = 50;

const METRICS: MetricSpec[] = [
	{ key: 'cyclesPerSecond', label: 'connect/subscribe/close per second', unit: '', better: 'higher' },
	{ key: 'heapGrowthMb', label: 'heap growth after all', unit: 'MB', better: 'lower', digits: 2 },
	{ key: 'fdGrowth', label: 'file descriptors left over', unit: '', better: 'lower', digits: 0 }
];

export const churn: Scenario = {
	id: 8,
	name: 'churn',
	title: 'Churn: 5,000 connect/subscribe/disconnect cycles × 10',
	async run(suite) {
		const { size, peers } = suite.options;
		const cycles = pick(size, 100, 1_000, CYCLES);
		const repeats = pick(size, 2, 3, REPEATS);
		const systems: SystemName[] = [
			'aco',
			...peers.filter((p) => p === 'ws-cork' || p === 'socketio' || p === 'uws')
		];
		const rounds: Record<string, Record<string, number[]>> = {};
		// every system runs at once (idle but for its turn), so rounds interleave and each system's
		// rounds see the same load as its neighbours'
		const started = [];
		for (const system of systems) {
			const server = await suite.server(system, { maxConnections: CONCURRENCY * 4 });
			// one short warm-up
			await suite.loadgen.churn({
				url: server.url,
				protocol: protocolOf(system),
				cycles: 200,
				concurrency: CONCURRENCY
			});
			started.push({ system, server });
		}
		await sleep(300);
		const baselines = [];
		for (const { server } of started) baselines.push({ heap: await server.gc(), fds: await server.fds() });
		for (let r = 0; r < repeats; r++) {
			for (const { system, server } of rotate(started, r)) {
				const result = await suite.loadgen.churn({
					url: server.url,
					protocol: protocolOf(system),
					cycles,
					concurrency: CONCURRENCY
				});
				if (result.failures > 0) throw new Error(`${system}: ${result.failures} of ${cycles} cycles failed`);
				record(rounds, system, { cyclesPerSecond: cycles / result.seconds }, METRICS);
			}
		}
		// closes finish on the server's side shortly after the client's
		await sleep(1_500);
		for (const [i, { system, server }] of started.entries()) {
			const heap1 = await server.gc();
			const fds1 = await server.fds();
			record(
				rounds,
				system,
				{
					heapGrowthMb: (heap1.heapUsed - baselines[i]!.heap.heapUsed) / 1e6,
					fdGrowth: fds1 - baselines[i]!.fds
				},
				METRICS
			);
			await server.close();
		}
		const figures = medians(rounds);
		const plain = figures['ws-cork']?.cyclesPerSecond;
		return {
			figures,
			rounds,
			metrics: METRICS,
			ratios: ratiosAgainst(figures, METRICS.slice(0, 1), 'aco', systems.slice(1)),
			bars: [
				...(plain
					? [bar('handshake rate, aco ÷ plain ws', figures.aco!.cyclesPerSecond! / plain, '>=', 0.7)]
					: []),
				bar('aco heap growth after all cycles (MB)', figures.aco!.heapGrowthMb!, '<=', 2),
				bar('aco file descriptors left over', figures.aco!.fdGrowth!, '<=', 0)
			],
			notes: [
				`${cycles.toLocaleString('en-US')} cycles × ${repeats}, ${CONCURRENCY} at a time, the systems' rounds interleaved: open, subscribe (aco: until "subscribed"; peers: until their greeting), close`
			]
		};
	}
};
