/**
 * @module bench/peers/scenarios/app-beside
 * Scenario 9, the app beside the hub:
 * - SvelteKit page requests (the dashboard, `/`) while aco fans out at 50 % of its saturation to
 *   the clients: p99 against the same requests on the idle server, and the event loop's delay;
 * - 10 downloads of a growing log at once, again and again, while lines keep being appended:
 *   100 clients watching another task must keep their p99, and the loop must not stall.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { nowUs, percentile } from '../../lib/stats';
import { round, type ServerHandle } from '../harness';
import { bar, type MetricSpec } from '../report';
import { pick, type Scenario, type Suite } from '../suite';
import { fanoutRound, startFleet, TEXT_BYTES } from './fanout';

const PAGE_GAP_MS = 20;
const DOWNLOADS = 10;
const WATCHERS = 100;
const WATCHED_RATE = 100;
const APPEND_RATE = 2_000;

/** GETs `path` one request after another until `until()` says stop; their latencies in ms, sorted. */
async function requests(server: ServerHandle, path: string, until: () => boolean): Promise<Float64Array> {
	const times: number[] = [];
	while (!until()) {
		const t0 = nowUs();
		const res = await fetch(`${server.httpUrl}${path}`);
		await res.arrayBuffer();
		if (!res.ok) throw new Error(`GET ${path}: HTTP ${res.status}`);
		times.push((nowUs() - t0) / 1000);
		await sleep(PAGE_GAP_MS);
	}
	return Float64Array.from(times).sort();
}

/** Downloads the whole log again and again, `parallel` at once, until `until()` says stop; returns how many. */
async function downloads(server: ServerHandle, executionId: string, parallel: number, until: () => boolean) {
	let done = 0;
	const one = async () => {
		while (!until()) {
			const res = await fetch(`${server.httpUrl}/api/v1/executions/${executionId}/log`);
			const reader = res.body!.getReader();
			for (let r = await reader.read(); !r.done; r = await reader.read()) {
				/* read it all, as a browser saving the file would */
			}
			done += 1;
		}
	};
	await Promise.all(Array.from({ length: parallel }, one));
	return done;
}

const METRICS: MetricSpec[] = [
	{ key: 'p99Ms', label: 'p99', unit: 'ms', better: 'lower', digits: 1 },
	{ key: 'maxMs', label: 'max', unit: 'ms', better: 'lower', digits: 1 },
	{ key: 'loopP99Ms', label: 'event-loop delay p99', unit: 'ms', better: 'lower', digits: 1 },
	{ key: 'count', label: 'requests or downloads', unit: '', better: 'higher', digits: 0 }
];

async function pagesUnderLoad(suite: Suite) {
	const { clients, size } = suite.options;
	const [aco] = await startFleet(suite, ['aco'], clients);
	const saturation = (await fanoutRound(suite, aco!)).deliveriesPerSecond / clients;
	let stop = false;
	const idleDone = sleep(pick(size, 500, 1_500, 3_000)).then(() => (stop = true));
	const idle = await requests(aco!.server, '/', () => stop);
	await idleDone;
	const rate = saturation / 2;
	const count = Math.round(rate * pick(size, 1, 3, 6));
	await aco!.server.loop();
	stop = false;
	const pages = requests(aco!.server, '/', () => stop);
	await round(aco!.server, suite.loadgen, {
		group: aco!.group,
		counts: [count],
		latency: true,
		publish: { count, burst: 1, rate, textBytes: TEXT_BYTES }
	});
	stop = true;
	const loaded = await pages;
	const loop = await aco!.server.loop();
	return { idle, loaded, loop, rate };
}

/**
 * `onLoop`: the downloads read on the event loop (ACO_LOG_READ_WORKERS=0, as before the read
 * pool), the same run's baseline for the pool's figures; only the busy round is measured.
 */
