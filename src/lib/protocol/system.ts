/**
 * @module protocol/system
 * The figures behind the `/system` page: one sample of a node's hub and process, taken every
 * couple of seconds. Live samples travel as the `system.stats` message to subscriptions that
 * name it in `types` (never to a catch-all filter, and never numbered or replayed: figures of a
 * moment are worth nothing later); `GET /api/v1/system/stats` returns the last ten minutes of them.
 */

/** The message type a subscription names to receive samples. */
export const SYSTEM_STATS_TYPE = 'system.stats';

/** One sample of a node. Rates are per second over the interval since the previous sample. */
export interface SystemStatsSample {
	/** sample number on this node, rising by one per sample (a page merges REST and live by it) */
	n: number;
	/** when the sample was taken (ISO-8601) */
	at: string;
	/** the interval the rates were measured over, ms */
	interval_ms: number;
	connections: number;
	/** client → server frames and payload bytes per second */
	messages_in_per_s: number;
	bytes_in_per_s: number;
	/** server → client frames and payload bytes (before compression) per second */
	messages_out_per_s: number;
	bytes_out_per_s: number;
	/** events published per second (counted once, not per recipient) */
	events_per_s: number;
	/** clients with something waiting in their outbound queue */
	clients_under_backpressure: number;
	/** items waiting in all outbound queues, and in the longest one */
	queue_depth: number;
	max_queue_depth: number;
	/** low-priority events dropped for slow clients: since start, and per second now */
	dropped_total: number;
	dropped_per_s: number;
	/** the replay history */
	history_events: number;
	history_bytes: number;
	/** whether permessage-deflate is on */
	compression_enabled: boolean;
	/** wire bytes / payload bytes (frame headers make it a little over 1 without compression) */
	compression_ratio: number;
	/** event-loop delay over the interval, ms */
	event_loop_delay_ms: { mean: number; p99: number; max: number };
	/** process memory, bytes */
	memory: { rss: number; heap_used: number };
}

/** The `system.stats` message's data: the newest sample of the node the client is connected to. */
export interface SystemStatsData {
	node: { pid: number; started_at: string };
	sample: SystemStatsSample;
}

/** `GET /api/v1/system/stats`: the samples of the last `window_ms`, oldest first. */
export interface SystemStatsResponse {
	node: { pid: number; started_at: string };
	interval_ms: number;
	window_ms: number;
	samples: SystemStatsSample[];
}
