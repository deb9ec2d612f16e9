import type { RequestHandler } from './$types';
import { z } from 'zod';
import { handle, json } from '$lib/server/http/responses';
import { limitParam, parseQuery, statusParam } from '$lib/server/http/query';
import type { RunsResponse } from '$lib/protocol';

export const GET: RequestHandler = ({ locals, url }) =>
	handle(
		async () => {
			const query = parseQuery(url, {
				status: statusParam,
				workflow: z.string().max(200).optional(),
				limit: limitParam
			});
			const body: RunsResponse = { runs: await locals.aco.store.listRuns(query) };
			return json(body);
		},
		(err) => locals.aco.logger.error({ err }, 'GET /runs failed')
	);
