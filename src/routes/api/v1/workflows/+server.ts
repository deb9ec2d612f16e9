import type { RequestHandler } from './$types';
import { handle, json } from '$lib/server/http/responses';
import type { WorkflowsResponse } from '$lib/protocol';

export const GET: RequestHandler = ({ locals }) =>
	handle(
		async () => {
			const body: WorkflowsResponse = await locals.aco.orchestrator.listWorkflows();
			return json(body);
		},
		(err) => locals.aco.logger.error({ err }, 'GET /workflows failed')
	);
