/**
 * @module bench/peers/scenarios/slow-consumer
 * Scenario 6, slow consumer: 1 of the clients stops reading; the others must keep at least 95 %
 * of their throughput (flat out) and their p99 (paced), and the server's memory must stay within
 * its caps. Every system, in pairs of measurements: the others alone against the others beside
 * one more client that stops reading (a fresh one for each pair), the order alternating from
 * pair to pair so neither side is always measured second; each ratio is taken within its pair.
 * Then aco alone: 100 clients watch one task's paced lines while another task logs 50 MB and a
 * paused client subscribed to everything sits on the stream; their p99 against the same without
 * the paused client.
 */
import { round, type ServerHandle } from '../harness';
import { bar, ratiosAgainst, type MetricSpec } from '../report';
import { median, medians, pick, record, type Scenario, type Suite } from '../suite';
import type { SystemName } from '../systems';
import { BURST, roundEvents, TEXT_BYTES } from './fanout';

const METRICS: MetricSpec[] = [
	{ key: 'throughputKept', label: 'throughput kept with one paused', unit: '', better: 'higher', digits: 2 },
	{ key: 'p99Kept', label: 'p99 all reading ÷ one paused', unit: '', better: 'higher', digits: 2 },
	{ key: 'p99Normal', label: 'p99 (all reading)', unit: 'ms', better: 'lower', digits: 1 },
	{ key: 'p99Paused', label: 'p99 (one paused)', unit: 'ms', better: 'lower', digits: 1 },
	{ key: 'rssGrowthMb', label: 'RSS growth while paused', unit: 'MB', better: 'lower', digits: 1 }
];
const BIG_LOG_BYTES = 50 * 1024 * 1024;
const BIG_LINE_BYTES = 200;
const WATCHERS = 100;
const WATCHED_RATE = 100;
/**
 * Flat-out rounds per measurement, their median taken: one round of a few hundred lines lasts a
 * fraction of a second, and single rounds of the same server scattered by a third between runs.
 */
const FLAT_ROUNDS = 5;
/** Paced rounds per measurement, the median of their p99s taken: one hiccup of the machine is one round's tail. */
const PACED_ROUNDS = 3;
/** Pairs of measurements (all reading, one paused) per system, the order alternating. */
const MIN_PAIRS = 4;

/** Flat-out deliveries/s and paced p99 of `server`'s group `group`, each the median of its rounds. */
async function measure(server: ServerHandle, suite: Suite, group: string, events: number, rate: number) {
	const flat: number[] = [];
	for (let r = 0; r < FLAT_ROUNDS; r++) {
		const result = await round(server, suite.loadgen, {
			group,
			counts: [events],
			publish: { count: events, burst: BURST, rate: 0, textBytes: TEXT_BYTES }
		});
		flat.push(result.deliveriesPerSecond);
	}
	const pacedEvents = Math.round(rate * 2);
	const p99s: number[] = [];
	for (let r = 0; r < PACED_ROUNDS; r++) {
		const paced = await round(server, suite.loadgen, {
			group,
			counts: [pacedEvents],
			latency: true,
			publish: { count: pacedEvents, burst: 1, rate, textBytes: TEXT_BYTES }
		});
		p99s.push(paced.p99Ms);
	}
	return { deliveriesPerSecond: median(flat), p99Ms: median(p99s) };
}

/**
 * {@link measure} between two full collections (RSS growth the difference), with `sitter` (a
 * group name) or without: one more client subscribed to everything that stops reading before
 * the first event (a fresh one each time: a client paused for a whole earlier measurement would
 * carry that one's backlog into this one). Both sides take the same steps but the sitter, so
 * neither starts on a heap the other did not.
 */
async function measureBeside(
	server: ServerHandle,
	suite: Suite,
	group: string,
	events: number,
	rate: number,
	sitter: string | null
) {
	const before = await server.gc();
	if (sitter) {
		await suite.connect(server, sitter, 1, { subscribe: [{ type: 'subscribe', filter: {} }] });
		await suite.loadgen.pause(sitter, [0]);
	}
	const measured = await measure(server, suite, group, events, rate);
	const after = await server.gc();
	if (sitter) await suite.disconnect(sitter);
	return { ...measured, rssGrowthMb: (after.rss - before.rss) / 1e6 };
}

/** 100 clients watching task 1's paced lines while task 0 logs 50 MB; p99 of the watchers. */
async function bigLogRound(server: ServerHandle, suite: Suite): Promise<number> {
	const lines = Math.round(
		pick(suite.options.size, BIG_LOG_BYTES / 50, BIG_LOG_BYTES / 5, BIG_LOG_BYTES) / BIG_LINE_BYTES
	);
	server.child.send({
		cmd: 'publish',
		count: lines,
		burst: 200,
		rate: 0,
		textBytes: BIG_LINE_BYTES,
		task: 0,
		replyAs: 'big-published'
	});
	const watched = Math.round(WATCHED_RATE * pick(suite.options.size, 1, 2, 5));
	const result = await round(server, suite.loadgen, {
		group: 'watchers',
		counts: [watched],
		contiguous: [false],
		latency: true,
		timeoutMs: 300_000,
		publish: { count: watched, burst: 1, rate: WATCHED_RATE, textBytes: 40, task: 1 }
	});
	await server.child.next('big-published', 600_000);
	return result.p99Ms;
}

