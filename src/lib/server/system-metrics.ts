/**
 * @module system-metrics
 * The process figures for `GET /api/v1/system/metrics`: memory, CPU time, uptime and the
 * event loop delay (a histogram sampled by Node itself, reset after each read so a reading
 * covers the time since the previous one).
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import os from 'node:os';
import type { SystemMetricsResponse } from '../protocol/api';

/** Sampling resolution of the event loop delay monitor. */
export const EVENT_LOOP_RESOLUTION_MS = 20;

export interface SystemMetrics {
	read(): SystemMetricsResponse['process'];
	/** stops the event loop monitor; idempotent */
	close(): void;
}

export function createSystemMetrics(): SystemMetrics {
	let histogram: IntervalHistogram | null = monitorEventLoopDelay({ resolution: EVENT_LOOP_RESOLUTION_MS });
	histogram.enable();
	const ms = (ns: number) => (Number.isFinite(ns) ? ns / 1e6 : 0);
	return {
		read() {
			const memory = process.memoryUsage();
			const cpu = process.cpuUsage();
			const delay = histogram
				? { mean: ms(histogram.mean), p99: ms(histogram.percentile(99)), max: ms(histogram.max) }
				: { mean: 0, p99: 0, max: 0 };
			histogram?.reset();
			return {
				pid: process.pid,
				node: process.version,
				platform: process.platform,
				uptime_s: Math.round(process.uptime()),
				memory: {
					rss: memory.rss,
					heap_total: memory.heapTotal,
					heap_used: memory.heapUsed,
					external: memory.external,
					array_buffers: memory.arrayBuffers
				},
				cpu: { user_us: cpu.user, system_us: cpu.system },
				event_loop_delay_ms: delay,
				load_average: os.loadavg()
			};
		},
		close() {
			histogram?.disable();
			histogram = null;
		}
	};
}
