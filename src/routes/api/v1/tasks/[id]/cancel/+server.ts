import type { RequestHandler } from './$types';
import { ApiError, handle, json, notFound } from '$lib/server/http/responses';
import { isIngestError } from '$lib/server/ingest/ingest-error';
import type { TaskResponse } from '$lib/protocol';

/**
 * Cancels a task. A workflow task's tool is stopped here; a stand-alone task's producer (`aco
 * exec`, an ingest client) is asked to stop its tool in its next answer, and the task shows
 * "cancel requested" until the producer confirms.
 */
export const POST: RequestHandler = ({ locals, params }) =>
	handle(
		async () => {
			const { store, orchestrator, ingest } = locals.aco;
			const task = await store.getTask(params.id);
			if (!task) throw notFound('task', params.id);
			let cancelled: boolean;
			if (task.run_id === null) {
				try {
					cancelled = (await ingest.requestCancel(task.id)) !== null;
				} catch (err) {
					if (isIngestError(err)) throw new ApiError(err.status, err.code, err.message);
					throw err;
				}
			} else {
				cancelled = await orchestrator.cancelTask(task.id);
			}
			if (!cancelled)
				throw new ApiError(409, 'already_finished', `Task "${task.id}" has already ${task.status}.`);
			const latest = (await store.getTask(task.id)) ?? task;
			const body: TaskResponse = { task: { ...latest, executions: await store.listExecutions(task.id) } };
			return json(body);
		},
		(err) => locals.aco.logger.error({ err }, 'POST /tasks/:id/cancel failed')
	);
