/**
 * @module cli/http
 * JSON requests from the `aco` command to a server's REST API, with the bearer token. Failures
 * become errors with one line a person can act on: {@link UnreachableError} when the server
 * cannot be reached (the caller may retry), {@link HttpError} for an answer that says no.
 */
import { API_BASE } from '../lib/protocol/api';
import type { ApiErrorBody } from '../lib/protocol/models';
import { CliError, type Connection } from './args';
import { requestText } from './http-json';

export const DEFAULT_REQUEST_TIMEOUT_MS = 15_000;

export class HttpError extends CliError {
	constructor(
		readonly status: number,
		readonly code: string,
		message: string
	) {
		super(message, 1);
		this.name = 'HttpError';
	}
}

export class UnreachableError extends CliError {
	constructor(message: string) {
		super(message, 1);
		this.name = 'UnreachableError';
	}
}

export interface RequestOptions {
	body?: unknown;
	headers?: Record<string, string>;
	timeoutMs?: number;
}

/** The http(s) base of a server address (a ws(s) address or a trailing /ws is accepted too). */
export function httpBase(serverUrl: string): string {
	const url = new URL(serverUrl);
	if (url.protocol === 'ws:' || url.protocol === 'wss:') {
		url.protocol = url.protocol === 'wss:' ? 'https:' : 'http:';
		url.pathname = url.pathname.replace(/\/ws\/?$/, '');
	}
	return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

export class AcoHttp {
	readonly base: string;
	readonly #token: string | undefined;

	constructor(connection: Connection) {
		this.base = httpBase(connection.url);
		this.#token = connection.token;
	}

	/** `path` is relative to /api/v1, e.g. `/tasks`. */
	async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
		let reply;
		try {
			reply = await requestText(`${this.base}${API_BASE}${path}`, {
				method,
				headers: this.#headers(options),
				body: options.body === undefined ? undefined : JSON.stringify(options.body),
				timeoutMs: options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS
			});
		} catch (err) {
			throw this.#unreachable(err);
		}
		if (reply.status < 200 || reply.status > 299) {
			throw this.#refusal(method, path, reply.status, reply.statusText, parseJson(reply.text));
		}
		return JSON.parse(reply.text) as T;
	}

	/** The raw response of a successful request (for streamed bodies such as logs). */
	async fetch(method: string, path: string, options: RequestOptions = {}): Promise<Response> {
		let response: Response;
		try {
			response = await fetch(`${this.base}${API_BASE}${path}`, {
				method,
				headers: this.#headers(options),
				body: options.body === undefined ? undefined : JSON.stringify(options.body),
				signal: AbortSignal.timeout(options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS)
			});
		} catch (err) {
			throw this.#unreachable(err);
		}
		if (response.ok) return response;
		throw this.#refusal(method, path, response.status, response.statusText, parseJson(await response.text()));
	}

	#headers(options: RequestOptions): Record<string, string> {
		const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
		if (this.#token) headers.authorization = `Bearer ${this.#token}`;
		if (options.body !== undefined) headers['content-type'] = 'application/json';
		return headers;
	}

	#unreachable(err: unknown): UnreachableError {
		return new UnreachableError(
			`cannot reach the aco server at ${this.base} (${reasonOf(err)}); start it with "aco server" or point --url / ACO_URL at it.`
		);
	}

	/** the error for an answer that is not a success */
	#refusal(
		method: string,
		path: string,
		status: number,
		statusText: string,
		body: Partial<ApiErrorBody> | null
	): CliError {
		const code = body?.error?.code ?? `http_${status}`;
		const message = body?.error?.message ?? `${method} ${path} answered ${status} ${statusText}`;
		// a 5xx may pass (restart, overload); the caller decides whether to retry
		if (status >= 500) return new UnreachableError(`the aco server at ${this.base} answered: ${message}`);
		return new HttpError(status, code, message);
	}
}

/** a JSON body, or null for anything else (a proxy's error page, say: the status says enough) */
function parseJson(text: string): Partial<ApiErrorBody> | null {
	try {
		return JSON.parse(text) as Partial<ApiErrorBody>;
	} catch {
		return null;
	}
}

function reasonOf(err: unknown): string {
	const own = (err as { code?: unknown })?.code;
	if (typeof own === 'string' && own !== 'ETIMEDOUT') return own;
	if (own === 'ETIMEDOUT') return 'no answer in time';
	const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
	if (cause?.code) return cause.code;
	if ((err as Error)?.name === 'TimeoutError') return 'no answer in time';
	return cause?.message ?? (err instanceof Error ? err.message : String(err));
}
