/**
 * @module cli/http
 * JSON requests from the `aco` command to a server's REST API, with the bearer token. Failures
 * become errors with one line a person can act on: {@link UnreachableError} when the server
 * cannot be reached (the caller may retry), {@link HttpError} for an answer that says no,
 * {@link NotAcoError} when what answers at --url is not aco's API (asking again changes nothing).
 */
import { API_BASE } from '../lib/protocol/api';
import type { ApiErrorBody } from '../lib/protocol/models';
import { CliError, MAX_TIMER_MS, type Connection } from './args';
import { storedToken, tokenOrigin } from './credentials';
import { requestText, type JsonReply } from './http-json';

export const DEFAULT_REQUEST_TIMEOUT_MS = 15_000;

/**
 * Statuses that may pass if asked again (a timeout, slow down, a proxy's answer while the server
 * restarts or is busy): whatever their body, they are no sign of a wrong --url.
 */
export const MAY_PASS_STATUS: ReadonlySet<number> = new Set([408, 429, 502, 503, 504]);

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

/** Something answered, but not as aco's API does (another web server, a proxy's page). */
export class NotAcoError extends CliError {
	constructor(message: string) {
		super(message, 1);
		this.name = 'NotAcoError';
	}
}

export interface RequestOptions {
	body?: unknown;
	headers?: Record<string, string>;
	/**
	 * For a request, how long the whole answer may take; for a {@link AcoHttp.download}, how long
	 * the headers may take and then how long the server may send nothing.
	 */
	timeoutMs?: number;
	/** fields every answer of this endpoint has (e.g. `['task']`); without them it is not aco */
	expect?: readonly string[];
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

/**
 * The JSON object of a successful answer of aco's API; a {@link NotAcoError} naming the URL, the
 * status and the content type when the body is not one or lacks a field in `expect`.
 */
export function apiAnswer<T>(
	url: string,
	reply: Omit<JsonReply, 'statusText'>,
	expect: readonly string[] = []
): T {
	let value: unknown;
	try {
		value = JSON.parse(reply.text);
	} catch {
		// not JSON: said below
	}
	if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
		const missing = expect.find((key) => (value as Record<string, unknown>)[key] == null);
		if (missing === undefined) return value as T;
		throw new NotAcoError(notAcoMessage(url, reply.status, reply.contentType, `without "${missing}"`));
	}
	throw new NotAcoError(
		notAcoMessage(url, reply.status, reply.contentType, reply.text.trim() ? '' : 'with an empty body')
	);
}

/** `http://…/api/v1/tasks answered 200 text/html, not aco's API: check --url or ACO_URL` */
export function notAcoMessage(url: string, status: number, contentType: string, detail = ''): string {
	const type = contentType.split(';')[0].trim() || '(no content type)';
	return `${url} answered ${status} ${type}${detail ? ` ${detail}` : ''}, not aco's API: check --url or ACO_URL.`;
}

export class AcoHttp {
	readonly base: string;
	readonly #token: string | undefined;
	readonly #connection: Connection;

	constructor(connection: Connection) {
		this.base = httpBase(connection.url);
		this.#token = connection.token ?? storedToken(this.base);
		this.#connection = connection;
	}

