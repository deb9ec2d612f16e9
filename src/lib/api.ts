/**
 * @module api
 * Typed fetch helpers for the REST API under /api/v1, for the browser and for SvelteKit
 * `load` functions (pass their `fetch`). Every failure becomes an {@link ApiError} carrying the
 * server's `{ error: { code, message } }`, or `network` / `http_<status>` when there was none.
 */
import {
	API_BASE,
	type ApiErrorBody,
	type ExecutionResponse,
	type LogLine,
	type LogLinesResponse,
	type LogOutlineResponse,
	type LogSearchResponse,
	type LogStreamFilter,
	type RunDetailResponse,
	type RunResponse,
	type RunsResponse,
	type SystemStatsResponse,
	type TaskResponse,
	type TaskStatus,
	type TasksResponse,
	type WorkflowsResponse
} from '$lib/protocol';

export type Fetch = typeof fetch;

export class ApiError extends Error {
	constructor(
		/** HTTP status, 0 when the request never got an answer */
		readonly status: number,
		readonly code: string,
		message: string
	) {
		super(message);
		this.name = 'ApiError';
	}
}

export interface ListRunsQuery {
	status?: TaskStatus;
	workflow?: string;
	limit?: number;
}

export interface ListTasksQuery {
	status?: TaskStatus;
	run_id?: string;
	limit?: number;
}

/** A range of lines: from a line number, from the k-th line of one stream (`index`), or the last `tail`. */
export interface LinesQuery {
	from?: number;
	index?: number;
	tail?: number;
	limit?: number;
	stream?: LogStreamFilter;
}

export interface SearchQuery {
	q: string;
	regex?: boolean;
	caseSensitive?: boolean;
	limit?: number;
	/** only matches on lines after this one */
	after?: number;
}

export interface LogQuery {
	/** only lines with a number greater than this */
	after?: number;
	signal?: AbortSignal;
}

/** The URL of an execution's complete log as a text attachment (for a Download link). */
export function logDownloadUrl(executionId: string): string {
	return `${API_BASE}/executions/${encodeURIComponent(executionId)}/log`;
}

function query(params: object): string {
	const search = new URLSearchParams();
	for (const [key, value] of Object.entries(params)) {
		if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
	}
	const text = search.toString();
	return text ? `?${text}` : '';
}

/** Parses an NDJSON body into log lines, skipping blank lines. */
export function parseNdjsonLines(body: string): LogLine[] {
	const lines: LogLine[] = [];
	for (const row of body.split('\n')) {
		if (row.trim() === '') continue;
		lines.push(JSON.parse(row) as LogLine);
	}
	return lines;
}

export class ApiClient {
	readonly #fetch: Fetch;

	/** @param fetchFn defaults to the global fetch; pass SvelteKit's `fetch` inside `load` */
	constructor(fetchFn?: Fetch) {
		// called through a closure: a bare `window.fetch` stored on an object throws "Illegal invocation"
		this.#fetch = fetchFn ?? ((input, init) => globalThis.fetch(input, init));
	}

	listWorkflows(signal?: AbortSignal): Promise<WorkflowsResponse> {
		return this.#json('GET', '/workflows', signal);
	}

	startRun(workflow: string): Promise<RunResponse> {
		return this.#json('POST', `/workflows/${encodeURIComponent(workflow)}/runs`);
	}

	listRuns(q: ListRunsQuery = {}, signal?: AbortSignal): Promise<RunsResponse> {
		return this.#json('GET', `/runs${query(q)}`, signal);
	}

	getRun(id: string, signal?: AbortSignal): Promise<RunDetailResponse> {
		return this.#json('GET', `/runs/${encodeURIComponent(id)}`, signal);
	}

	cancelRun(id: string): Promise<RunResponse> {
		return this.#json('POST', `/runs/${encodeURIComponent(id)}/cancel`);
	}

