/**
 * @module protocol/api
 * Response bodies of the REST API under /api/v1. Errors are always {@link ApiErrorBody}
 * (`{ error: { code, message } }`) with a matching HTTP status.
 *
 * | method & path                          | response                                   |
 * | -------------------------------------- | ------------------------------------------ |
 * | GET  /api/v1/healthz                   | HealthResponse                             |
 * | GET  /api/v1/workflows                 | WorkflowsResponse                          |
 * | GET  /api/v1/workflows/{name}          | WorkflowDetailResponse (also for a file that does not load; 404 otherwise) |
 * | POST /api/v1/workflows/{name}/runs     | 201 RunResponse (503 while shutting down)  |
 * | GET  /api/v1/runs?status=&workflow=&limit=&offset= | RunsResponse (newest first; `offset` ≤ 999, `has_more`) |
 * | GET  /api/v1/runs/{id}                 | RunDetailResponse                          |
 * | GET  /api/v1/runs/{id}/log             | text attachment: every step of every task, each after a `=== task › Step i/n: name · status ===` header; `?format=ndjson` (lines carry task, step, execution_id); `?ansi=keep|strip`; named `<workflow>-run-<id>.log` |
 * | POST /api/v1/runs/{id}/cancel          | RunResponse (409 when already finished)    |
 * | GET  /api/v1/tasks?status=&run_id=&limit= | TasksResponse (newest first)            |
 * | POST /api/v1/tasks                     | 201 IngestTaskResponse (ingest; see ./ingest.ts) |
 * | POST /api/v1/tasks/{id}/events         | IngestEventsResponse (ingest; see ./ingest.ts)   |
 * | GET  /api/v1/tasks/{id}                | TaskResponse (with executions)             |
 * | POST /api/v1/tasks/{id}/cancel         | TaskResponse (409 when already finished)   |
 * | GET  /api/v1/tasks/{id}/log            | like the run's log, for one task's steps; named `<workflow>-<task>.log` |
 * | GET  /api/v1/executions/{id}           | ExecutionResponse                          |
 * | GET  /api/v1/executions/{id}/log       | text/plain attachment, streamed; `?after=N` only lines after N; `?limit=N` at most N lines; `?format=ndjson` one LogLine JSON per line; `?ansi=keep|strip` (text, default keep); named `<workflow>-<task>-<step>.log`, `.ansi.log` with `ansi=keep`, `.ndjson` |
 * | GET  /api/v1/executions/{id}/lines     | LogLinesResponse (see below)               |
 * | GET  /api/v1/executions/{id}/search    | LogSearchResponse (see below)              |
 * | GET  /api/v1/executions/{id}/outline   | LogOutlineResponse                         |
 * | GET  /api/v1/realtime/stats            | RealtimeStatsResponse (`?scope=cluster`: with every node's) |
 * | GET  /api/v1/system/metrics            | SystemMetricsResponse                      |
 * | GET  /api/v1/system/stats              | SystemStatsResponse (protocol/system.ts): the last 10 min of samples |
 * | GET  /metrics                          | Prometheus text (prom-client)              |
 *
 * Log lines are the {@link LogLine} records as stored and as NDJSON downloads them:
 * `{ n, stream, ts, text }` (`n` is the 1-based line number, `ts` the ISO timestamp), the same
 * shape everywhere, so the browser merges REST pages and live `tool.lines` events by `n`.
 *
 * `GET …/lines` — one of these selects the page, in this order of precedence:
 * - `tail=<n ≥ 1>`: the last n lines (of the stream filter);
 * - `index=<k ≥ 0>`: the k-th line (0-based) of the stream filter onwards; with `stream=both`
 *   index k is line k + 1, so a virtual list over a filtered view can address rows directly;
 * - `from=<line ≥ 1>` (default 1): lines numbered ≥ from (of the stream filter).
 * Plus `limit=<1…5000>` (default 1000) and `stream=both|stdout|stderr` (default both).
 * A page of long lines holds fewer than `limit` (at least one): it ends at a budget of 192 Mi
 * characters of JSON, each character counted as 6 (its longest escape, `\u00XX`), which a page
 * of 500 lines of 64 KiB still fits whole. `first_index + lines.length < total` then says more
 * follow (a tail too): continue with `from=<last n + 1>`, or `index=<first_index + lines.length>`.
 *
 * `GET …/search` — `q` (required, non-empty), `regex=0|1` (JavaScript RegExp syntax, default 0),
 * `case=0|1` (case-sensitive, default 0), `limit=<1…10000>` (default 1000), `after=<line>` (only
 * matches on lines > after), `stream=both|stdout|stderr` (default both). It matches
 * `displayText(text)` from `src/lib/log/terminal.ts` (what a terminal shows: ANSI stripped, `\r`
 * applied, tabs expanded), so `ranges` are `[start, end)` UTF-16 offsets into that string and
 * line up with `displaySpans(text)`. Empty matches are ignored (a line matches when it has a
 * non-empty match). `total` counts matching lines in the whole log as stored when the search ran.
 * Errors: 400 `invalid_regex` (message names the problem), 400 `search_timeout` (the pattern
 * took too long on a chunk of lines, a catastrophic-backtracking regex; or the whole scan passed
 * its 30 s budget; either way the message names the line it stopped after, and searching again
 * continues from there), 400 `invalid_query`.
 *
 * `GET …/outline` — `::group::name` / `::endgroup::` sections and `::error|warning|notice::`
 * annotations, kept at ingest so it is cheap on any log size. Groups do not nest (as in GitHub
 * Actions): a `::group::` while one is open ends the open one on the line before. `end` is the
 * line of `::endgroup::` (or the line before the next `::group::`), null while still open.
 *
 * Live progress bars: a tool that redraws a line with `\r` and prints no newline for 1 s has
 * the line so far stored and streamed as a line with `partial: true` (LogLine.partial, also on
 * `tool.lines`); the pieces of an overlong line (> 64 KiB) are partial too. The next line
 * continues the same terminal line: the text download writes no newline after a partial line,
 * so it stays byte-identical to what the tool printed (CRLF aside, stored as LF). A viewer may
 * show a partial line followed by its continuation as one row, e.g. only the continuation
 * (its `displayText` after `\r` is the bar's newest state) — or simply as rows of their own.
 *
 * `GET …/outline` also has `progress`: the runs of such snapshots, `[{ start, end }]` in line order,
 * each to be shown as ONE row, its newest line (`end`, the gutter shows that number; a link to a
 * line inside the run opens that row). A run is a stretch of partial lines holding `\r`, of one
 * stream on consecutive line numbers, plus the next line when it continues them with a `\r` of
 * its own (its display is the bar's final state); `end: null` while the run is still the
 * newest output (it then reaches the last line so far). Runs are recorded at ingest (the rule:
 * src/lib/log/progress-runs.ts); logs stored before that have none.
 *
 * `GET …/outline` also has `commands`: ranges of lines that are workflow commands which only
 * act (`::progress`, `::add-mask::`, `::endgroup::`); a viewer hides them by default (the
 * download keeps them: it is what the tool printed).
 *
 * `GET …/outline` also has `truncated: true` when there were more than 10,000 groups,
 * annotations, progress runs or command ranges, or more than 40,000 marks (lines that are a group,
 * an annotation or a workflow command) to read: it reads the first 40,000 only, and then says in
 * `commands_through` the line its command ranges reach (`marks` counts what it read).
 */
