/**
 * @module bench/peers/scenarios/churn
 * Scenario 8, churn: CYCLES connect → subscribe (until the server confirms) → disconnect cycles
 * (aco: subscribed in the upgrade URL as its clients do, and with a message after open as well),
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
	{
		key: 'messageCyclesPerSecond',
		label: 'aco, subscribing with a message after open',
		unit: '',
		better: 'higher'
	},
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
			// a warm-up of 5,000 handshakes each way, whatever the size: the optimising compiler takes
			// thousands to settle (with 200, or 1,000 in a short run, the rounds measured the warm-up:
			// plain ws at 2,700/s where it settles at 6,000/s, and aco, which runs two ways per round,
			// warmed up more than the peers)
			for (const subscribeIn of ['url', 'message'] as const) {
				await suite.loadgen.churn({
					url: server.url,
					protocol: protocolOf(system),
					cycles: pick(size, 200, CYCLES, CYCLES),
					concurrency: CONCURRENCY,
					subscribeIn
				});
			}
			started.push({ system, server });
		}
		await sleep(300);
		const baselines = [];
		for (const { server } of started) baselines.push({ heap: await server.gc(), fds: await server.fds() });
		for (let r = 0; r < repeats; r++) {
			for (const { system, server } of rotate(started, r)) {
				const cyclesPerSecond = async (subscribeIn: 'url' | 'message') => {
					const result = await suite.loadgen.churn({
						url: server.url,
						protocol: protocolOf(system),
						cycles,
						concurrency: CONCURRENCY,
						subscribeIn
					});
					if (result.failures > 0)
						throw new Error(`${system}: ${result.failures} of ${cycles} cycles failed`);
					return cycles / result.seconds;
				};
				if (system !== 'aco') {
					record(rounds, system, { cyclesPerSecond: await cyclesPerSecond('url') }, METRICS);
					continue;
				}
				// aco both ways, which goes first alternating
				const figures: Record<string, number> = {};
				for (const way of r % 2 === 0 ? (['url', 'message'] as const) : (['message', 'url'] as const)) {
					figures[way === 'url' ? 'cyclesPerSecond' : 'messageCyclesPerSecond'] = await cyclesPerSecond(way);
				}
				record(rounds, system, figures, METRICS);
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
				`${cycles.toLocaleString('en-US')} cycles × ${repeats}, ${CONCURRENCY} at a time, the systems' rounds interleaved: open, subscribe (aco: until "subscribed"; peers: until their greeting), close`,
				'aco subscribes in the upgrade URL, as its own clients do (protocol 2: the answer leaves with the welcome); "aco, subscribing with a message after open" is the protocol 1 way, measured in the same rounds',
				...(plain && figures.aco?.messageCyclesPerSecond
					? [`the message way ÷ plain ws: ${(figures.aco.messageCyclesPerSecond / plain).toFixed(2)}`]
					: [])
			]
		};
	}
};
