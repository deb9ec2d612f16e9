/**
 * @module http/responses
 * JSON responses and errors for the REST API: every error is `{ error: { code, message } }`
 * with the matching status, so clients can branch on `code` and show `message`.
 */
import type { ApiErrorBody } from '../../protocol/models';
import { isStoreDataError, isStoreUnavailable } from '../store/errors';

/** what a client is told to wait before retrying while the database is away */
export const STORE_RETRY_AFTER_S = 2;

export class ApiError extends Error {
	constructor(
		readonly status: number,
		readonly code: string,
		message: string,
		readonly details?: unknown,
		/** sent with the answer (`retry-after` on a retryable 503) */
		readonly headers?: Record<string, string>
	) {
		super(message);
	}
}

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
	return new Response(JSON.stringify(body), {
		status,
		headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers }
	});
}

export function errorResponse(err: unknown): Response {
	if (err instanceof ApiError) {
		const body: ApiErrorBody = {
			error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) }
		};
		return json(body, err.status, err.headers);
	}
	if (isStoreUnavailable(err)) {
		// retryable: nothing was stored, and the node keeps trying to reach the database
		const body: ApiErrorBody = { error: { code: err.code, message: err.message } };
		return json(body, 503, { 'retry-after': String(STORE_RETRY_AFTER_S) });
	}
	if (isShuttingDown(err)) {
		// a request that met the shutdown (a workflow file's parse it stopped): another node, or this one back, answers it
		return json({ error: { code: err.code, message: err.message } } satisfies ApiErrorBody, 503);
	}
	if (isStoreDataError(err)) {
		// not retryable: the same value fails the same way (a NUL, a number past a column's range)
		const body: ApiErrorBody = { error: { code: err.code, message: err.message } };
		return json(body, 422);
	}
	const body: ApiErrorBody = { error: { code: 'internal', message: 'The server hit an unexpected error.' } };
	return json(body, 500);
}

/** the orchestrator's refusals once shutdown began; matched by code, as instanceof fails across bundles */
function isShuttingDown(err: unknown): err is Error & { code: 'shutting_down' } {
	return err instanceof Error && (err as { code?: unknown }).code === 'shutting_down';
}

export const notFound = (what: string, id: string) =>
	new ApiError(404, 'not_found', `No ${what} with id "${id}".`);

/** Runs a handler and turns thrown ApiErrors (and anything else) into JSON error responses. */
export async function handle(
	fn: () => Promise<Response> | Response,
	onUnexpected?: (err: unknown) => void
): Promise<Response> {
	try {
		return await fn();
	} catch (err) {
		if (!(err instanceof ApiError) && !isStoreUnavailable(err) && !isShuttingDown(err)) onUnexpected?.(err);
		return errorResponse(err);
	}
}
