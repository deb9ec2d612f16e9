/**
 * @module bench/hub-fanout
 * Hub fan-out: aco's hub on a loopback HTTP server with many real `ws` clients (in a child
 * process) subscribed to everything. Each round publishes a load phase flat out, in bursts of
 * BURST events per event-loop turn as a tool's output chunk arrives (deliveries per second, the
 * server's time per event, frames per delivery), and then a paced phase, one event at a time
 * (publish → receipt latency without a backlog: batching must not add any), and fails unless
 * every client got every event once, in seq order.
 * Baseline, in the same run and with as many clients of its own: the hub's previous broadcast,
 * one frame per event and client, each event serialised once (see hub-fanout/servers.ts). Both servers stay
 * up with their clients connected, and rounds alternate between them, so a burst of load from
 * elsewhere on a shared machine hits both alike.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { AnyDomainEvent } from '../src/lib/protocol/events';
import type { ClientsReport } from './hub-fanout/clients.child';
import { eventMix } from './hub-fanout/events';
import { startHubServer, startPerEventServer, type FanoutServer } from './hub-fanout/servers';
import { BenchChild } from './lib/child';
import { check, printTable, type BenchSummary, type Metric } from './lib/report';
import { medianOf, nowUs, yieldToLoop } from './lib/stats';

export const CLIENTS = 200;
/** 200 × 400 = 80,000 deliveries per round and server; sized to keep `npm run bench` near two minutes */
export const LOAD_EVENTS = 400;
/** paced events, one every PACE_MS: slow enough for either server to clear each before the next */
export const PACED_EVENTS = 50;
export const PACE_MS = 15;
export const WARMUP_EVENTS = 100;
/** events published per event-loop turn in the load phase, like the lines of one output chunk */
export const BURST = 10;
export const ROUNDS = 5;
const CONNECT_TIMEOUT_MS = 20_000;
const DELIVERY_TIMEOUT_MS = 60_000;
const REPLY_TIMEOUT_MS = 10_000;
const CLIENTS_MODULE = new URL('./hub-fanout/clients.child.ts', import.meta.url);

type Kind = 'hub' | 'perEvent';

interface FanoutRun extends Record<string, number> {
	deliveriesPerSecond: number;
	/** time inside `bus.publish` per event: numbering, encoding and handing the frame to every socket */
	serverUsPerEvent: number;
	p50Ms: number;
	p99Ms: number;
	maxMs: number;
	bytesPerDelivery: number;
	framesPerDelivery: number;
	loadSeconds: number;
}

interface Target {
	kind: Kind;
	server: FanoutServer;
	/** events published to it so far = the seq its next round starts after */
	published: number;
}

/** Publishes events[from..to) and records each publish time; `paceMs` 0 means BURST per event-loop turn. */
async function publish(
	target: Target,
	events: AnyDomainEvent[],
	publishedUs: number[],
	range: { from: number; to: number; paceMs: number }
): Promise<number> {
	let busyUs = 0;
	const startedMs = performance.now();
	for (let i = range.from; i < range.to; i++) {
		if (range.paceMs)
			await sleep(Math.max(0, startedMs + (i - range.from) * range.paceMs - performance.now()));
		const at = nowUs();
		publishedUs[i] = at;
		target.server.bus.publish(events[i]);
		busyUs += nowUs() - at;
		if (!range.paceMs && (i - range.from) % BURST === BURST - 1) await yieldToLoop();
	}
	return busyUs;
}

/** null once every client has the seq, else why not */
async function delivered(clients: BenchChild, kind: Kind, seq: number): Promise<string | null> {
	clients.send({ cmd: 'await', group: kind, seq });
	return clients.next('delivered', DELIVERY_TIMEOUT_MS).then(
		() => null,
		(err: Error) => err.message
	);
}

async function round(
	target: Target,
	clients: BenchChild,
	events: AnyDomainEvent[],
	loadEvents: number
): Promise<FanoutRun> {
	const { kind } = target;
	const base = target.published;
	clients.send({ cmd: 'expect', group: kind, base, events: events.length });
	await clients.next('expecting', REPLY_TIMEOUT_MS);
	target.published += events.length;
	const publishedUs = new Array<number>(events.length);
	const loadStartedUs = nowUs();
	const busyUs = await publish(target, events, publishedUs, { from: 0, to: loadEvents, paceMs: 0 });
	let timedOut = await delivered(clients, kind, base + loadEvents);
	if (!timedOut && events.length > loadEvents) {
		await publish(target, events, publishedUs, { from: loadEvents, to: events.length, paceMs: PACE_MS });
		timedOut = await delivered(clients, kind, base + events.length);
	}
	clients.send({ cmd: 'report', group: kind, publishedUs, loadEvents });
	const report = await clients.next<ClientsReport>('report', REPLY_TIMEOUT_MS);
	check(
		report.received === report.expected && report.completeClients === CLIENTS,
		`${kind}: ${report.completeClients} of ${CLIENTS} clients got all ${events.length} events in seq order ` +
			`(${report.received} of ${report.expected} deliveries${timedOut ? `; ${timedOut}` : ''})` +
			[...report.closes, ...report.orderErrors].map((line) => `; ${line}`).join('')
	);
	const loadSeconds = (report.loadDeliveredUs - loadStartedUs) / 1e6;
	return {
		deliveriesPerSecond: (CLIENTS * loadEvents) / loadSeconds,
		serverUsPerEvent: busyUs / loadEvents,
		p50Ms: report.latencyUs.p50 / 1000,
		p99Ms: report.latencyUs.p99 / 1000,
		maxMs: report.latencyUs.max / 1000,
		bytesPerDelivery: report.bytes / report.received,
		framesPerDelivery: report.frames / report.received,
		loadSeconds
	};
}

