import type { RequestHandler } from './$types';
import { ApiError, handle, json, notFound } from '$lib/server/http/responses';
import type { TaskResponse } from '$lib/protocol';

export const POST: RequestHandler = ({ locals, params }) =>
	handle(
		async () => {
			const { store, orchestrator } = locals.aco;
			const task = await store.getTask(params.id);
			if (!task) throw notFound('task', params.id);
			const cancelled = await orchestrator.cancelTask(task.id);
			if (!cancelled)
				throw new ApiError(409, 'already_finished', `Task "${task.id}" has already ${task.status}.`);
			const latest = (await store.getTask(task.id)) ?? task;
			const body: TaskResponse = { task: { ...latest, executions: await store.listExecutions(task.id) } };
			return json(body);
		},
		(err) => locals.aco.logger.error({ err }, 'POST /tasks/:id/cancel failed')
	);
