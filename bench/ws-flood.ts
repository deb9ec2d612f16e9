/**
 * @module bench/ws-flood
 * What a flood of 1-byte WebSocket continuation frames from 50 connections costs the server,
 * and its healthy subscribers: aco's limits (`maxFragments` 16, `maxBufferedChunks` 1,024)
 * against ws's defaults (16,384 and 262,144), each on a real server (dist/server.js) started
 * fresh for every round, rounds interleaved. Measured: the server's peak RSS growth during the
 * flood (VmHWM), and the latency of a 20-line/s ticker's lines to three subscribed clients while
 * the flood runs (the ticker's send to the client's receipt).
 */
import fs from 'node:fs';
import { HealthyClients } from '../tests/helpers/healthy-clients';
import { SERVER_BUNDLE, startAco } from '../tests/helpers/server';
import { floodBytes, fragmentFlood, peakRss } from '../tests/helpers/ws-flood';
import { check, printTable, type BenchSummary, type Metric } from './lib/report';
import { median } from './lib/stats';

export const ROUNDS = 3;
export const ATTACKERS = 50;
export const FRAGMENTS = 20_000;

/** ws's own defaults: what aco ran with before it set them */
const WS_DEFAULTS = { ACO_WS_MAX_FRAGMENTS: '16384', ACO_WS_MAX_BUFFERED_CHUNKS: '262144' };

interface Round {
	rssGrowth: number;
	p99: number;
	max: number;
	closed: number;
}

async function round(env: Record<string, string>, flood: Buffer): Promise<Round> {
	const server = await startAco({ env });
	const healthy = await HealthyClients.start(server);
	try {
		await healthy.expectHealthy();
		const from = healthy.sent + 1;
		const before = peakRss(server.proc.pid!);
		const codes = await Promise.all(
			Array.from({ length: ATTACKERS }, () => fragmentFlood(server.port, flood))
		);
		const rssGrowth = peakRss(server.proc.pid!) - before;
		const figures = await healthy.expectHealthy({ fromLine: from, timeoutMs: 60_000 });
		return {
			rssGrowth,
			p99: figures.p99LatencyMs,
			max: figures.maxLatencyMs,
			closed: codes.filter((c) => c === 1008).length
		};
	} finally {
		await healthy.stop();
		await server.stop();
	}
}

export async function runWsFlood(): Promise<BenchSummary> {
	check(fs.existsSync(SERVER_BUNDLE), `${SERVER_BUNDLE} is missing: run "npm run build" first`);
	const flood = floodBytes(FRAGMENTS);
	const aco: Round[] = [];
	const baseline: Round[] = [];
	for (let r = 0; r < ROUNDS; r++) {
		aco.push(await round({}, flood));
		baseline.push(await round(WS_DEFAULTS, flood));
	}
	check(
		aco.every((r) => r.closed === ATTACKERS),
		`aco closed ${aco.map((r) => r.closed).join('/')} of ${ATTACKERS} attackers with 1008`
	);
	const mb = (bytes: number) => bytes / (1024 * 1024);
	const metrics: Metric[] = [
		{
			label: 'server peak RSS growth',
			unit: 'MB',
			aco: mb(median(aco.map((r) => r.rssGrowth))),
			baseline: mb(median(baseline.map((r) => r.rssGrowth))),
			better: 'lower',
			digits: 1
		},
		{
			label: 'healthy clients p99 latency',
			unit: 'ms',
			aco: median(aco.map((r) => r.p99)),
			baseline: median(baseline.map((r) => r.p99)),
			better: 'lower'
		},
		{
			label: 'healthy clients max latency',
			unit: 'ms',
			aco: median(aco.map((r) => r.max)),
			baseline: median(baseline.map((r) => r.max)),
			better: 'lower'
		}
	];
	printTable(
		`ws-flood: ${ATTACKERS} connections × ${FRAGMENTS.toLocaleString('en-US')} 1-byte continuation frames (median of ${ROUNDS} rounds; baseline: ws's default fragment and chunk limits)`,
		metrics
	);
	return { headline: metrics[0], also: [metrics[1]] };
}
