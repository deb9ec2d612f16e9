/**
 * @module cli/realtime/rest
 * The REST calls the terminal views make (snapshots, logs, cancel), with the token as a bearer
 * header. Failures become a {@link RestError} whose message is one line a person can act on.
 */
import {
	API_BASE,
	type ExecutionResponse,
	type RunDetailResponse,
	type TaskResponse,
	type TasksResponse
} from '../../lib/protocol/api';
import type { LogLine, TaskStatus } from '../../lib/protocol/models';
import type { TokenSource } from '../args';
import { storedToken, tokenOrigin } from '../credentials';
import {
	MAY_PASS_STATUS,
	NotAcoError,
	apiAnswer,
	apiErrorOf,
	httpBase,
	isApiError,
	notAcoMessage
} from '../http';

/**
 * Answers that may pass if asked again later: no answer, a timeout, slow down, a proxy whose
 * server is restarting or overloaded (502, 503, 504). A 500 is the server's own error, which
 * asking again repeats.
 */
const RETRYABLE_STATUS = new Set([0, ...MAY_PASS_STATUS]);

export class RestError extends Error {
	/**
	 * Whether asking again later may succeed: the server out of reach, timing out, asking to slow
	 * down, or a proxy's 502/503/504 while the server restarts. A 404, a refusal (401, 403) or the
	 * server's own error (500) stays as it is however often it is asked.
	 */
	readonly retryable: boolean;

	constructor(
		/** HTTP status; 0 when the server could not be reached */
		readonly status: number,
		readonly code: string,
		message: string
	) {
		super(message);
		this.name = 'RestError';
		this.retryable = RETRYABLE_STATUS.has(status);
	}
}

export interface RestOptions {
	/** the server's address, e.g. http://127.0.0.1:3000 */
	url: string;
	token?: string;
	/** where `token` came from, named when the server refuses it */
	tokenSource?: TokenSource;
	fetch?: typeof fetch;
	/** ms a request waits for the answer to begin before it counts as out of reach (15 s) */
	answerTimeoutMs?: number;
}

/** a server (or a proxy) that takes the request but does not answer counts as out of reach after this */
export const DEFAULT_ANSWER_TIMEOUT_MS = 15_000;

export class RestClient {
	readonly base: string;
	readonly #token: string | undefined;
	readonly #fetch: typeof fetch;
	readonly #answerTimeoutMs: number;
	readonly #given: Pick<RestOptions, 'token' | 'tokenSource'>;

	constructor(options: RestOptions) {
		this.#given = { token: options.token, tokenSource: options.tokenSource };
		this.#answerTimeoutMs = options.answerTimeoutMs ?? DEFAULT_ANSWER_TIMEOUT_MS;
		this.base = httpBase(options.url);
		this.#token = options.token ?? storedToken(this.base);
		this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
	}

	getRun(id: string, signal?: AbortSignal): Promise<RunDetailResponse> {
		return this.#json('GET', `/runs/${encodeURIComponent(id)}`, ['run', 'tasks'], signal);
	}

	listTasks(q: { status?: TaskStatus; limit?: number } = {}, signal?: AbortSignal): Promise<TasksResponse> {
		const params = new URLSearchParams();
		if (q.status) params.set('status', q.status);
		if (q.limit) params.set('limit', String(q.limit));
		const search = params.size ? `?${params}` : '';
		return this.#json('GET', `/tasks${search}`, ['tasks'], signal);
	}

	getTask(id: string, signal?: AbortSignal): Promise<TaskResponse> {
		return this.#json('GET', `/tasks/${encodeURIComponent(id)}`, ['task'], signal);
	}

	cancelTask(id: string): Promise<TaskResponse> {
		return this.#json('POST', `/tasks/${encodeURIComponent(id)}/cancel`, ['task']);
	}

	getExecution(id: string, signal?: AbortSignal): Promise<ExecutionResponse> {
		return this.#json('GET', `/executions/${encodeURIComponent(id)}`, ['execution'], signal);
	}