async function measure(clients: BenchChild, targets: Target[]): Promise<Record<Kind, FanoutRun[]>> {
	for (const { kind, server } of targets) {
		clients.send({ cmd: 'connect', group: kind, url: server.url, clients: CLIENTS });
		await clients.next('ready', CONNECT_TIMEOUT_MS);
	}
	const warmup = eventMix(WARMUP_EVENTS);
	for (const target of targets) await round(target, clients, warmup, WARMUP_EVENTS);
	const events = eventMix(LOAD_EVENTS + PACED_EVENTS);
	const runs: Record<Kind, FanoutRun[]> = { hub: [], perEvent: [] };
	for (let r = 0; r < ROUNDS; r++) {
		// alternate which goes first, so neither always follows the other's backlog
		const order = r % 2 ? [...targets].reverse() : targets;
		for (const target of order) runs[target.kind].push(await round(target, clients, events, LOAD_EVENTS));
	}
	return runs;
}

function report(runs: Record<Kind, FanoutRun[]>): BenchSummary {
	const a = medianOf(runs.hub);
	const b = medianOf(runs.perEvent);
	const throughput: Metric = {
		label: 'deliveries per second (flat out)',
		unit: '',
		aco: a.deliveriesPerSecond,
		baseline: b.deliveriesPerSecond,
		better: 'higher'
	};
	const serverTime: Metric = {
		label: 'server time per event',
		unit: 'µs',
		aco: a.serverUsPerEvent,
		baseline: b.serverUsPerEvent,
		better: 'lower'
	};
	const ms = (label: string, aco: number, baseline: number): Metric => ({
		label,
		unit: 'ms',
		aco,
		baseline,
		better: 'lower',
		digits: 2
	});
	const p99 = ms('latency p99 (paced)', a.p99Ms, b.p99Ms);
	printTable(
		`Hub fan-out: ${CLIENTS} clients each, hub (batches) vs one frame per event; median of ${ROUNDS} rounds`,
		[
			throughput,
			serverTime,
			ms('latency p50 (paced)', a.p50Ms, b.p50Ms),
			p99,
			ms('latency max (paced)', a.maxMs, b.maxMs),
			{
				label: 'frames per delivery (whole round)',
				unit: '',
				aco: a.framesPerDelivery,
				baseline: b.framesPerDelivery,
				better: 'lower',
				digits: 2
			},
			{
				label: 'time to deliver the load phase',
				unit: 's',
				aco: a.loadSeconds,
				baseline: b.loadSeconds,
				better: 'lower',
				digits: 2
			}
		],
		[
			`a round: ${LOAD_EVENTS} events flat out (${BURST} per event-loop turn), ` +
				`then ${PACED_EVENTS} paced one every ${PACE_MS} ms`,
			'every client received every event once and in seq order, in every round (checked)',
			`a delivery is one event reaching one client; ${Math.round(a.bytesPerDelivery)} bytes per delivery ` +
				`(baseline ${Math.round(b.bytesPerDelivery)})`,
			'latency: bus.publish → receipt, over every client of the paced events; clients run in a child process'
		]
	);
	return { headline: throughput, also: [serverTime, p99] };
}

export async function runHubFanout(): Promise<BenchSummary> {
	const clients = new BenchChild(CLIENTS_MODULE);
	const targets: Target[] = [];
	let runs: Record<Kind, FanoutRun[]>;
	try {
		targets.push({
			kind: 'hub',
			server: await startHubServer(CLIENTS, LOAD_EVENTS + PACED_EVENTS),
			published: 0
		});
		targets.push({ kind: 'perEvent', server: await startPerEventServer(), published: 0 });
		runs = await measure(clients, targets);
	} finally {
		try {
			clients.send({ cmd: 'disconnect' });
			await clients.next('disconnected', REPLY_TIMEOUT_MS);
		} catch {
			// the child is gone or stuck; stop() ends it either way, and the servers close their side
		}
		await clients.stop();
		for (const { server } of targets) await server.close();
	}
	return report(runs);
}
