import type { RequestHandler } from './$types';
import { z } from 'zod';
import { handle, json } from '$lib/server/http/responses';
import { limitParam, parseQuery, statusParam } from '$lib/server/http/query';
import type { TasksResponse } from '$lib/protocol';

export const GET: RequestHandler = ({ locals, url }) =>
	handle(
		async () => {
			const query = parseQuery(url, {
				status: statusParam,
				run_id: z.string().max(128).optional(),
				limit: limitParam
			});
			const body: TasksResponse = { tasks: await locals.aco.store.listTasks(query) };
			return json(body);
		},
		(err) => locals.aco.logger.error({ err }, 'GET /tasks failed')
	);
