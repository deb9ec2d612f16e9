/**
 * @module bench/peers/scenarios/latency
 * Scenario 3, latency under load: lines paced at 10 %, 50 % and 80 % of aco's saturation (its
 * flat-out deliveries per second from a fan-out round in the same run), the same rates for every
 * system; latency from the time a line was due (a tool prints on its own clock) to its receipt,
 * over every client and line: p50, p99, max. A peer that cannot keep up with a rate shows it as
 * growing latency, also one whose publish blocks the loop that makes the lines.
 */
import { round } from '../harness';
import { bar, ratiosAgainst, type MetricSpec } from '../report';
import { medians, pick, record, rotate, type Scenario } from '../suite';
import type { SystemName } from '../systems';
import { fanoutRound, startFleet, TEXT_BYTES } from './fanout';

const LEVELS = [10, 50, 80];
const ROUND_SECONDS = 3;

function metricsOf(): MetricSpec[] {
	return LEVELS.flatMap((level): MetricSpec[] => [
		{ key: `p50_${level}`, label: `p50 at ${level} %`, unit: 'ms', better: 'lower', digits: 1 },
		{ key: `p99_${level}`, label: `p99 at ${level} %`, unit: 'ms', better: 'lower', digits: 1 },
		{ key: `max_${level}`, label: `max at ${level} %`, unit: 'ms', better: 'lower', digits: 1 },
		{ key: `busy_${level}`, label: `server core busy at ${level} %`, unit: '', better: 'lower', digits: 2 },
		{
			key: `gen_${level}`,
			label: `load generator core busy at ${level} %`,
			unit: '',
			better: 'lower',
			digits: 2
		},
		{
			key: `cpu_${level}`,
			label: `CPU µs per delivery at ${level} %`,
			unit: 'µs',
			better: 'lower',
			digits: 2
		}
	]);
}

export const latency: Scenario = {
	id: 3,
	name: 'latency',
	title: 'Latency under load: lines paced at 10/50/80 % of aco saturation',
	async run(suite) {
		const { clients, size, peers, rounds: roundCount } = suite.options;
		const systems: SystemName[] = ['aco', ...peers.filter((p) => p !== 'ws-frames')];
		const fleet = await startFleet(suite, systems, clients);
		const aco = fleet.find((m) => m.system === 'aco')!;
		const saturation = (await fanoutRound(suite, aco)).deliveriesPerSecond / clients;
		const metrics = metricsOf();
		const rounds: Record<string, Record<string, number[]>> = {};
		for (let r = 0; r < roundCount; r++) {
			for (const level of LEVELS) {
				const rate = (saturation * level) / 100;
				const count = Math.max(20, Math.round(rate * pick(size, 0.5, ROUND_SECONDS / 2, ROUND_SECONDS)));
				for (const member of rotate(fleet, r)) {
					const result = await round(member.server, suite.loadgen, {
						group: member.group,
						counts: [count],
						latency: true,
						timeoutMs: 300_000,
						publish: { count, burst: 1, rate, textBytes: TEXT_BYTES }
					});
					const figures = {
						[`p50_${level}`]: result.p50Ms,
						[`p99_${level}`]: result.p99Ms,
						[`max_${level}`]: result.maxMs,
						[`busy_${level}`]: result.serverShare,
						[`gen_${level}`]: result.loadgenShare,
						[`cpu_${level}`]: result.serverUsPerDelivery
					};
					record(rounds, member.system, figures, metrics);
				}
			}
		}
		const figures = medians(rounds);
		return {
			figures,
			rounds,
			metrics,
			// the load generator's core is the bench's, not a system's: no ratio
			ratios: ratiosAgainst(
				figures,
				metrics.filter((m) => !m.key.startsWith('gen_')),
				'aco',
				peers
			),
			bars: [bar('aco p99 at 50 % of its saturation (ms)', figures.aco!.p99_50!, '<=', 50)],
			notes: [
				`aco saturation: ${Math.round(saturation * clients).toLocaleString('en-US')} deliveries/s to ${clients} clients ` +
					`(${Math.round(saturation)} lines/s); the same line rates for every system: ` +
					LEVELS.map((l) => `${l} % = ${Math.round((saturation * l) / 100)} lines/s`).join(', '),
				'latency: the time the line was due at its rate (µs stamp in its text) → the event read by the client; every client, every line',
				"server core busy: its CPU time ÷ the round's time (the paced line maker runs in the same process, for every system). Saturation is measured with lines in bursts (many events a frame); " +
					'paced lines come one or a few a loop turn, each a frame of its own to every client, so a delivery costs more and the core is busier than the level says',
				"load generator core busy: its CPU time ÷ the round's time; near 1, its one core reading every client's frames bounds the latency as much as the server does"
			]
		};
	}
};
