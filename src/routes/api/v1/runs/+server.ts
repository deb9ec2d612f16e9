import type { RequestHandler } from './$types';
import { z } from 'zod';
import { handle, json } from '$lib/server/http/responses';
import { limitParam, parseQuery, statusParam } from '$lib/server/http/query';
import type { RunsResponse } from '$lib/protocol';

const DEFAULT_PAGE = 100;
/** the store lists at most this many runs; pages reach that far back */
const MAX_LIST = 1000;

export const GET: RequestHandler = ({ locals, url }) =>
	handle(
		async () => {
			const {
				offset = 0,
				limit = DEFAULT_PAGE,
				...filter
			} = parseQuery(url, {
				status: statusParam,
				workflow: z.string().max(200).optional(),
				limit: limitParam,
				offset: z.coerce
					.number()
					.int()
					.min(0)
					.max(MAX_LIST - 1)
					.optional()
			});
			// pages are cut here, so the Store needs no offset: one more row says whether more follow
			const wanted = Math.min(MAX_LIST, offset + limit + 1);
			const rows = await locals.aco.store.listRuns({ ...filter, limit: wanted });
			const runs = rows.slice(offset, offset + limit);
			const body: RunsResponse = { runs, has_more: rows.length > offset + limit };
			return json(body);
		},
		(err) => locals.aco.logger.error({ err }, 'GET /runs failed')
	);
