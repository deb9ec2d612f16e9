import type { RequestHandler } from './$types';
import { handle, notFound } from '$lib/server/http/responses';
import { combinedLogResponse } from '$lib/server/downloads/response';
import { runSegments } from '$lib/server/downloads/segments';

/**
 * Every step's log of every task of a run, tasks in workflow-file order, each step after a header
 * naming its task and step (text), or with `task`, `step` and `execution_id` on every line
 * (`?format=ndjson`). Named `<workflow>-run-<id>.log`.
 */
export const GET: RequestHandler = ({ locals, params, url }) =>
	handle(
		async () => {
			const { store, logReader } = locals.aco;
			const run = await store.getRun(params.id);
			if (!run) throw notFound('workflow run', params.id);
			const segments = await runSegments(store, run);
			return combinedLogResponse(logReader, url, [run.workflow, 'run', run.id.slice(-8)], segments);
		},
		(err) => locals.aco.logger.error({ err }, 'GET /runs/:id/log failed')
	);
