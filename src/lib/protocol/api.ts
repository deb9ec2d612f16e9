/**
 * @module protocol/api
 * Response bodies of the REST API under /api/v1. Errors are always {@link ApiErrorBody}
 * (`{ error: { code, message } }`) with a matching HTTP status.
 *
 * | method & path                          | response                                   |
 * | -------------------------------------- | ------------------------------------------ |
 * | GET  /api/v1/healthz                   | HealthResponse                             |
 * | GET  /api/v1/workflows                 | WorkflowsResponse                          |
 * | POST /api/v1/workflows/{name}/runs     | 201 RunResponse (503 while shutting down)  |
 * | GET  /api/v1/runs?status=&workflow=&limit= | RunsResponse (newest first)            |
 * | GET  /api/v1/runs/{id}                 | RunDetailResponse                          |
 * | POST /api/v1/runs/{id}/cancel          | RunResponse (409 when already finished)    |
 * | GET  /api/v1/tasks?status=&run_id=&limit= | TasksResponse (newest first)            |
 * | POST /api/v1/tasks                     | 201 IngestTaskResponse (ingest; see ./ingest.ts) |
 * | POST /api/v1/tasks/{id}/events         | IngestEventsResponse (ingest; see ./ingest.ts)   |
 * | GET  /api/v1/tasks/{id}                | TaskResponse (with executions)             |
 * | POST /api/v1/tasks/{id}/cancel         | TaskResponse (409 when already finished)   |
 * | GET  /api/v1/executions/{id}           | ExecutionResponse                          |
 * | GET  /api/v1/executions/{id}/log       | text/plain attachment, streamed; `?after=N` only lines after N; `?format=ndjson` one LogLine JSON per line |
 * | GET  /api/v1/realtime/stats            | RealtimeStatsResponse                      |
 * | GET  /api/v1/system/metrics            | SystemMetricsResponse                      |
 * | GET  /metrics                          | Prometheus text (prom-client)              |
 */
import type { Execution, Task, TaskDetail, WorkflowLoadError, WorkflowRun, WorkflowSummary } from './models';

export const API_BASE = '/api/v1';

export interface HealthResponse {
	status: 'ok';
	version: string;
	started_at: string;
	uptime_s: number;
}
export interface WorkflowsResponse {
	workflows: WorkflowSummary[];
	errors: WorkflowLoadError[];
}
export interface RunResponse {
	run: WorkflowRun;
}
export interface RunsResponse {
	runs: WorkflowRun[];
}
export interface RunDetailResponse {
	run: WorkflowRun;
	tasks: Task[];
}
export interface TasksResponse {
	tasks: Task[];
}
export interface TaskResponse {
	task: TaskDetail;
}
export interface ExecutionResponse {
	execution: Execution;
}

/** `GET /api/v1/realtime/stats`: the hub's figures at `timestamp`. */
export interface RealtimeStatsResponse {
	timestamp: string;
	epoch: string;
	/** the newest event seq */
	seq: number;
	uptime_s: number;
	connections: {
		active: number;
		total_created: number;
		/** refused upgrades, all reasons */
		rejected: number;
		rejected_by_reason: { capacity: number; per_ip: number; origin: number; shutting_down: number };
		max: number;
		max_per_ip: number;
		addresses: number;
	};
	/** frames (an event, a batch or a reply each count one) and payload bytes */
	messages: {
		sent: number;
		received: number;
		bytes_sent: number;
		bytes_received: number;
		events_delivered: number;
		batches_sent: number;
	};
	events_by_type: Record<string, number>;
	rate_limit: { per_second: number; burst: number; violations: number; closes: number };
	backpressure: {
		clients_under_backpressure: number;
		average_queue_depth: number;
		max_queue_depth: number;
		queued_bytes: number;
		dropped: number;
		coalesced: number;
		slow_consumer_closes: number;
	};
	history: {
		events: number;
		bytes: number;
		oldest_seq: number | null;
		newest_seq: number | null;
		max_events: number;
		max_bytes: number;
		max_age_ms: number;
		resumes: number;
		replayed: number;
		resets: number;
	};
	compression: {
		enabled: boolean;
		level: 'none' | 'fast' | 'default' | 'best';
		threshold_bytes: number;
		concurrency: number;
		bytes_before: number;
		bytes_after: number;
		ratio: number;
	};
	delivery_latency: { count: number; mean_ms: number };
	subscriptions: number;
	errors: number;
	transient_errors: number;
	/** clients closed with 4002 (kept for the first version of this response) */
	slow_consumer_closes: number;
}

/** `GET /api/v1/system/metrics`: the process and the hub. */
export interface SystemMetricsResponse {
	timestamp: string;
	process: {
		pid: number;
		node: string;
		platform: string;
		uptime_s: number;
		memory: { rss: number; heap_total: number; heap_used: number; external: number; array_buffers: number };
		cpu: { user_us: number; system_us: number };
		/** event loop delay over the last sampling window (ms) */
		event_loop_delay_ms: { mean: number; p99: number; max: number };
		load_average: number[];
	};
	hub: RealtimeStatsResponse;
}
