/**
 * @module bench/cluster-fanout
 * Fan-out across nodes: the same total number of WebSocket clients, subscribed to everything,
 * served by one aco node or spread over three, all nodes on one Redis (the `ACO_REDIS_URL`
 * bus: one global seq, one shared stream). A producer appends events to the stream flat out;
 * each round measures deliveries per second (clients × events / time until the last client
 * has the last event) and the nodes' CPU per delivery. Rounds alternate between the two
 * set-ups, which stay up with their clients connected. Fails unless every client got every
 * event once, in seq order.
 *
 * On this 2-core machine the three nodes share two cores with Redis, the producer and the
 * clients, so the ratio is bounded by the cores there are, not by the design (see the notes).
 */
import os from 'node:os';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { AnyDomainEvent } from '../src/lib/protocol/events';
import { RedisBus } from '../src/lib/server/bus/redis/redis-bus';
import { createLogger } from '../src/lib/server/logger';
import { startRedis, type RedisServer } from '../tests/helpers/redis';
import type { ClientsReport } from './cluster-fanout/clients.child';
import { BenchChild } from './lib/child';
import { check, printTable, type BenchSummary, type Metric } from './lib/report';
import { medianOf, nowUs } from './lib/stats';

export const CLIENTS = 600;
export const EVENTS = 2_000;
export const ROUNDS = 3;
/** events appended per event-loop turn, like the lines of a tool's output chunk */
export const BURST = 50;
const NODE_MODULE = new URL('./cluster-fanout/node.child.ts', import.meta.url);
const CLIENTS_MODULE = new URL('./cluster-fanout/clients.child.ts', import.meta.url);
const START_TIMEOUT_MS = 120_000;
const CONNECT_TIMEOUT_MS = 60_000;
const DELIVERY_TIMEOUT_MS = 120_000;
const REPLY_TIMEOUT_MS = 10_000;

interface Setup {
	name: 'one' | 'three';
	nodes: BenchChild[];
	producer: RedisBus;
}

interface Round extends Record<string, number> {
	deliveriesPerSecond: number;
	cpuUsPerDelivery: number;
	seconds: number;
}

function outputEvents(count: number, round: number): AnyDomainEvent[] {
	const text = 'x'.repeat(120);
	return Array.from({ length: count }, (_, i) => ({
		type: 'tool.lines',
		timestamp: new Date().toISOString(),
		data: {
			task_id: 'task_bench',
			run_id: null,
			execution_id: 'exec_bench',
			lines: [
				{
					line: round * count + i + 1,
					output: `${i} ${text}`,
					is_stderr: false,
					timestamp: new Date().toISOString()
				}
			]
		}
	}));
}

/** every node process started, so a failed start still stops them all */
const nodeProcesses: BenchChild[] = [];

async function startNode(
	redis: RedisServer,
	prefix: string,
	nodeId: string,
	clients: number
): Promise<{ child: BenchChild; url: string }> {
	const child = new BenchChild(NODE_MODULE);
	nodeProcesses.push(child);
	child.send({ cmd: 'start', redisUrl: redis.url, prefix, nodeId, clients, queueMessages: EVENTS });
	const { url } = await child.next<{ ok: string; url: string }>('started', START_TIMEOUT_MS);
	return { child, url };
}

async function cpuUs(nodes: BenchChild[]): Promise<number> {
	let total = 0;
	for (const node of nodes) {
		node.send({ cmd: 'cpu' });
		const { userUs, systemUs } = await node.next<{ ok: string; userUs: number; systemUs: number }>(
			'cpu',
			REPLY_TIMEOUT_MS
		);
		total += userUs + systemUs;
	}
	return total;
}

