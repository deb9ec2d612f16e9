import type { RequestHandler } from './$types';
import { handle, notFound } from '$lib/server/http/responses';
import { combinedLogResponse } from '$lib/server/downloads/response';
import { taskSegments, workflowOf } from '$lib/server/downloads/segments';

/**
 * Every step's log of a task, in order, each after a header line naming the step (text), or
 * with `task`, `step` and `execution_id` on every line (`?format=ndjson`). `ansi=strip|keep`.
 * Named `<workflow>-<task>.log`.
 */
export const GET: RequestHandler = ({ locals, params, url }) =>
	handle(
		async () => {
			const { store, logReader } = locals.aco;
			const task = await store.getTask(params.id);
			if (!task) throw notFound('task', params.id);
			const segments = await taskSegments(store, task);
			return combinedLogResponse(logReader, url, [await workflowOf(store, task), task.key], segments);
		},
		(err) => locals.aco.logger.error({ err }, 'GET /tasks/:id/log failed')
	);
