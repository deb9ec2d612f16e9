import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { EventFilter } from '../../protocol/messages';
import type { SystemStatsData } from '../../protocol/system';
import { createLogger } from '../logger';
import type { SystemMetrics } from '../system-metrics';
import { createCounters } from './counters';
import { SystemFeed, type FeedClient } from './system-feed';
import type { HubStats } from './types';

function client(filters: EventFilter[]): FeedClient & { got: SystemStatsData[] } {
	const got: SystemStatsData[] = [];
	return {
		subscriptions: new Map(filters.map((f, i) => [`s${i}`, f])),
		send(data) {
			got.push((JSON.parse(data) as { data: SystemStatsData }).data);
			return true;
		},
		got
	};
}

const processFigures = {
	read: () => ({
		event_loop_delay_ms: { mean: 1.234, p99: 5, max: 9 },
		memory: { rss: 100, heap_used: 40, heap_total: 50, external: 0, array_buffers: 0 }
	}),
	close: vi.fn()
} as unknown as SystemMetrics;

function stats(active: number): HubStats {
	return {
		connections: { active },
		backpressure: { clients_under_backpressure: 1, average_queue_depth: 2.5, max_queue_depth: 4 },
		history: { events: 7, bytes: 700 },
		compression: { enabled: true, ratio: 0.25 }
	} as unknown as HubStats;
}

describe('SystemFeed', () => {
	beforeEach(() => {
		vi.useFakeTimers();
	});
	afterEach(() => {
		vi.useRealTimers();
	});

	it('samples rates per second and sends each sample only to clients that name system.stats', () => {
		const counters = createCounters();
		const watcher = client([{ types: ['system.stats'] }]);
		const everything = client([{}]);
		const feed = new SystemFeed({
			clients: () => [watcher, everything],
			counters,
			stats: () => stats(2),
			logger: createLogger('silent'),
			intervalMs: 1000,
			process: processFigures
		});
		feed.start();
		counters.messagesSent += 50;
		counters.bytesSent += 5000;
		counters.messagesReceived += 4;
		counters.eventsByType['task.progress'] = 20;
		counters.eventsDropped += 3;
		vi.advanceTimersByTime(2000);
		expect(everything.got).toEqual([]);
		expect(watcher.got).toHaveLength(2);
		const [first, second] = watcher.got.map((d) => d.sample);
		expect(first).toMatchObject({
			n: 1,
			interval_ms: 1000,
			connections: 2,
			messages_out_per_s: 50,
			bytes_out_per_s: 5000,
			messages_in_per_s: 4,
			events_per_s: 20,
			dropped_per_s: 3,
			dropped_total: 3,
			clients_under_backpressure: 1,
			queue_depth: 5,
			max_queue_depth: 4,
			history_events: 7,
			compression_enabled: true,
			compression_ratio: 0.25,
			event_loop_delay_ms: { mean: 1.23, p99: 5, max: 9 },
			memory: { rss: 100, heap_used: 40 }
		});
		expect(second).toMatchObject({ n: 2, messages_out_per_s: 0, dropped_total: 3 });
		feed.stop();
		expect(vi.getTimerCount()).toBe(0);
	});

	it('keeps the last window of samples for a page that opens, oldest first', () => {
		const feed = new SystemFeed({
			clients: () => [],
			counters: createCounters(),
			stats: () => stats(0),
			logger: createLogger('silent'),
			intervalMs: 1000,
			windowMs: 5000,
			process: processFigures
		});
		feed.start();
		vi.advanceTimersByTime(8000);
		const { samples, interval_ms, window_ms } = feed.response();
		expect(samples.map((s) => s.n)).toEqual([4, 5, 6, 7, 8]);
		expect([interval_ms, window_ms]).toEqual([1000, 5000]);
		feed.stop();
	});

	it('survives a failing figure without stopping', () => {
		let fail = true;
		const feed = new SystemFeed({
			clients: () => [],
			counters: createCounters(),
			stats: () => {
				if (fail) throw new Error('boom');
				return stats(1);
			},
			logger: createLogger('silent'),
			intervalMs: 1000,
			process: processFigures
		});
		feed.start();
		vi.advanceTimersByTime(1000);
		fail = false;
		vi.advanceTimersByTime(1000);
		expect(feed.response().samples.map((s) => s.connections)).toEqual([1]);
		feed.stop();
	});
});
