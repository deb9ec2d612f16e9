import type { RequestHandler } from './$types';
import { ApiError, handle, json, notFound } from '$lib/server/http/responses';
import type { RunResponse } from '$lib/protocol';

export const POST: RequestHandler = ({ locals, params }) =>
	handle(
		async () => {
			const { store, orchestrator } = locals.aco;
			const run = await store.getRun(params.id);
			if (!run) throw notFound('workflow run', params.id);
			const cancelled = await orchestrator.cancelRun(run.id);
			if (!cancelled)
				throw new ApiError(409, 'already_finished', `Run "${run.id}" has already ${run.status}.`);
			const body: RunResponse = { run: (await store.getRun(run.id)) ?? run };
			return json(body);
		},
		(err) => locals.aco.logger.error({ err }, 'POST /runs/:id/cancel failed')
	);
