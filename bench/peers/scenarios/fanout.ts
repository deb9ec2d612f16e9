/**
 * @module bench/peers/scenarios/fanout
 * Scenario 1, fan-out: every system with the same number of clients subscribed to everything;
 * lines are made flat out in bursts of BURST per event-loop turn (as a tool's output chunks
 * arrive; for aco through the log pipeline, store included). Deliveries per second and server
 * CPU per delivery, rounds interleaved. A calibration round sizes each system's rounds to about
 * ROUND_SECONDS. The store's own cost per line is measured on an aco with no subscriber, so the
 * fan-out's cost per delivery can be told apart. Also used by scenario 3 (saturation) and 6.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ServerHandle } from '../harness';
import { round, type RoundResult } from '../harness';
import { bar, ratiosAgainst, type MetricSpec } from '../report';
import { medians, record, rotate, type Scenario, type Suite } from '../suite';
import type { SystemName } from '../systems';

export const BURST = 20;
export const TEXT_BYTES = 40;
const ROUND_SECONDS = 2;
const CALIBRATION_EVENTS = 200;
/** lines an aco with no subscriber stores unmeasured, then at least how many it is measured on */
const STORE_WARMUP_LINES = 5_000;
const STORE_MEASURED_LINES = 20_000;

export const FANOUT_METRICS: MetricSpec[] = [
	{ key: 'deliveriesPerSecond', label: 'deliveries/s', unit: '', better: 'higher' },
	{ key: 'serverUsPerDelivery', label: 'server CPU per delivery', unit: 'µs', better: 'lower', digits: 2 },
	{ key: 'serverSysUsPerDelivery', label: 'of which kernel', unit: 'µs', better: 'lower', digits: 2 },
	{ key: 'framesPerDelivery', label: 'frames per delivery', unit: '', better: 'lower', digits: 2 },
	{ key: 'loadgenShare', label: 'load generator CPU', unit: 'of a core', better: 'lower', digits: 2 },
	{
		key: 'loadgenUsPerDelivery',
		label: 'load generator per delivery',
		unit: 'µs',
		better: 'lower',
		digits: 2
	}
];

/** Events per round for a system that delivered `rate` deliveries/s to `clients` clients. */
export function roundEvents(rate: number, clients: number, quick: boolean): number {
	if (quick) return 50;
	return Math.max(500, Math.min(5000, Math.round((rate * ROUND_SECONDS) / clients)));
}

export interface Fleet {
	system: SystemName;
	server: ServerHandle;
	group: string;
	events: number;
}

/** Starts each system with `clients` clients subscribed to everything and calibrates its round size. */
export async function startFleet(suite: Suite, systems: SystemName[], clients: number): Promise<Fleet[]> {
	const fleet: Fleet[] = [];
	for (const system of systems) {
		const server = await suite.server(system);
		const group = `fanout-${system}`;
		await suite.connect(server, group, clients);
		const calibration = await round(server, suite.loadgen, {
			group,
			counts: [CALIBRATION_EVENTS],
			publish: { count: CALIBRATION_EVENTS, burst: BURST, rate: 0, textBytes: TEXT_BYTES }
		});
		fleet.push({
			system,
			server,
			group,
			events: roundEvents(calibration.deliveriesPerSecond, clients, suite.options.quick)
		});
	}
	return fleet;
}

export function fanoutRound(suite: Suite, member: Fleet, latency = false): Promise<RoundResult> {
	return round(member.server, suite.loadgen, {
		group: member.group,
		counts: [member.events],
		latency,
		publish: { count: member.events, burst: BURST, rate: 0, textBytes: TEXT_BYTES }
	});
}

/**
 * CPU time per line of an aco with no subscriber: numbering, storing and streaming to nobody.
 * Measured warm, as the fan-out rounds are: a fresh server's first lines run cold code (its
 * first statements, code not yet compiled), which a round of a few thousand lines would count
 * as the store's (it read 21–25 µs per line that way, against 9.5–11 warm).
 */
