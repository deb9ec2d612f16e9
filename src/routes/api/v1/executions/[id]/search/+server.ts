import type { RequestHandler } from './$types';
import { z } from 'zod';
import { ApiError, handle, json, notFound } from '$lib/server/http/responses';
import { afterParam, flagParam, parseQuery, streamParam } from '$lib/server/http/query';
import { isLogSearchError } from '$lib/server/store/log-search';
import { MAX_LOG_SEARCH_MATCHES, type ApiErrorBody, type LogSearchResponse } from '$lib/protocol';

/** a refused search: the caller's share (429) or the node's (503) of regex searches is taken */
const REFUSED: Record<string, number> = { too_many_searches: 429, search_busy: 503 };

/**
 * whose share of regex searches a request takes: its credential's, the token a bearer header or a
 * sign-in session was made from (so signing in again gets no second share), else its address
 */
function callerOf(principal: App.Locals['principal'], address: () => string): string {
	if (principal?.tokenId) return `token:${principal.tokenId}`;
	return `address:${address()}`;
}

/**
 * Search the whole log on the server: exact count, the first `limit` matches after `after`.
 * The request's signal ends the scan when the client goes away (a new search, a closed tab).
 */
export const GET: RequestHandler = ({ locals, params, request, url, getClientAddress }) =>
	handle(
		async () => {
			const { store, searcher } = locals.aco;
			const query = parseQuery(url, {
				q: z.string({ message: 'give the text to search for' }),
				regex: flagParam,
				case: flagParam,
				limit: z.coerce.number().int().min(1).max(MAX_LOG_SEARCH_MATCHES).optional(),
				after: afterParam,
				stream: streamParam
			});
			const execution = await store.getExecution(params.id);
			if (!execution) throw notFound('execution', params.id);
			try {
				const body: LogSearchResponse = await searcher.search(execution.id, {
					q: query.q,
					regex: query.regex,
					caseSensitive: query.case,
					limit: query.limit,
					after: query.after,
					stream: query.stream,
					signal: request.signal,
					caller: query.regex ? callerOf(locals.principal, getClientAddress) : undefined
				});
				return json(body);
			} catch (err) {
				if (isLogSearchError(err) && err.retryAfterS !== undefined) {
					const body: ApiErrorBody = { error: { code: err.code, message: err.message } };
					return json(body, REFUSED[err.code] ?? 503, { 'retry-after': String(err.retryAfterS) });
				}
				if (isLogSearchError(err)) throw new ApiError(400, err.code, err.message);
				// nobody reads this answer; an ApiError keeps it out of the error log
				if (request.signal.aborted) throw new ApiError(499, 'client_closed', 'The client went away.');
				throw err;
			}
		},
		(err) => locals.aco.logger.error({ err }, 'GET /executions/:id/search failed')
	);
