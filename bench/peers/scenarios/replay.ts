/**
 * @module bench/peers/scenarios/replay
 * Scenario 5, replay: a client resumes N events behind (10,000 under the defaults; 100,000 with
 * history raised to hold them) while live lines keep coming; it must get the N missed events at
 * 1,000,000 events/s or more, in order from the seq after its own, then the live ones with no gap
 * and no repeat. The byte caps are the defaults (4 MiB per client). The client connects once the
 * hub has numbered all N (the lines go through the log pipeline, which stores them first), so
 * the rate is the replay's, not the pipeline's.
 * Baseline, in the same run: one client of the `ws-frames` peer that gets the same number of
 * events, kept beforehand as pre-built batch frames, written whole as it connects (what one
 * socket and the load generator's client can take), timed the same way (open → last event).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { RealtimeStatsResponse } from '../../../src/lib/protocol/api';
import type { ServerHandle } from '../harness';
import { bar, ratiosAgainst, type MetricSpec } from '../report';
import { medians, pick, record, type Scenario, type Suite } from '../suite';
import { BURST, TEXT_BYTES } from './fanout';

const LIVE_RATE = 2_000;

const stats = (server: ServerHandle) => server.getJson<RealtimeStatsResponse>('/api/v1/realtime/stats');

async function until(done: () => Promise<boolean>, timeoutMs: number): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!(await done())) {
		if (Date.now() > deadline) throw new Error(`not reached within ${timeoutMs} ms`);
		await sleep(20);
	}
}
const LIVE_SECONDS = 2;
/** Events of each unmeasured replay that warms a fresh server up. */
const WARM_UP_EVENTS = 10_000;
/**
 * Unmeasured replays before the measured ones. V8 compiles the replay's code in tiers as it runs:
 * replays of 10,000 events took 46, 30, 28, 25 and then 6 ms of server time in a row on a fresh
 * hub (a standalone check, nothing else running), so one replay leaves it half compiled.
 */
const WARM_UP_REPLAYS = 5;

export const replay: Scenario = {
	id: 5,
	name: 'replay',
	title: 'Replay: a client resuming 10,000 and 100,000 events behind while live lines go on',
	async run(suite) {
		const { quick, rounds: roundCount } = suite.options;
		const sizes = pick(suite.options.size, [1_000], [10_000, 100_000], [10_000, 100_000]);
		const metrics: MetricSpec[] = sizes.map((n) => ({
			key: `rate${n}`,
			label: `${n.toLocaleString('en-US')} behind`,
			unit: 'events/s',
			better: 'higher'
		}));
		const rounds: Record<string, Record<string, number[]>> = {};
		for (const size of sizes) {
			// history must hold the gap and the live lines that come while it is replayed
			const server = await suite.server('aco', {
				env: size > 50_000 ? { ACO_HISTORY_MAX_EVENTS: String(size * 3) } : {}
			});
			// unmeasured replays first: the code they run is then compiled, as on a server that has
			// been up a while (a fresh process runs it interpreted at a fraction of the speed)
			for (let w = 0; w < (quick ? 1 : WARM_UP_REPLAYS); w++) {
				await resumeBehind(
					suite,
					server,
					Math.min(size, WARM_UP_EVENTS),
					`replay-${size}-warm-up-${w}`,
					quick
				);
			}
			for (let r = 0; r < roundCount; r++) {
				const rate = await resumeBehind(suite, server, size, `replay-${size}-${r}`, quick);
				record(rounds, 'aco', { [`rate${size}`]: rate }, metrics);
			}
			await server.close();
		}
		// the baseline: the same number of events, kept as pre-built batch frames, written whole to
		// one client as it connects (no history, no order to keep): what one socket and the load
		// generator's client take, timed the same way
		const frames = await suite.server('ws-frames');
		for (const size of sizes) {
			for (let r = -1; r < roundCount; r++) {
				// round -1 warms up, as aco's
				const group = `replay-frames-${size}-${r}`;
				await frames.publish({ count: size, burst: size, rate: 0, textBytes: TEXT_BYTES, backlog: true });
				await suite.connect(frames, group, 1, { counts: [size] });
				const whole = await suite.loadgen.delivered(group, 120_000);
				const got = await suite.loadgen.report(group);
				if (!whole || got.complete !== 1)
					throw new Error(`ws-frames: ${got.received} of ${size} backlog events`);
				const rate = size / ((got.lastUs - got.openedUs) / 1e6);
				if (r >= 0) record(rounds, 'ws-frames', { [`rate${size}`]: rate }, metrics);
				await suite.disconnect(group);
			}
		}
		const figures = medians(rounds);
		return {
			figures,
			rounds,
			metrics,
			ratios: ratiosAgainst(figures, metrics, 'aco', ['ws-frames']),
			bars: sizes.map((n) =>
				bar(`replay of ${n.toLocaleString('en-US')} (events/s)`, figures.aco![`rate${n}`]!, '>=', 1_000_000)
			),
			notes: [
				`the client sends subscribe and resume at once; rate = missed events ÷ (resume sent → last missed event read); ` +
					`${LIVE_RATE} live lines/s meanwhile; it got every event from its seq + 1 on, in order, then the live ones (checked); default byte caps; ` +
					`each server warmed up by ${quick ? 'one unmeasured replay' : `${WARM_UP_REPLAYS} unmeasured replays`} first`,
				'baseline (ws-frames): one client of a plain ws server that keeps the same events as pre-built batch frames (10 events each, as aco) and writes them whole as the client connects, no history: what one socket and the load generator take'
			]
		};
	}
};

