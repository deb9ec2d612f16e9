/**
 * @module bench/peers/scenarios/idle-memory
 * Scenario 4, idle memory: 10,000 connections with one subscription each (aco: each to a task of
 * its own, the worst case for channels; Socket.IO: the room every client joins; uWebSockets.js:
 * the topic every client subscribes to; plain `ws` has no subscriptions), then the server's RSS
 * and heap after a full collection, per connection, against the same server with none. One
 * system at a time.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { bar, ratiosAgainst, type MetricSpec } from '../report';
import { medians, pick, record, type Scenario } from '../suite';
import type { SystemName } from '../systems';

const METRICS: MetricSpec[] = [
	{ key: 'rssKb', label: 'RSS per connection', unit: 'KB', better: 'lower', digits: 1 },
	{ key: 'heapKb', label: 'JS heap per connection', unit: 'KB', better: 'lower', digits: 1 },
	{ key: 'connectSeconds', label: 'time to connect all', unit: 's', better: 'lower', digits: 1 }
];

export const idleMemory: Scenario = {
	id: 4,
	name: 'idle-memory',
	title: 'Idle memory: 10,000 connections with one subscription each',
	async run(suite) {
		const { size, peers } = suite.options;
		const connections = pick(size, 200, 5_000, 10_000);
		const systems: SystemName[] = [
			'aco',
			...peers.filter((p) => p === 'ws-cork' || p === 'socketio' || p === 'uws')
		];
		const rounds: Record<string, Record<string, number[]>> = {};
		for (const system of systems) {
			const server = await suite.server(system, { maxConnections: connections });
			const before = await server.gc();
			const group = `idle-${system}`;
			const subscribe = Array.from({ length: connections }, (_, i) => ({
				type: 'subscribe',
				filter: { task_ids: [`task_idle_${String(i).padStart(19, '0')}`] }
			}));
			const { seconds } = await suite.loadgen.connect({
				group,
				url: server.url,
				clients: connections,
				protocol: system === 'aco' ? 'aco' : system === 'socketio' ? 'socketio' : 'plain',
				subscribe,
				concurrency: 200
			});
			await sleep(500);
			const after = await server.gc();
			record(
				rounds,
				system,
				{
					rssKb: (after.rss - before.rss) / connections / 1024,
					heapKb: (after.heapUsed - before.heapUsed) / connections / 1024,
					connectSeconds: seconds
				},
				METRICS
			);
			await suite.loadgen.close(group);
			await server.close();
		}
		const figures = medians(rounds);
		const plain = figures['ws-cork']?.rssKb;
		return {
			figures,
			rounds,
			metrics: METRICS,
			ratios: ratiosAgainst(figures, METRICS.slice(0, 2), 'aco', systems.slice(1)),
			bars:
				plain === undefined
					? []
					: [bar('RSS per connection, aco ÷ plain ws', figures.aco!.rssKb! / plain, '<=', 1.5)],
			notes: [
				`${connections.toLocaleString('en-US')} connections; aco: each subscribed to a task of its own, Socket.IO: one room, uWebSockets.js: one topic, plain ws: none; ` +
					'memory after a full collection, less the same server with no connection'
			]
		};
	}
};
