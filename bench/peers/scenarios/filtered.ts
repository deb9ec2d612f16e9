/**
 * @module bench/peers/scenarios/filtered
 * Scenario 2, filtered fan-out: 1,000 clients over 50 tasks (each watching one task's output)
 * plus 10 % watching everything, lines spread over the 50 tasks; the CPU per delivered event is
 * compared with every client watching everything (scenario 1's shape, measured in the same run
 * on another aco). A third aco has the same clients plus as many again that match nothing:
 * they must cost nothing measurable. uWebSockets.js, the native ceiling, runs the same two shapes
 * in the same rounds (a topic per task), so the ratio can be set against what it costs there.
 */
import type { ServerHandle } from '../harness';
import { round } from '../harness';
import { bar, ratiosAgainst, type MetricSpec } from '../report';
import { medians, pick, record, rotate, type Scenario, type Suite } from '../suite';
import { BURST, TEXT_BYTES } from './fanout';

const TASKS = 50;
const WATCH_ALL_EVERY = 10;
/**
 * Measured rounds at the least: a short round lasts a quarter of a second, and one round of each
 * setup put the idle clients' ratio anywhere from 1.02 to 1.12 from one run to the next.
 */
const MIN_ROUNDS = 5;

const METRICS: MetricSpec[] = [
	{ key: 'deliveriesPerSecond', label: 'deliveries/s', unit: '', better: 'higher' },
	{
		key: 'serverUsPerDelivery',
		label: 'server CPU per delivered event',
		unit: 'µs',
		better: 'lower',
		digits: 2
	}
];

interface Setup {
	name: string;
	server: ServerHandle;
	group: string;
	counts: number[];
	contiguous: boolean[];
	spread: boolean;
}

/** The filtered clients of `server`: class k < TASKS watches task k, class TASKS watches everything. */
async function connectFiltered(
	suite: Suite,
	server: ServerHandle,
	group: string,
	clients: number
): Promise<void> {
	const subscribe = [
		...server.taskIds.map((id) => ({ type: 'subscribe', filter: { task_ids: [id] } })),
		{ type: 'subscribe', filter: {} }
	];
	const classes = Array.from({ length: clients }, (_, i) =>
		i % WATCH_ALL_EVERY === 0 ? TASKS : Math.floor(i / WATCH_ALL_EVERY) % TASKS
	);
	await suite.connect(server, group, clients, { subscribe, classes });
}

export const filtered: Scenario = {
	id: 2,
	name: 'filtered',
	title: 'Filtered fan-out: 1,000 clients over 50 tasks plus 10 % watching everything',
	async run(suite) {
		const { clients, size, quick } = suite.options;
		const roundCount = quick ? suite.options.rounds : Math.max(MIN_ROUNDS, suite.options.rounds);
		const events = pick(size, TASKS * 2, TASKS * 10, TASKS * 20);
		const everything = await suite.server('aco');
		await suite.connect(everything, 'filtered-all', clients);
		const filteredServer = await suite.server('aco', { tasks: TASKS });
		await connectFiltered(suite, filteredServer, 'filtered', clients);
		const idleServer = await suite.server('aco', { tasks: TASKS, maxConnections: clients * 2 });
		await connectFiltered(suite, idleServer, 'filtered-idle', clients);
		await suite.connect(idleServer, 'idle', clients, {
			subscribe: [{ type: 'subscribe', filter: { task_ids: ['task_nobody_publishes_to'] } }]
		});
		const taskCounts = [...Array.from({ length: TASKS }, () => events / TASKS), events];
		const taskContiguous = [...Array.from({ length: TASKS }, () => false), true];
		const setups: Setup[] = [
			{
				name: 'everything',
				server: everything,
				group: 'filtered-all',
				counts: [events],
				contiguous: [true],
				spread: false
			},
			{
				name: 'filtered',
				server: filteredServer,
				group: 'filtered',
				counts: taskCounts,
				contiguous: taskContiguous,
				spread: true
			},
			{
				name: 'filtered + idle',
				server: idleServer,
				group: 'filtered-idle',
				counts: taskCounts,
				contiguous: taskContiguous,
				spread: true
			}
		];
		// the native ceiling in the same rounds: uWebSockets.js, a topic per task, the same clients
		if (suite.options.peers.includes('uws')) {
			const uwsAll = await suite.server('uws');
			await suite.connect(uwsAll, 'filtered-uws-all', clients);
			const uwsFiltered = await suite.server('uws', { tasks: TASKS });
			await connectFiltered(suite, uwsFiltered, 'filtered-uws', clients);
			setups.push(
				{ ...setups[0]!, name: 'uws everything', server: uwsAll, group: 'filtered-uws-all' },
				{ ...setups[1]!, name: 'uws filtered', server: uwsFiltered, group: 'filtered-uws' }
			);
		}
		const rounds: Record<string, Record<string, number[]>> = {};
		for (let r = 0; r <= roundCount; r++) {
			for (const setup of rotate(setups, r)) {
				const result = await round(setup.server, suite.loadgen, {
					group: setup.group,
					counts: setup.counts,
					contiguous: setup.contiguous,
					publish: { count: events, burst: BURST, rate: 0, textBytes: TEXT_BYTES, spread: setup.spread }
				});
				// the first round warms each server up
				if (r > 0) record(rounds, setup.name, result, METRICS);
			}
		}
		const figures = medians(rounds);
		const cost = (name: string) => figures[name]!.serverUsPerDelivery!;
		const filteredRatio = cost('filtered') / cost('everything');
		const idleRatio = cost('filtered + idle') / cost('filtered');
		const uws = figures['uws filtered'] ? cost('uws filtered') / cost('uws everything') : null;
		return {
			figures,
			rounds,
			metrics: METRICS,
			ratios: [
				...ratiosAgainst(figures, METRICS, 'everything', ['uws everything']),
				...ratiosAgainst(figures, METRICS, 'filtered', ['uws filtered'])
			],
			bars: [
				bar('CPU per delivered event, filtered ÷ everything', filteredRatio, '<=', 1.3),
				bar(
					`CPU per delivered event with ${clients} clients matching nothing ÷ without`,
					idleRatio,
					'<=',
					1.1
				)
			],
			notes: [
				`${clients} clients: each of ${TASKS} tasks watched by ${((clients / WATCH_ALL_EVERY) * (WATCH_ALL_EVERY - 1)) / TASKS} clients, ` +
					`${clients / WATCH_ALL_EVERY} watching everything; ${events} lines per round spread over the tasks; ` +
					`"filtered + idle" adds ${clients} clients subscribed to a task that gets nothing`,
				`median of ${roundCount} interleaved rounds; every client got exactly its events in order (checked)`,
				...(uws === null
					? []
					: [
							`uWebSockets.js in the same rounds (a topic per task, the same clients): CPU per delivered event, filtered ÷ everything = ${uws.toFixed(2)}`
						])
			]
		};
	}
};
