import type { RequestHandler } from './$types';
import { handle, json, notFound } from '$lib/server/http/responses';
import type { TaskResponse } from '$lib/protocol';

export const GET: RequestHandler = ({ locals, params }) =>
	handle(
		async () => {
			const { store } = locals.aco;
			const task = await store.getTask(params.id);
			if (!task) throw notFound('task', params.id);
			const body: TaskResponse = { task: { ...task, executions: await store.listExecutions(task.id) } };
			return json(body);
		},
		(err) => locals.aco.logger.error({ err }, 'GET /tasks/:id failed')
	);
