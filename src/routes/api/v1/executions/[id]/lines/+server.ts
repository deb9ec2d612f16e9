import type { RequestHandler } from './$types';
import { z } from 'zod';
import { handle, json, notFound } from '$lib/server/http/responses';
import { parseQuery, streamParam } from '$lib/server/http/query';
import { MAX_LOG_PAGE_LINES, type LogLinesResponse } from '$lib/protocol';

const pageParam = z.coerce.number().int().max(Number.MAX_SAFE_INTEGER);

/** One page of the log for a (virtual) list: `tail`, else `index`, else `from` (see protocol/api). */
export const GET: RequestHandler = ({ locals, params, url }) =>
	handle(
		async () => {
			const { store } = locals.aco;
			const query = parseQuery(url, {
				from: pageParam.min(1).optional(),
				index: pageParam.min(0).optional(),
				tail: pageParam.min(1).optional(),
				limit: z.coerce.number().int().min(1).max(MAX_LOG_PAGE_LINES).optional(),
				stream: streamParam
			});
			const execution = await store.getExecution(params.id);
			if (!execution) throw notFound('execution', params.id);
			const stream = query.stream ?? 'both';
			const page = await store.readLogPage(execution.id, { ...query, stream });
			const body: LogLinesResponse = { execution_id: execution.id, stream, ...page };
			return json(body);
		},
		(err) => locals.aco.logger.error({ err }, 'GET /executions/:id/lines failed')
	);
