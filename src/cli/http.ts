/**
 * @module cli/http
 * JSON requests from the `aco` command to a server's REST API, with the bearer token. Failures
 * become errors with one line a person can act on: {@link UnreachableError} when the server
 * cannot be reached (the caller may retry), {@link HttpError} for an answer that says no.
 */
import { API_BASE } from '../lib/protocol/api';
import type { ApiErrorBody } from '../lib/protocol/models';
import { CliError, type Connection } from './args';

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
		const response = await this.fetch(method, path, options);
		return (await response.json()) as T;
	}

	/** The raw response of a successful request (for streamed bodies such as logs). */
	async fetch(method: string, path: string, options: RequestOptions = {}): Promise<Response> {
		const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
		if (this.#token) headers.authorization = `Bearer ${this.#token}`;
		if (options.body !== undefined) headers['content-type'] = 'application/json';
		let response: Response;
		try {
			response = await fetch(`${this.base}${API_BASE}${path}`, {
				method,
				headers,
				body: options.body === undefined ? undefined : JSON.stringify(options.body),
				signal: AbortSignal.timeout(options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS)
			});
		} catch (err) {
			throw new UnreachableError(
				`cannot reach the aco server at ${this.base} (${reasonOf(err)}); start it with "aco server" or point --url / ACO_URL at it.`
			);
		}
		if (response.ok) return response;
		let body: Partial<ApiErrorBody> = {};
		try {
			body = (await response.json()) as ApiErrorBody;
		} catch {
			// not JSON: a proxy's error page, say; the status says enough
		}
		const code = body.error?.code ?? `http_${response.status}`;
		const message =
			body.error?.message ?? `${method} ${path} answered ${response.status} ${response.statusText}`;
		// a 5xx may pass (restart, overload); the caller decides whether to retry
		if (response.status >= 500)
			throw new UnreachableError(`the aco server at ${this.base} answered: ${message}`);
		throw new HttpError(response.status, code, message);
	}
}

function reasonOf(err: unknown): string {
	const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
	if (cause?.code) return cause.code;
	if ((err as Error)?.name === 'TimeoutError') return 'no answer in time';
	return cause?.message ?? (err instanceof Error ? err.message : String(err));
}
