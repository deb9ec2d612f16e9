/**
 * @module bench/peers/scenarios/replay
 * Scenario 5, replay: a client resumes N events behind (10,000 under the defaults; 100,000 with
 * history raised to hold them) while live lines keep coming; it must get the N missed events at
 * 1,000,000 events/s or more, in order from the seq after its own, then the live ones with no gap
 * and no repeat. The byte caps are the defaults (4 MiB per client).
 * Baseline, in the same run: one client of the `ws-frames` peer that gets the same number of
 * events, kept beforehand as pre-built batch frames, written whole as it connects (what one
 * socket and the load generator's client can take), timed the same way (open → last event).
 */
import type { RealtimeStatsResponse } from '../../../src/lib/protocol/api';
import { bar, ratiosAgainst, type MetricSpec } from '../report';
import { medians, pick, record, type Scenario } from '../suite';
import { BURST, TEXT_BYTES } from './fanout';

const LIVE_RATE = 2_000;
const LIVE_SECONDS = 2;

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
			for (let r = 0; r < roundCount; r++) {
				const { epoch, seq } = await server.getJson<RealtimeStatsResponse>('/api/v1/realtime/stats');
				await server.publish({ count: size, burst: 500, rate: 0, textBytes: TEXT_BYTES });
				const live = Math.round(LIVE_RATE * (quick ? 0.5 : LIVE_SECONDS));
				server.child.send({
					cmd: 'publish',
					count: live,
					burst: BURST,
					rate: LIVE_RATE,
					textBytes: TEXT_BYTES,
					replyAs: 'live-published'
				});
				const group = `replay-${size}-${r}`;
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
				record(
					rounds,
					'aco',
					{ [`rate${size}`]: size / ((replayed.lastUs - replayed.openedUs) / 1e6) },
					metrics
				);
				await suite.disconnect(group);
			}
			await server.close();
		}
		// the baseline: the same number of events, kept as pre-built batch frames, written whole to
		// one client as it connects (no history, no order to keep): what one socket and the load
		// generator's client take, timed the same way
		const frames = await suite.server('ws-frames');
		for (const size of sizes) {
			for (let r = 0; r < roundCount; r++) {
				const group = `replay-frames-${size}-${r}`;
				await frames.publish({ count: size, burst: size, rate: 0, textBytes: TEXT_BYTES, backlog: true });
				await suite.connect(frames, group, 1, { counts: [size] });
				const whole = await suite.loadgen.delivered(group, 120_000);
				const got = await suite.loadgen.report(group);
				if (!whole || got.complete !== 1)
					throw new Error(`ws-frames: ${got.received} of ${size} backlog events`);
				record(rounds, 'ws-frames', { [`rate${size}`]: size / ((got.lastUs - got.openedUs) / 1e6) }, metrics);
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
					`${LIVE_RATE} live lines/s meanwhile; it got every event from its seq + 1 on, in order, then the live ones (checked); default byte caps`,
				'baseline (ws-frames): one client of a plain ws server that keeps the same events as pre-built batch frames (10 events each, as aco) and writes them whole as the client connects, no history: what one socket and the load generator take'
			]
		};
	}
};
