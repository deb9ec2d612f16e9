import type { RequestHandler } from './$types';
import { handle, json, notFound } from '$lib/server/http/responses';
import type { RunDetailResponse } from '$lib/protocol';

export const GET: RequestHandler = ({ locals, params }) =>
	handle(
		async () => {
			const { store } = locals.aco;
			const run = await store.getRun(params.id);
			if (!run) throw notFound('workflow run', params.id);
			const body: RunDetailResponse = { run, tasks: await store.runTasks(run.id) };
			return json(body);
		},
		(err) => locals.aco.logger.error({ err }, 'GET /runs/:id failed')
	);