	/** The stored lines of an execution after line `after` (at most `limit` of them), in order. */
	async getLogLines(
		executionId: string,
		{ after = 0, limit, signal }: { after?: number; limit?: number; signal?: AbortSignal } = {}
	): Promise<LogLine[]> {
		const search = (after > 0 ? `&after=${after}` : '') + (limit !== undefined ? `&limit=${limit}` : '');
		const path = `/executions/${encodeURIComponent(executionId)}/log?format=ndjson${search}`;
		const res = await this.#send('GET', path, signal);
		const text = await this.#text(res);
		const lines: LogLine[] = [];
		for (const row of text.split('\n')) {
			if (!row.trim()) continue;
			try {
				lines.push(JSON.parse(row) as LogLine);
			} catch {
				const type = res.headers.get('content-type') ?? '';
				const url = `${this.base}${API_BASE}${path}`;
				throw new RestError(res.status, 'not_aco', notAcoMessage(url, res.status, type));
			}
		}
		return lines;
	}

	/** the answer's JSON object; one without the fields in `expect` is not from aco */
	async #json<T>(method: string, path: string, expect: readonly string[], signal?: AbortSignal): Promise<T> {
		const res = await this.#send(method, path, signal);
		const reply = { status: res.status, contentType: res.headers.get('content-type') ?? '' };
		try {
			return apiAnswer<T>(
				`${this.base}${API_BASE}${path}`,
				{ ...reply, text: await this.#text(res) },
				expect
			);
		} catch (err) {
			// asked again, the same server gives the same answer: not retryable, whatever its status
			if (err instanceof NotAcoError) throw new RestError(res.status, 'not_aco', err.message);
			throw err;
		}
	}

	async #text(res: Response): Promise<string> {
		try {
			return await res.text();
		} catch (err) {
			if ((err as Error)?.name === 'AbortError') throw err;
			// the connection dropped mid-answer (a server going down): as retryable as not reaching it
			throw new RestError(
				0,
				'network',
				`The connection to the aco server at ${this.base} dropped during an answer.`
			);
		}
	}

	async #send(method: string, path: string, signal?: AbortSignal): Promise<Response> {
		const url = `${this.base}${API_BASE}${path}`;
		const headers: Record<string, string> = { accept: 'application/json' };
		if (this.#token) headers.authorization = `Bearer ${this.#token}`;
		let res: Response;
		// only the wait for the answer to begin: a long log may take longer than that to read
		const unanswered = new AbortController();
		const timer = setTimeout(() => unanswered.abort(), this.#answerTimeoutMs);
		try {
			res = await this.#fetch(url, {
				method,
				headers,
				signal: signal ? AbortSignal.any([signal, unanswered.signal]) : unanswered.signal
			});
		} catch (err) {
			if (unanswered.signal.aborted && !signal?.aborted) {
				const seconds = this.#answerTimeoutMs / 1000;
				throw new RestError(
					0,
					'timeout',
					`The aco server at ${this.base} did not answer within ${seconds} s.`
				);
			}
			if ((err as Error)?.name === 'AbortError') throw err;
			throw new RestError(0, 'network', `Could not reach the aco server at ${this.base}; is it running?`);
		} finally {
			clearTimeout(timer);
		}
		if (res.ok) return res;
		let body: unknown = null;
		try {
			body = await res.json();
		} catch {
			// not JSON (a proxy's error page): the status line has to do
		}
		// an error page (a wrong --url's 404, another server's 501) stays the same however often asked
		if (!isApiError(body) && !MAY_PASS_STATUS.has(res.status)) {
			const type = res.headers.get('content-type') ?? '';
			throw new RestError(res.status, 'not_aco', notAcoMessage(url, res.status, type));
		}
		const error = apiErrorOf(body);
		let message = error.message ?? `${method} ${url} failed with HTTP ${res.status}.`;
		// a token refused: which one, so that a stale one `aco login` kept is found
		const origin = res.status === 401 ? tokenOrigin(this.base, this.#given) : null;
		if (origin) message = `${message.replace(/\.?$/, '.')} ${origin}`;
		throw new RestError(res.status, error.code ?? `http_${res.status}`, message);
	}
}