	listTasks(q: ListTasksQuery = {}, signal?: AbortSignal): Promise<TasksResponse> {
		return this.#json('GET', `/tasks${query(q)}`, signal);
	}

	getTask(id: string, signal?: AbortSignal): Promise<TaskResponse> {
		return this.#json('GET', `/tasks/${encodeURIComponent(id)}`, signal);
	}

	cancelTask(id: string): Promise<TaskResponse> {
		return this.#json('POST', `/tasks/${encodeURIComponent(id)}/cancel`);
	}

	getExecution(id: string, signal?: AbortSignal): Promise<ExecutionResponse> {
		return this.#json('GET', `/executions/${encodeURIComponent(id)}`, signal);
	}

	/** The stored log lines of an execution (all, or those after `after`), in order. */
	async getLogLines(executionId: string, q: LogQuery = {}): Promise<LogLine[]> {
		const path = `${logDownloadUrl(executionId)}${query({ format: 'ndjson', after: q.after || undefined })}`;
		const res = await this.#send('GET', path, q.signal);
		return parseNdjsonLines(await res.text());
	}

	/** A range of an execution's stored lines (`/lines`). */
	getLogRange(executionId: string, q: LinesQuery, signal?: AbortSignal): Promise<LogLinesResponse> {
		return this.#json('GET', `/executions/${encodeURIComponent(executionId)}/lines${query(q)}`, signal);
	}

	/** Matches over the whole stored log, counted exactly on the server (`/search`). */
	searchLog(executionId: string, q: SearchQuery, signal?: AbortSignal): Promise<LogSearchResponse> {
		const params = {
			q: q.q,
			regex: q.regex ? 1 : 0,
			case: q.caseSensitive ? 1 : 0,
			limit: q.limit,
			after: q.after
		};
		return this.#json('GET', `/executions/${encodeURIComponent(executionId)}/search${query(params)}`, signal);
	}

	/** Groups and annotations of a log (`/outline`). */
	getLogOutline(executionId: string, signal?: AbortSignal): Promise<LogOutlineResponse> {
		return this.#json('GET', `/executions/${encodeURIComponent(executionId)}/outline`, signal);
	}

	/** The whole log as text, ANSI codes stripped or kept. */
	/** The last ten minutes of the node's system samples (the /system page). */
	getSystemStats(signal?: AbortSignal): Promise<SystemStatsResponse> {
		return this.#json('GET', '/system/stats', signal);
	}

	async getLogText(executionId: string, ansi: 'strip' | 'keep', signal?: AbortSignal): Promise<string> {
		const res = await this.#send('GET', `${logDownloadUrl(executionId)}?ansi=${ansi}`, signal);
		return res.text();
	}

	async #json<T>(method: string, path: string, signal?: AbortSignal): Promise<T> {
		const res = await this.#send(method, API_BASE + path, signal);
		return (await res.json()) as T;
	}

	async #send(method: string, url: string, signal?: AbortSignal): Promise<Response> {
		let res: Response;
		try {
			res = await this.#fetch(url, { method, headers: { accept: 'application/json' }, signal });
		} catch (err) {
			if ((err as Error)?.name === 'AbortError') throw err;
			throw new ApiError(0, 'network', `Could not reach the aco server (${method} ${url}).`);
		}
		if (res.ok) return res;
		let body: Partial<ApiErrorBody> | null = null;
		try {
			body = (await res.json()) as Partial<ApiErrorBody>;
		} catch {
			// not JSON (a proxy's error page, say): fall back to the status line
		}
		const code = body?.error?.code ?? `http_${res.status}`;
		const message = body?.error?.message ?? `${method} ${url} failed with HTTP ${res.status}.`;
		throw new ApiError(res.status, code, message);
	}
}

/** Whether an error is a fetch abort (a component or store went away), which is not worth a toast. */
export function isAbortError(err: unknown): boolean {
	return (err as { name?: string })?.name === 'AbortError';
}
