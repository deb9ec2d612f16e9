/**
 * @module bus/redis/metrics
 * The shared bus's figures for Prometheus (`/metrics`), read from its health when scraped.
 * Declared in one table, like the hub's; each series is this node's view.
 */
import { Counter, Gauge, type Metric } from 'prom-client';
import type { RedisStatus } from '../../../protocol/api';

type Read = (health: RedisStatus) => number;

export const REDIS_GAUGES: Record<string, [string, Read]> = {
	aco_redis_up: [
		'1 while this node reaches Redis (live fan-out between nodes), else 0.',
		(h) => (h.status === 'up' ? 1 : 0)
	],
	aco_redis_buffered_events: ['Events waiting for Redis to publish them.', (h) => h.publisher.buffered],
	aco_redis_buffered_bytes: ['Bytes of the events waiting for Redis.', (h) => h.publisher.buffered_bytes],
	aco_stream_seq: ['The newest seq of the shared stream this node has delivered.', (h) => h.seq]
};

export const REDIS_COUNTERS: Record<string, [string, Read]> = {
	aco_redis_published_events_total: [
		'Events this node appended to the shared stream.',
		(h) => h.publisher.published
	],
	aco_redis_lost_events_total: [
		'Events dropped after the outage buffer overflowed (each loss bumps the epoch: clients reset).',
		(h) => h.publisher.lost
	],
	aco_redis_epoch_bumps_total: [
		'Epochs this node began after losing events.',
		(h) => h.publisher.epoch_bumps
	],
	aco_redis_read_events_total: ['Events this node read from the shared stream.', (h) => h.reader.read],
	aco_redis_stream_resets_total: [
		'Times the shared stream moved on under this node (new epoch, trimmed past it); its clients reset.',
		(h) => h.reader.resets
	]
};

/** The metrics, unregistered: the hub's registry takes them (`createHub({ extraMetrics })`). */
export function redisMetrics(health: () => RedisStatus): Metric[] {
	const gauges = Object.entries(REDIS_GAUGES).map(
		([name, [help, read]]) =>
			new Gauge({
				name,
				help,
				registers: [],
				collect() {
					this.set(read(health()));
				}
			})
	);
	const counters = Object.entries(REDIS_COUNTERS).map(
		([name, [help, read]]) =>
			new Counter({
				name,
				help,
				registers: [],
				collect() {
					this.reset();
					this.inc(read(health()));
				}
			})
	);
	return [...gauges, ...counters] as Metric[];
}