/**
 * One round: `size` lines made and numbered, then a client resumes from the seq before them while
 * live lines go on; it must get them all in order, then the live ones. Returns the replay's rate
 * (missed events ÷ open → the last missed event read).
 */
async function resumeBehind(
	suite: Suite,
	server: ServerHandle,
	size: number,
	group: string,
	quick: boolean
): Promise<number> {
	const { epoch, seq } = await stats(server);
	// one line a turn: the log pipeline sends the lines of one turn as one event, and the client is
	// to be `size` events behind (a line each, the most events for its lines)
	await server.publish({ count: size, burst: 1, rate: 0, textBytes: TEXT_BYTES });
	// the lines reach the hub through the log pipeline: the client is `size` events behind once
	// the hub has numbered them all, not when the tool printed them
	await until(async () => (await stats(server)).seq >= seq + size, 120_000);
	const live = Math.round(LIVE_RATE * (quick ? 0.5 : LIVE_SECONDS));
	server.child.send({
		cmd: 'publish',
		count: live,
		burst: BURST,
		rate: LIVE_RATE,
		textBytes: TEXT_BYTES,
		replyAs: 'live-published'
	});
	await suite.connect(server, group, 1, {
		subscribe: [
			[
				{ type: 'subscribe', filter: {} },
				{ type: 'resume', epoch, seq }
			]
		],
		counts: [size]
	});
	if (!(await suite.loadgen.delivered(group, 120_000))) throw new Error(`no replay of ${size} events`);
	const replayed = await suite.loadgen.report(group);
	await server.child.next('live-published', 120_000);
	await suite.loadgen.expect(group, [size + live], [true], false, true);
	const whole = await suite.loadgen.delivered(group, 120_000);
	const after = await suite.loadgen.report(group);
	if (!whole || after.complete !== 1 || after.minSeq !== seq + 1) {
		throw new Error(
			`resumed at ${seq}: first seq ${after.minSeq}, ${after.received} of ${size + live} events in order` +
				[...after.closes, ...after.orderErrors].map((l) => `; ${l}`).join('')
		);
	}
	await suite.disconnect(group);
	return size / ((replayed.lastUs - replayed.openedUs) / 1e6);
}
