import type { RequestHandler } from './$types';
import { handle, json, notFound } from '$lib/server/http/responses';
import type { LogOutlineResponse } from '$lib/protocol';

/** Groups and annotations of the log, kept at ingest (cheap on any log size). */
export const GET: RequestHandler = ({ locals, params }) =>
	handle(
		async () => {
			const { store } = locals.aco;
			const execution = await store.getExecution(params.id);
			if (!execution) throw notFound('execution', params.id);
			const body: LogOutlineResponse = await store.readLogOutline(execution.id);
			return json(body);
		},
		(err) => locals.aco.logger.error({ err }, 'GET /executions/:id/outline failed')
	);