async function downloadsWhileAppending(suite: Suite, onLoop = false) {
	const { quick, size } = suite.options;
	const server = await suite.server('aco', {
		tasks: 2,
		...(onLoop ? { env: { ACO_LOG_READ_WORKERS: '0' } } : {})
	});
	const filled = pick(size, 20_000, 60_000, 300_000);
	await server.publish({ count: filled, burst: 500, rate: 0, textBytes: 60, task: 0 });
	const group = onLoop ? 'download-watchers-loop' : 'download-watchers';
	await suite.connect(server, group, quick ? 10 : WATCHERS, {
		subscribe: [{ type: 'subscribe', filter: { task_ids: [server.taskIds[1]] } }]
	});
	const measure = async (parallel: number) => {
		const seconds = pick(size, 1, 4, 8);
		server.child.send({
			cmd: 'publish',
			count: APPEND_RATE * seconds,
			burst: 1,
			rate: APPEND_RATE,
			textBytes: 60,
			task: 0,
			replyAs: 'appended'
		});
		let stop = false;
		const loading = parallel
			? downloads(server, server.executionIds[0]!, parallel, () => stop)
			: Promise.resolve(0);
		await server.loop();
		const watched = WATCHED_RATE * seconds;
		const result = await round(server, suite.loadgen, {
			group,
			counts: [watched],
			// task 1's lines come between task 0's appends
			contiguous: [false],
			latency: true,
			timeoutMs: 300_000,
			publish: { count: watched, burst: 1, rate: WATCHED_RATE, textBytes: 40, task: 1 }
		});
		const loop = await server.loop();
		stop = true;
		const count = await loading;
		await server.child.next('appended', 300_000);
		return { p99Ms: result.p99Ms, maxMs: result.maxMs, loopP99Ms: loop.p99Ms, count };
	};
	const quiet = onLoop ? null : await measure(0);
	const busy = await measure(DOWNLOADS);
	return { quiet, busy, filled };
}

export const appBeside: Scenario = {
	id: 9,
	name: 'app-beside',
	title: 'The app beside the hub: page requests under load, downloads of a growing log',
	async run(suite) {
		const pages = await pagesUnderLoad(suite);
		const dl = await downloadsWhileAppending(suite);
		const onLoop = (await downloadsWhileAppending(suite, true)).busy;
		const pageFigures = (times: Float64Array) => ({
			p99Ms: percentile(times, 99),
			maxMs: percentile(times, 100),
			count: times.length
		});
		const figures: Record<string, Record<string, number>> = {
			'pages, idle': pageFigures(pages.idle),
			'pages, 50 % load': { ...pageFigures(pages.loaded), loopP99Ms: pages.loop.p99Ms },
			'watchers, appends only': dl.quiet!,
			[`watchers, appends + ${DOWNLOADS} downloads`]: dl.busy,
			[`  same, downloads read on the event loop`]: onLoop
		};
		const pageRatio = figures['pages, 50 % load']!.p99Ms! / figures['pages, idle']!.p99Ms!;
		return {
			figures,
			rounds: {},
			metrics: METRICS,
			ratios: [],
			bars: [
				bar('page p99 at 50 % load ÷ idle', pageRatio, '<=', 2),
				bar('event-loop delay p99 at 50 % load (ms)', pages.loop.p99Ms, '<=', 20),
				bar('watchers p99 with downloads ÷ without', dl.busy.p99Ms / Math.max(dl.quiet!.p99Ms, 1), '<=', 2),
				bar('event-loop delay p99 during downloads (ms)', dl.busy.loopP99Ms, '<=', 20)
			],
			notes: [
				`pages: GET / one after another every ${PAGE_GAP_MS} ms; load: ${Math.round(pages.rate)} lines/s to ${suite.options.clients} clients (half of saturation)`,
				`downloads: a log of ${dl.filled.toLocaleString('en-US')} lines growing by ${APPEND_RATE} lines/s, ${DOWNLOADS} whole downloads at once, repeated; ` +
					`${dl.busy.count} downloads finished; watchers: ${WATCHERS} clients of another task's ${WATCHED_RATE} lines/s`,
				`read pool vs reads on the event loop (same run): event-loop delay p99 ${(dl.busy.loopP99Ms / Math.max(onLoop.loopP99Ms, 0.001)).toFixed(3)}×, ` +
					`watchers' p99 ${(dl.busy.p99Ms / Math.max(onLoop.p99Ms, 0.001)).toFixed(2)}×, downloads finished ${(dl.busy.count / Math.max(onLoop.count, 1)).toFixed(2)}×`
			]
		};
	}
};
