/**
 * @module bench/peers/scenarios/compression
 * Scenario 7, compression on (permessage-deflate, level "fast", every frame): aco compresses each
 * frame once for every client, so its CPU per delivery must stay within 2× of the same aco
 * uncompressed, and a connection must cost at most 20 KB more. `ws` compresses per client (a
 * zlib stream per socket); uWebSockets.js's shared compressor compresses once per publish.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { round } from '../harness';
import { bar, ratiosAgainst, type MetricSpec } from '../report';
import { medians, pick, record, rotate, type Scenario } from '../suite';
import type { SystemName } from '../systems';
import { BURST, TEXT_BYTES } from './fanout';

const METRICS: MetricSpec[] = [
	{ key: 'deliveriesPerSecond', label: 'deliveries/s', unit: '', better: 'higher' },
	{ key: 'serverUsPerDelivery', label: 'server CPU per delivery', unit: 'µs', better: 'lower', digits: 2 },
	{ key: 'wireBytesPerDelivery', label: 'wire bytes per delivery', unit: 'B', better: 'lower', digits: 0 },
	{ key: 'rssKb', label: 'RSS per connection', unit: 'KB', better: 'lower', digits: 1 }
];

interface Member {
	name: string;
	system: SystemName;
	compression: boolean;
}

export const compression: Scenario = {
	id: 7,
	name: 'compression',
	title: 'Compression on: each event compressed once, not once per client',
	async run(suite) {
		const { clients, size, peers, rounds: roundCount } = suite.options;
		const events = pick(size, 50, 200, 500);
		const members: Member[] = [
			{ name: 'aco', system: 'aco', compression: true },
			{ name: 'aco-plain', system: 'aco', compression: false },
			...(['ws-cork', 'uws'] as const)
				.filter((p) => peers.includes(p))
				.map((p) => ({ name: p, system: p, compression: true }))
		];
		const started = [];
		const rounds: Record<string, Record<string, number[]>> = {};
		for (const member of members) {
			const server = await suite.server(member.system, { compression: member.compression });
			const before = await server.gc();
			const group = `compression-${member.name}`;
			await suite.connect(server, group, clients, { deflate: member.compression });
			// a frame each way, so every lazily made zlib context exists before memory is read
			await round(server, suite.loadgen, {
				group,
				counts: [20],
				publish: { count: 20, burst: BURST, rate: 0, textBytes: TEXT_BYTES }
			});
			await sleep(200);
			const after = await server.gc();
			record(rounds, member.name, { rssKb: (after.rss - before.rss) / clients / 1024 }, METRICS);
			started.push({ ...member, server, group });
		}
		for (let r = 0; r < roundCount; r++) {
			for (const m of rotate(started, r)) {
				const result = await round(m.server, suite.loadgen, {
					group: m.group,
					counts: [events],
					publish: { count: events, burst: BURST, rate: 0, textBytes: TEXT_BYTES }
				});
				const wire = await suite.loadgen.report(m.group);
				record(rounds, m.name, { ...result, wireBytesPerDelivery: wire.wireBytes / wire.received }, METRICS);
			}
		}
		const figures = medians(rounds);
		const aco = figures.aco!;
		const plain = figures['aco-plain']!;
		return {
			figures,
			rounds,
			metrics: METRICS,
			ratios: ratiosAgainst(
				figures,
				METRICS,
				'aco',
				members.filter((m) => m.name !== 'aco').map((m) => m.name)
			),
			bars: [
				bar(
					'CPU per delivery, compressed ÷ uncompressed',
					aco.serverUsPerDelivery! / plain.serverUsPerDelivery!,
					'<=',
					2
				),
				bar('extra memory per connection with compression (KB)', aco.rssKb! - plain.rssKb!, '<=', 20)
			],
			notes: [
				`${clients} clients per system, every frame compressed (threshold 0, level fast); rounds of ${events} lines flat out`,
				'wire bytes are what the clients read (compressed payloads); the load generator inflates every compressed frame'
			]
		};
	}
};