import type {
	Execution,
	LogLine,
	LogStream,
	Task,
	TaskDetail,
	WorkflowLoadError,
	WorkflowRun,
	WorkflowSummary
} from './models';

export const API_BASE = '/api/v1';

/**
 * 200 with status "ok" while the node can serve; 503 with status "unavailable" (and the reason)
 * while its database cannot be reached, so a proxy routes around it.
 */
export interface HealthResponse {
	status: 'ok' | 'unavailable';
	version: string;
	started_at: string;
	uptime_s: number;
	/** this node's id (ACO_NODE_ID) */
	node?: string;
	database?: { kind: 'sqlite' | 'postgres'; ok: boolean; error?: string };
	/**
	 * the shared event stream's Redis (ACO_REDIS_URL); null when the bus is in-process. Only up or
	 * down: anyone may ask, so where it is and why it is down are in `/api/v1/realtime/stats`
	 */
	redis?: RedisHealthSummary | null;
}

/** Redis as healthz tells of it, without credentials: none of its address, none of the driver's words. */
export interface RedisHealthSummary {
	status: 'up' | 'down';
	/** when the status last changed (ISO-8601) */
	since: string;
	/** false until the node first reached Redis */
	attached: boolean;
	/** while down: what that means, in words of our own */
	message?: string;
}

/**
 * How the Redis behind the shared event stream is doing, as one node sees it. While `status` is
 * `down`, tools run and logs are stored; only live fan-out between nodes waits.
 */
export interface RedisStatus {
	status: 'up' | 'down';
	/** when the status last changed (ISO-8601) */
	since: string;
	/** the server; its password (also one in the query string) reads `***` */
	address: string;
	last_error: string | null;
	/** this node's position in the shared stream */
	epoch: string;
	seq: number;
	/** false until the node first reached Redis (its position is provisional until then) */
	attached: boolean;
	publisher: {
		published: number;
		batches: number;
		/** events waiting for Redis */
		buffered: number;
		buffered_bytes: number;
		/** events dropped after the buffer overflowed during an outage (clients were reset) */
		lost: number;
		epoch_bumps: number;
		last_error: string | null;
	};
	reader: {
		attached: boolean;
		epoch: string;
		seq: number;
		/** events read from the stream */
		read: number;
		/** times the stream moved on under this node (new epoch, trimmed past it) */
		resets: number;
		/** stream events that were not events (skipped) */
		corrupt: number;
		last_error: string | null;
	};
}

/** One node's figures as it last shared them through Redis (every 2 s, gone 10 s after it stops). */
export interface ClusterNodeStats {
	node: string;
	updated_at: string;
	stats: RealtimeStatsResponse;
	redis: RedisStatus | null;
}