	/** `path` is relative to /api/v1, e.g. `/tasks`. */
	async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
		const url = `${this.base}${API_BASE}${path}`;
		let reply;
		try {
			reply = await requestText(url, {
				method,
				headers: this.#headers(options),
				body: options.body === undefined ? undefined : JSON.stringify(options.body),
				timeoutMs: options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS
			});
		} catch (err) {
			throw this.#failure(err);
		}
		if (reply.status < 200 || reply.status > 299) {
			throw this.#refusal(method, path, reply, parseJson(reply.text));
		}
		return apiAnswer<T>(url, reply, options.expect);
	}

	/**
	 * Streams the body of a successful GET to `write`, one chunk at a time, and resolves with its
	 * size. The timeout covers the wait for the headers, then each wait for the server's next
	 * chunk, never the time `write` takes: `aco logs … | less` may sit paused for as long as the
	 * reader likes. A body that stops short is a CliError that says how much arrived.
	 */
	async download(
		path: string,
		write: (chunk: Uint8Array) => Promise<void>,
		options: RequestOptions = {}
	): Promise<number> {
		const url = `${this.base}${API_BASE}${path}`;
		const timeoutMs = Math.min(options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS, MAX_TIMER_MS);
		const controller = new AbortController();
		const abortAfter = (reason: string) =>
			setTimeout(
				() => controller.abort(Object.assign(new Error(reason), { name: 'TimeoutError' })),
				timeoutMs
			);
		let response: Response;
		const headersTimer = abortAfter('no answer in time');
		try {
			response = await fetch(url, {
				method: 'GET',
				headers: this.#headers(options),
				signal: controller.signal
			});
			if (!response.ok) {
				const reply = {
					status: response.status,
					statusText: response.statusText,
					contentType: response.headers.get('content-type') ?? ''
				};
				throw this.#refusal('GET', path, reply, parseJson(await response.text()));
			}
		} catch (err) {
			throw err instanceof CliError ? err : this.#failure(err);
		} finally {
			clearTimeout(headersTimer);
		}
		const contentType = response.headers.get('content-type') ?? '';
		// aco serves a log as text or NDJSON; a page would be printed as if it were one
		if (/^text\/html\b/i.test(contentType)) {
			controller.abort();
			throw new NotAcoError(notAcoMessage(url, response.status, contentType));
		}
		if (!response.body) return 0;
		const reader = response.body.getReader();
		let bytes = 0;
		for (;;) {
			let part: ReadableStreamReadResult<Uint8Array>;
			const idleTimer = abortAfter(`no data from the server for ${timeoutMs / 1000} s`);
			try {
				part = await reader.read();
			} catch (err) {
				throw new CliError(
					`the download from ${url} was cut off after ${bytes} bytes (${cutReason(err)}).`,
					1
				);
			} finally {
				clearTimeout(idleTimer);
			}
			if (part.done) return bytes;
			await write(part.value);
			bytes += part.value.byteLength;
		}
	}

	#headers(options: RequestOptions): Record<string, string> {
		const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
		if (this.#token) headers.authorization = `Bearer ${this.#token}`;
		if (options.body !== undefined) headers['content-type'] = 'application/json';
		return headers;
	}

	/** a request that got no answer: the server out of reach, or a request node would not send */
	#failure(err: unknown): CliError {
		const fault = requestFault(err);
		if (fault) return new CliError(`could not send a request to ${this.base}: ${fault}.`);
		return new UnreachableError(
			`cannot reach the aco server at ${this.base} (${reasonOf(err)}); start it with "aco server" or point --url / ACO_URL at it.`
		);
	}

	/**
	 * the error for an answer that is not a success; one without aco's error body (a web page's
	 * 404, another server's 501) is not aco's API, but for a status that may pass
	 */
	#refusal(
		method: string,
		path: string,
		reply: Pick<JsonReply, 'status' | 'statusText' | 'contentType'>,
		body: unknown
	): CliError {
		const { status, statusText } = reply;
		if (!isApiError(body) && !MAY_PASS_STATUS.has(status)) {
			return new NotAcoError(notAcoMessage(`${this.base}${API_BASE}${path}`, status, reply.contentType));
		}
		const error = apiErrorOf(body);
		const code = error.code ?? `http_${status}`;
		let message = error.message ?? `${method} ${path} answered ${status} ${statusText}`;
		// a token refused: which one, so that a stale one `aco login` kept is found
		const origin = status === 401 ? tokenOrigin(this.base, this.#connection) : null;
		if (origin) message = `${message.replace(/\.?$/, '.')} ${origin}`;
		// a 5xx may pass (restart, overload); the caller decides whether to retry
		if (status >= 500) return new UnreachableError(`the aco server at ${this.base} answered: ${message}`);
		return new HttpError(status, code, message);
	}
}

/**
 * The code and message of an error answer's body, each only when it is a non-empty string: a body
 * from something other than aco may be any JSON (`{"error":{"message":{…}}}` printed
 * `[object Object]`).
 */
export function apiErrorOf(body: unknown): { code?: string; message?: string } {
	const error = (body as Partial<ApiErrorBody> | null)?.error as
		{ code?: unknown; message?: unknown } | undefined;
	return {
		...(typeof error?.code === 'string' && error.code ? { code: error.code } : {}),
		...(typeof error?.message === 'string' && error.message ? { message: error.message } : {})
	};
}

/** Whether an error answer's body is aco's ({@link ApiErrorBody}: an `error` with a string code). */
export function isApiError(body: unknown): boolean {
	return apiErrorOf(body).code !== undefined;
}

/** a JSON body, or null for anything else (a proxy's error page, say: the status says enough) */
function parseJson(text: string): unknown {
	try {
		return JSON.parse(text) as unknown;
	} catch {
		return null;
	}
}

/**
 * node's complaint about the request itself (a header value it will not send), which no retry
 * mends and which is no sign of the server being away; null for a network failure
 */
function requestFault(err: unknown): string | null {
	const code = (err as { code?: unknown })?.code;
	if (typeof code === 'string' && /^ERR_(INVALID_|HTTP_INVALID_|UNESCAPED_)/.test(code)) {
		return (err as Error).message;
	}
	// fetch's network failures are "fetch failed" with the cause; a header it refuses has none
	if (err instanceof TypeError && (err as { cause?: unknown }).cause === undefined) return err.message;
	return null;
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

/** why a body stopped short: fetch says "terminated"; its cause ("other side closed") says why */
function cutReason(err: unknown): string {
	const cause = (err as { cause?: unknown })?.cause;
	if (cause instanceof Error && cause.message) return cause.message;
	return err instanceof Error ? err.message : String(err);
}
