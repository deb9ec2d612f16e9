import type { RequestHandler } from './$types';
import { z } from 'zod';
import { handle, json } from '$lib/server/http/responses';
import { limitParam, parseQuery, statusParam } from '$lib/server/http/query';
import { handleIngest } from '$lib/server/ingest/http';
import { readIdempotencyKey, readJson, validate } from '$lib/server/ingest/validate';
import { createTaskSchema, type IngestTaskResponse, type TasksResponse } from '$lib/protocol';

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

/** Creates a stand-alone task (ingest API); a repeated Idempotency-Key returns the same task with 200. */
export const POST: RequestHandler = ({ locals, request }) =>
	handleIngest(
		async () => {
			const key = readIdempotencyKey(request);
			const input = validate(createTaskSchema, await readJson(request), 'task');
			const body: IngestTaskResponse = await locals.aco.ingest.createTask(input, key);
			return json(body, body.existing ? 200 : 201, { location: `/api/v1/tasks/${body.task.id}` });
		},
		locals.aco.logger,
		'POST /tasks'
	);
