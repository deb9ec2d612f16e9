/**
 * @module hub/system-feed
 * The `/system` page's figures: every `intervalMs` the feed takes a sample of the hub (connections,
 * messages and bytes per second in and out, backpressure, queues, drops, history, compression)
 * and of the process (event-loop delay, memory), keeps the last `windowMs` of samples for a page
 * that opens (`GET /api/v1/system/stats`), and sends each new sample as `system.stats` to the
 * clients whose subscriptions name it. Samples are not numbered events: nothing is kept for
 * replay and a catch-all subscription does not get them.
 */
import type { SystemStatsData, SystemStatsResponse, SystemStatsSample } from '../../protocol/system';
import { SYSTEM_STATS_TYPE } from '../../protocol/system';
import { wantsStream } from '../../protocol/filter';
import type { EventFilter } from '../../protocol/messages';
import type { Logger } from '../logger';
import { createSystemMetrics, type SystemMetrics } from '../system-metrics';
import type { HubCounters } from './counters';
import { encodeControl } from './frames';
import type { HubStats } from './types';

/** How often a sample is taken (and sent). */
export const DEFAULT_SYSTEM_STATS_INTERVAL_MS = 2_000;
/** How much of the past the feed keeps for a page that opens. */
export const DEFAULT_SYSTEM_STATS_WINDOW_MS = 10 * 60_000;

/** The clients the feed may send to: their subscriptions, and a way to send. */
export interface FeedClient {
	readonly subscriptions: ReadonlyMap<string, EventFilter>;
	send(data: string): boolean;
}

export interface SystemFeedOptions {
	clients: () => Iterable<FeedClient>;
	counters: HubCounters;
	stats: () => HubStats;
	logger: Logger;
	intervalMs?: number;
	windowMs?: number;
	/** process figures; an event-loop monitor of the feed's own by default */
	process?: SystemMetrics;
	now?: () => number;
}

interface Totals {
	at: number;
	messagesIn: number;
	bytesIn: number;
	messagesOut: number;
	bytesOut: number;
	events: number;
	dropped: number;
}

export class SystemFeed {
	readonly #options: SystemFeedOptions;
	readonly #intervalMs: number;
	readonly #capacity: number;
	readonly #now: () => number;
	readonly #node: SystemStatsData['node'];
	#samples: SystemStatsSample[] = [];
	#process: SystemMetrics | null = null;
	#timer: NodeJS.Timeout | null = null;
	#last: Totals | null = null;
	#n = 0;

	constructor(options: SystemFeedOptions) {
		this.#options = options;
		this.#intervalMs = options.intervalMs ?? DEFAULT_SYSTEM_STATS_INTERVAL_MS;
		this.#capacity = Math.max(
			1,
			Math.ceil((options.windowMs ?? DEFAULT_SYSTEM_STATS_WINDOW_MS) / this.#intervalMs)
		);
		this.#now = options.now ?? (() => Date.now());
		this.#node = { pid: process.pid, started_at: new Date(this.#now()).toISOString() };
	}

	/** Starts sampling; idempotent. */
	start(): void {
		if (this.#timer) return;
		this.#process = this.#options.process ?? createSystemMetrics();
		this.#last = this.#totals();
		this.#timer = setInterval(() => this.tick(), this.#intervalMs);
		this.#timer.unref();
	}

	/** Stops sampling and the event-loop monitor; idempotent. */
	stop(): void {
		if (this.#timer) clearInterval(this.#timer);
		this.#timer = null;
		if (!this.#options.process) this.#process?.close();
		this.#process = null;
	}

	/** The samples kept, oldest first. */
	response(): SystemStatsResponse {
		return {
			node: this.#node,
			interval_ms: this.#intervalMs,
			window_ms: this.#capacity * this.#intervalMs,
			samples: [...this.#samples]
		};
	}

	/** Takes one sample, keeps it and sends it to the clients that asked for it. Never throws. */
	tick(): SystemStatsSample | null {
		try {
			const sample = this.#sample();
			this.#samples.push(sample);
			if (this.#samples.length > this.#capacity)
				this.#samples.splice(0, this.#samples.length - this.#capacity);
			this.#publish(sample);
			return sample;
		} catch (err) {
			this.#options.logger.error({ err }, 'system stats sample failed');
			return null;
		}
	}

	#totals(): Totals {
		const c = this.#options.counters;
		let events = 0;
		for (const count of Object.values(c.eventsByType)) events += count;
		return {
			at: this.#now(),
			messagesIn: c.messagesReceived,
			bytesIn: c.bytesReceived,
			messagesOut: c.messagesSent,
			bytesOut: c.bytesSent,
			events,
			dropped: c.eventsDropped
		};
	}

	#sample(): SystemStatsSample {
		const totals = this.#totals();
		const last = this.#last ?? totals;
		this.#last = totals;
		const seconds = Math.max(0.001, (totals.at - last.at) / 1000);
		const rate = (now: number, before: number) => round(Math.max(0, now - before) / seconds);
		const stats = this.#options.stats();
		const proc = this.#process?.read();
		const active = stats.connections.active;
		return {
			n: ++this.#n,
			at: new Date(totals.at).toISOString(),
			interval_ms: Math.round(totals.at - last.at),
			connections: active,
			messages_in_per_s: rate(totals.messagesIn, last.messagesIn),
			bytes_in_per_s: rate(totals.bytesIn, last.bytesIn),
			messages_out_per_s: rate(totals.messagesOut, last.messagesOut),
			bytes_out_per_s: rate(totals.bytesOut, last.bytesOut),
			events_per_s: rate(totals.events, last.events),
			clients_under_backpressure: stats.backpressure.clients_under_backpressure,
			queue_depth: Math.round(stats.backpressure.average_queue_depth * active),
			max_queue_depth: stats.backpressure.max_queue_depth,
			dropped_total: totals.dropped,
			dropped_per_s: rate(totals.dropped, last.dropped),
			history_events: stats.history.events,
			history_bytes: stats.history.bytes,
			compression_enabled: stats.compression.enabled,
			compression_ratio: stats.compression.ratio,
			event_loop_delay_ms: {
				mean: round(proc?.event_loop_delay_ms.mean ?? 0),
				p99: round(proc?.event_loop_delay_ms.p99 ?? 0),
				max: round(proc?.event_loop_delay_ms.max ?? 0)
			},
			memory: { rss: proc?.memory.rss ?? 0, heap_used: proc?.memory.heap_used ?? 0 }
		};
	}

	#publish(sample: SystemStatsSample): void {
		let frame: string | null = null;
		for (const client of this.#options.clients()) {
			if (!wants(client)) continue;
			frame ??= encodeControl(SYSTEM_STATS_TYPE, { node: this.#node, sample });
			client.send(frame);
		}
	}
}

function wants(client: FeedClient): boolean {
	for (const filter of client.subscriptions.values()) if (wantsStream(filter, SYSTEM_STATS_TYPE)) return true;
	return false;
}

function round(value: number): number {
	return Math.round(value * 100) / 100;
}
