import type { RequestHandler } from './$types';
import { handle, json, notFound } from '$lib/server/http/responses';
import type { ExecutionResponse } from '$lib/protocol';

export const GET: RequestHandler = ({ locals, params }) =>
	handle(
		async () => {
			const execution = await locals.aco.store.getExecution(params.id);
			if (!execution) throw notFound('execution', params.id);
			const body: ExecutionResponse = { execution };
			return json(body);
		},
		(err) => locals.aco.logger.error({ err }, 'GET /executions/:id failed')
	);