/** `GET /api/v1/realtime/stats?scope=cluster`: every live node; limits and counts are per node. */
export interface ClusterStats {
	nodes: ClusterNodeStats[];
	totals: { nodes: number; connections: number; events_delivered: number; messages_sent: number };
	/** why the other nodes could not be listed (Redis unreachable); null when they were */
	error: string | null;
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
	/** more runs match after this page (`offset` + `limit`) */
	has_more?: boolean;
}

/** A workflow file that does not load: the reason and the line it names (null when none). */
export interface WorkflowFileError extends WorkflowLoadError {
	line: number | null;
}

/** `GET /api/v1/workflows/{name}` */
export interface WorkflowDetailResponse {
	name: string;
	/** null when the file does not load (then `error` says why) */
	workflow: WorkflowSummary | null;
	file: string;
	/** the YAML as stored (null when it cannot be read) */
	source: string | null;
	/** the source was longer than 256 KiB and is cut */
	source_truncated: boolean;
	error: WorkflowFileError | null;
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
		rejected_by_reason: {
			capacity: number;
			per_ip: number;
			origin: number;
			host: number;
			auth: number;
			shutting_down: number;
		};
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
	/** the node that answered (ACO_NODE_ID); set by the route */
	node?: string;
	/** the shared event stream's Redis; null when the bus is in-process; set by the route */
	redis?: RedisStatus | null;
	/** with `?scope=cluster` */
	cluster?: ClusterStats;
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

/** `stream` query parameter of the log endpoints */
export type LogStreamFilter = LogStream | 'both';

export const MAX_LOG_PAGE_LINES = 5_000;
export const DEFAULT_LOG_PAGE_LINES = 1_000;
export const MAX_LOG_SEARCH_MATCHES = 10_000;
export const DEFAULT_LOG_SEARCH_MATCHES = 1_000;
/**
 * `GET …/outline` lists at most this many groups, annotations, progress runs and command ranges
 * of each (the first ones, in line order); a viewer following live lines keeps to the same rule
 */
export const MAX_OUTLINE_ENTRIES = 10_000;
/**
 * `GET …/outline` reads at most this many marks (lines that are a group, an annotation or a
 * workflow command), the first ones; past them it lists nothing, and says so (`commands_through`)
 */
export const MAX_OUTLINE_MARKS = 4 * MAX_OUTLINE_ENTRIES;

export interface LogLinesResponse {
	execution_id: string;
	/** the stream filter the page was read with */
	stream: LogStreamFilter;
	/** lines stored in this stream filter (the length of a virtual list over it) */
	total: number;
	/** highest line number stored (all streams) */
	last_line: number;
	/** 0-based index, within the stream filter, of `lines[0]` (null when `lines` is empty) */
	first_index: number | null;
	/** in line-number order */
	lines: LogLine[];
}

export interface LogSearchMatch {
	/** line number */
	line: number;
	/** `[start, end)` UTF-16 offsets into `displayText(text)` of the line, in order, non-empty */
	ranges: [number, number][];
}

export interface LogSearchResponse {
	/** matching lines in the whole log (exact) */
	total: number;
	/** the first `limit` matching lines after `after`, in line order */
	matches: LogSearchMatch[];
	/** more matching lines follow the last one returned */
	truncated: boolean;
}

export interface LogGroup {
	name: string;
	/** line of `::group::` */
	start: number;
	/** line that ends the group, null while it is still open */
	end: number | null;
}

export type LogAnnotationLevel = 'error' | 'warning' | 'notice';

export interface LogAnnotation {
	line: number;
	level: LogAnnotationLevel;
	message: string;
	/** from `::error file=…,line=…::` when given */
	file?: string;
	file_line?: number;
}

/** at most 10,000 groups and 10,000 annotations (the first ones); `truncated` says more exist */
/** A progress bar redrawn over lines `start…end`, shown as line `end` (see `…/outline`). */
export interface LogProgressRun {
	start: number;
	/** the run's last line, null while it is still the newest output */
	end: number | null;
}

/** Lines `start…end` (inclusive) are workflow commands a viewer may hide (see `…/outline`). */
export interface LogCommandRange {
	start: number;
	end: number;
}

export interface LogOutlineResponse {
	groups: LogGroup[];
	annotations: LogAnnotation[];
	progress: LogProgressRun[];
	/**
	 * workflow command lines that only act (`::progress`, `::add-mask::`, `::endgroup::`, …):
	 * consecutive ones as one range, in line order. Absent from servers before this field, and
	 * logs stored before it have none.
	 */
	commands?: LogCommandRange[];
	/**
	 * present when the outline stopped reading at MAX_OUTLINE_MARKS marks: `commands` covers the
	 * lines up to this one only, and command lines after it are not listed (a viewer shows them,
	 * as it does past MAX_OUTLINE_ENTRIES ranges)
	 */
	commands_through?: number;
	/**
	 * how many marks the outline was read from (at most MAX_OUTLINE_MARKS) and the line of the
	 * last of them (0: none), so a viewer following live lines can tell where a reload's outline
	 * would stop. Absent from servers before this field.
	 */
	marks?: { count: number; last: number };
	truncated: boolean;
}