export async function storeCostPerLine(suite: Suite, lines: number): Promise<number> {
	const bare = await suite.server('aco');
	const burst = { burst: BURST, rate: 0, textBytes: TEXT_BYTES };
	await bare.publish({ count: STORE_WARMUP_LINES, ...burst });
	const measured = Math.max(lines, STORE_MEASURED_LINES);
	// the pipeline stores within 50 ms; let the last batch land (here and below)
	await sleep(300);
	const before = await bare.cpu();
	await bare.publish({ count: measured, ...burst });
	await sleep(300);
	const after = await bare.cpu();
	const stored = await bare.stored();
	if (stored !== STORE_WARMUP_LINES + measured)
		throw new Error(`aco stored ${stored} of ${STORE_WARMUP_LINES + measured} lines`);
	// 300 ms of an idle loop cost next to nothing, but subtract what idle costs anyway
	const idle0 = await bare.cpu();
	await sleep(300);
	const idle1 = await bare.cpu();
	return (after.us - before.us - (idle1.us - idle0.us)) / measured;
}

export const fanout: Scenario = {
	id: 1,
	name: 'fanout',
	title: 'Fan-out: clients subscribed to everything, lines flat out',
	async run(suite) {
		const { clients, rounds: roundCount, peers } = suite.options;
		const systems: SystemName[] = ['aco', ...peers];
		const fleet = await startFleet(suite, systems, clients);
		const rounds: Record<string, Record<string, number[]>> = {};
		for (let r = 0; r < roundCount; r++) {
			for (const member of rotate(fleet, r)) {
				record(rounds, member.system, await fanoutRound(suite, member), FANOUT_METRICS);
			}
		}
		const figures = medians(rounds);
		const aco = fleet.find((m) => m.system === 'aco')!;
		const storeUs = await storeCostPerLine(suite, aco.events);
		const acoFig = figures.aco!;
		acoFig.storeUsPerLine = storeUs;
		acoFig.fanoutUsPerDelivery = acoFig.serverUsPerDelivery! - storeUs / clients;
		const metrics: MetricSpec[] = [
			...FANOUT_METRICS,
			{
				key: 'storeUsPerLine',
				label: 'store per line (no subscriber)',
				unit: 'µs',
				better: 'lower',
				digits: 1
			},
			{ key: 'fanoutUsPerDelivery', label: 'fan-out per delivery', unit: 'µs', better: 'lower', digits: 2 }
		];
		const ratioMetrics = FANOUT_METRICS.filter((m) => !m.key.startsWith('loadgen'));
		const ratios = ratiosAgainst(figures, ratioMetrics, 'aco', peers);
		const rate = (peer: string) =>
			ratios.find((r) => r.peer === peer && r.metric === 'deliveriesPerSecond')?.ratio ?? NaN;
		const bars = [];
		if (peers.includes('socketio')) bars.push(bar('deliveries/s vs Socket.IO', rate('socketio'), '>=', 5));
		if (peers.includes('ws-stringify'))
			bars.push(bar('deliveries/s vs ws per-client stringify', rate('ws-stringify'), '>=', 3.5));
		if (peers.includes('uws'))
			bars.push(bar('deliveries/s vs uWebSockets.js publish', rate('uws'), '>=', 0.75));
		// the load generator's core with the fastest system: near a whole core, that figure is the
		// load generator's as much as the server's
		const [fastestName, fastestFig] = Object.entries(figures).reduce((a, b) =>
			(b[1].deliveriesPerSecond ?? 0) > (a[1].deliveriesPerSecond ?? 0) ? b : a
		);
		const share = fastestFig.loadgenShare ?? 0;
		const notes = [
			`${clients} clients per system; ${BURST} lines per event-loop turn; ~${Math.round(
				(aco.events * clients) / 1e3
			)}k deliveries per aco round; median of ${roundCount} interleaved rounds; every client got every event once, in order (checked)`,
			`round sizes: ${fleet.map((m) => `${m.system} ${m.events}`).join(', ')} events`,
			`load generator: with the fastest system (${fastestName}, ${Math.round(fastestFig.deliveriesPerSecond ?? 0).toLocaleString('en-US')}/s) ` +
				`it spent ${(fastestFig.loadgenUsPerDelivery ?? 0).toFixed(2)} µs per delivery, ${share.toFixed(2)} of its core` +
				(share >= 0.9
					? ': near a whole core, so that figure is bounded by the load generator too'
					: ': not the bottleneck')
		];
		return { figures, rounds, metrics, ratios, bars, notes };
	}
};