export const slowConsumer: Scenario = {
	id: 6,
	name: 'slow-consumer',
	title: 'Slow consumer: one client stops reading',
	async run(suite) {
		const { clients, quick, peers, rounds: roundCount } = suite.options;
		// an even number of pairs, each order as often as the other: at least four, as a pair's p99
		// ratio alone scatters by about ±15 % on this machine
		const pairs = Math.max(quick ? 2 : MIN_PAIRS, roundCount + (roundCount % 2));
		const systems: SystemName[] = ['aco', ...peers.filter((p) => p !== 'ws-frames' && p !== 'ws-stringify')];
		const rounds: Record<string, Record<string, number[]>> = {};
		const events = roundEvents(0, clients, quick);
		for (const system of systems) {
			const server = await suite.server(system);
			const group = `slow-${system}`;
			await suite.connect(server, group, clients - 1, { subscribe: [{ type: 'subscribe', filter: {} }] });
			// warm up, then find the paced rate: a third of this system's flat-out rate
			const warm = await round(server, suite.loadgen, {
				group,
				counts: [events],
				publish: { count: events, burst: BURST, rate: 0, textBytes: TEXT_BYTES }
			});
			const rate = warm.deliveriesPerSecond / (clients - 1) / 3;
			for (let r = 0; r < pairs; r++) {
				// the order alternates, so what a measurement gains from coming second cancels out
				const sitter = `slow-${system}-sitter-${r}`;
				const first = await measureBeside(server, suite, group, events, rate, r % 2 === 0 ? null : sitter);
				const second = await measureBeside(server, suite, group, events, rate, r % 2 === 0 ? sitter : null);
				const [normal, paused] = r % 2 === 0 ? [first, second] : [second, first];
				record(
					rounds,
					system,
					{
						throughputKept: paused.deliveriesPerSecond / normal.deliveriesPerSecond,
						p99Kept: normal.p99Ms / paused.p99Ms,
						p99Normal: normal.p99Ms,
						p99Paused: paused.p99Ms,
						rssGrowthMb: paused.rssGrowthMb
					},
					METRICS
				);
			}
			await suite.disconnect(group);
			await server.close();
		}

		// aco: a 50 MB log beside 100 watchers of another task, with and without a paused client
		const server = await suite.server('aco', { tasks: 2 });
		await suite.connect(server, 'watchers', quick ? 10 : WATCHERS, {
			subscribe: [{ type: 'subscribe', filter: { task_ids: [server.taskIds[1]] } }]
		});
		const alone = await bigLogRound(server, suite);
		await suite.connect(server, 'sitter', 1);
		await suite.loadgen.pause('sitter', [0]);
		const sat = await bigLogRound(server, suite);
		const figures = medians(rounds);
		figures['aco 50 MB log'] = { p99Normal: alone, p99Paused: sat };
		const kept = figures.aco!.throughputKept!;
		const p99Kept = figures.aco!.p99Kept!;
		return {
			figures,
			rounds,
			metrics: METRICS,
			ratios: ratiosAgainst(figures, METRICS.slice(2), 'aco', systems.slice(1)),
			bars: [
				bar('aco throughput with one paused ÷ all reading', kept, '>=', 0.95),
				bar('aco p99 all reading ÷ one paused', p99Kept, '>=', 0.95),
				bar(
					'aco p99 of status watchers beside a 50 MB log + paused client (ms)',
					sat,
					'<=',
					2 * Math.max(alone, 16)
				)
			],
			notes: [
				`${clients - 1} clients per system read, with and without one more that stops reading (its socket paused before the first event, a fresh client each time), in ${pairs} pairs whose order alternates; ` +
					`throughput the median of ${FLAT_ROUNDS} flat-out rounds of ${events} lines, p99 the median of ${PACED_ROUNDS} paced rounds at a third of each system's own flat-out rate; ` +
					'the ratios are taken within each pair, then their median; the reading clients got every event in order (checked)',
				`50 MB log: ${quick ? 10 : WATCHERS} clients watch task B's ${WATCHED_RATE} lines/s while task A logs ${pick(suite.options.size, 1, 10, 50)} MB flat out; ` +
					`p99 ${alone.toFixed(1)} ms without a paused client, ${sat.toFixed(1)} ms with one subscribed to everything`
			]
		};
	}
};
