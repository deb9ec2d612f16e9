/**
 * @module hub/figures
 * The hub's figures read on demand: `stats()` for `GET /api/v1/realtime/stats` and the live
 * gauges a Prometheus scrape reads. Nothing here runs per event; queue depths and wire bytes
 * are summed over the sessions when asked.
 */
import type { HubConfig } from '../config';
import { compressionStats } from './compression';
import type { HubCounters } from './counters';
import type { FilterIndex } from './filter-index';
import type { LiveFigures } from './metrics';
import type { SessionPool } from './pool';
import type { Session } from './session';
import type { HistorySource, StreamPosition } from './stream';
import type { HubStats } from './types';

export interface FiguresOptions {
	config: HubConfig;
	counters: HubCounters;
	pool: SessionPool;
	history: HistorySource;
	index: FilterIndex<Session>;
	position: () => StreamPosition;
	latency: () => { count: number; mean_ms: number };
	/** Date.now() when the hub started */
	startedAt: number;
}

export interface HubFigures {
	stats(): HubStats;
	live(): LiveFigures;
}

export function createFigures(options: FiguresOptions): HubFigures {
	const { config, counters, pool, history, index, position, latency, startedAt } = options;

	function backpressure() {
		let under = 0;
		let depth = 0;
		let maxDepth = 0;
		let bytes = 0;
		for (const session of pool.values()) {
			const d = session.queueDepth;
			if (d > 0) under += 1;
			depth += d;
			maxDepth = Math.max(maxDepth, d);
			bytes += session.queueBytes;
		}
		return { under, depth, maxDepth, bytes };
	}

	function wireBytesSent(): number {
		let bytes = counters.closedWireBytes;
		for (const session of pool.values()) bytes += session.wireBytes;
		return bytes;
	}

	function liveFigures(): LiveFigures {
		const queues = backpressure();
		const poolStats = pool.stats();
		const historyStats = history.stats();
		return {
			connections: pool.size,
			connectionsCreated: poolStats.total_created,
			rejectedByReason: poolStats.rejected_by_reason,
			clientsUnderBackpressure: queues.under,
			queuedEvents: queues.depth,
			historyEvents: historyStats.events,
			historyBytes: historyStats.bytes,
			subscriptions: index.size,
			wireBytesSent: wireBytesSent()
		};
	}

	function stats(): HubStats {
		const { epoch, seq } = position();
		const queues = backpressure();
		return {
			timestamp: new Date().toISOString(),
			epoch,
			seq,
			uptime_s: Math.round((Date.now() - startedAt) / 1000),
			connections: pool.stats(),
			messages: {
				sent: counters.messagesSent,
				received: counters.messagesReceived,
				bytes_sent: counters.bytesSent,
				bytes_received: counters.bytesReceived,
				events_delivered: counters.eventsDelivered,
				batches_sent: counters.batchesSent
			},
			events_by_type: { ...counters.eventsByType },
			rate_limit: {
				per_second: config.rateLimitPerSecond,
				burst: config.rateLimitBurst,
				violations: counters.rateLimitViolations,
				closes: counters.rateLimitCloses
			},
			backpressure: {
				clients_under_backpressure: queues.under,
				average_queue_depth: pool.size ? queues.depth / pool.size : 0,
				max_queue_depth: queues.maxDepth,
				queued_bytes: queues.bytes,
				dropped: counters.eventsDropped,
				coalesced: counters.eventsCoalesced,
				slow_consumer_closes: counters.slowConsumerCloses
			},
			history: {
				...history.stats(),
				resumes: counters.resumes,
				replayed: counters.eventsReplayed,
				resets: counters.resets
			},
			compression: compressionStats(config.compression, counters.bytesSent, wireBytesSent()),
			delivery_latency: latency(),
			subscriptions: index.size,
			errors: counters.errors,
			transient_errors: counters.transientErrors,
			slow_consumer_closes: counters.slowConsumerCloses
		};
	}

	return { stats, live: liveFigures };
}
