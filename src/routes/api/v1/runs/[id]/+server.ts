import type { RequestHandler } from './$types';
import { handle, json, notFound } from '$lib/server/http/responses';
import type { RunDetailResponse } from '$lib/protocol';

export const GET: RequestHandler = ({ locals, params }) =>
	handle(
		async () => {
			const { store } = locals.aco;
			const run = await store.getRun(params.id);
			if (!run) throw notFound('workflow run', params.id);
			const tasks = await store.listTasks({ run_id: run.id, limit: 1000 });
			const body: RunDetailResponse = { run, tasks: tasks.reverse() };
			return json(body);
		},
		(err) => locals.aco.logger.error({ err }, 'GET /runs/:id failed')
	);