async function round(setup: Setup, clients: BenchChild, index: number): Promise<Round> {
	clients.send({ cmd: 'expect', group: setup.name, events: EVENTS });
	await clients.next('expecting', REPLY_TIMEOUT_MS);
	const events = outputEvents(EVENTS, index);
	const cpuBefore = await cpuUs(setup.nodes);
	const started = nowUs();
	for (let i = 0; i < events.length; i++) {
		setup.producer.publish(events[i]!);
		if (i % BURST === BURST - 1) await nextTurn();
	}
	clients.send({ cmd: 'await', group: setup.name });
	await clients.next('delivered', DELIVERY_TIMEOUT_MS);
	const cpuAfter = await cpuUs(setup.nodes);
	clients.send({ cmd: 'report', group: setup.name });
	const report = await clients.next<ClientsReport>('report', REPLY_TIMEOUT_MS);
	check(
		report.received === report.expected && report.completeClients === CLIENTS && report.errors.length === 0,
		`${setup.name}: ${report.completeClients} of ${CLIENTS} clients got all ${EVENTS} events in seq order ` +
			`(${report.received} of ${report.expected})${report.errors.map((e) => `; ${e}`).join('')}`
	);
	await setup.producer.flushed();
	const seconds = (report.lastDeliveredUs - started) / 1e6;
	const deliveries = CLIENTS * EVENTS;
	return {
		deliveriesPerSecond: deliveries / seconds,
		cpuUsPerDelivery: (cpuAfter - cpuBefore) / deliveries,
		seconds
	};
}

export async function runClusterFanout(): Promise<BenchSummary> {
	const redis = await startRedis();
	const logger = createLogger('silent');
	const setups: Setup[] = [];
	const clients = new BenchChild(CLIENTS_MODULE);
	const runs: Record<Setup['name'], Round[]> = { one: [], three: [] };
	try {
		for (const [name, count] of [
			['one', 1],
			['three', 3]
		] as const) {
			const prefix = `bench-${name}:`;
			const nodes = await Promise.all(
				Array.from({ length: count }, (_, i) => startNode(redis, prefix, `${name}-${i + 1}`, CLIENTS))
			);
			const producer = new RedisBus({
				url: redis.url,
				prefix,
				nodeId: `${name}-producer`,
				history: { maxEvents: 10_000, maxBytes: 0, maxAgeMs: 0 },
				logger
			});
			await producer.start();
			setups.push({ name, nodes: nodes.map((s) => s.child), producer });
			clients.send({ cmd: 'connect', group: name, urls: nodes.map((s) => s.url), clients: CLIENTS });
			await clients.next('ready', CONNECT_TIMEOUT_MS);
		}
		// warm-up: one round each, not counted
		for (const setup of setups) await round(setup, clients, 0);
		for (let r = 1; r <= ROUNDS; r++) {
			const order = r % 2 ? setups : [...setups].reverse();
			for (const setup of order) runs[setup.name].push(await round(setup, clients, r));
		}
	} finally {
		try {
			clients.send({ cmd: 'disconnect' });
			await clients.next('disconnected', REPLY_TIMEOUT_MS);
		} catch {
			// the child is gone; stop() ends it either way
		}
		await clients.stop();
		await Promise.all(setups.map((s) => s.producer.close()));
		await Promise.all(nodeProcesses.splice(0).map((c) => c.stop()));
		await redis.close();
	}
	const three = medianOf(runs.three);
	const one = medianOf(runs.one);
	const throughput: Metric = {
		label: 'deliveries per second, 3 nodes vs 1',
		unit: '',
		aco: three.deliveriesPerSecond,
		baseline: one.deliveriesPerSecond,
		better: 'higher'
	};
	const cpu: Metric = {
		label: 'node CPU per delivery, 3 nodes vs 1',
		unit: 'µs',
		aco: three.cpuUsPerDelivery,
		baseline: one.cpuUsPerDelivery,
		better: 'lower',
		digits: 2
	};
	printTable(
		`Cluster fan-out: ${CLIENTS} clients on 3 nodes (${CLIENTS / 3} each) vs on 1 node, all on one Redis; median of ${ROUNDS} rounds`,
		[
			throughput,
			cpu,
			{
				label: 'time to deliver a round',
				unit: 's',
				aco: three.seconds,
				baseline: one.seconds,
				better: 'lower',
				digits: 2
			}
		],
		[
			`a round: ${EVENTS} tool.lines events of one line each (~250 bytes) appended to the shared stream flat out, ${BURST} per turn`,
			'every client received every event once, in global seq order (checked)',
			`this machine has ${os.availableParallelism()} cores for the nodes, Redis, the producer and the clients; ` +
				'three nodes can use at most all of them, one node at most one'
		]
	);
	return { headline: throughput, also: [cpu] };
}
