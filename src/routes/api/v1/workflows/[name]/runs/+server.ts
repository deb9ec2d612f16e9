import type { RequestHandler } from './$types';
import { ApiError, handle, json } from '$lib/server/http/responses';
import { WorkflowNotFoundError } from '$lib/server/orchestrator/types';
import type { RunResponse } from '$lib/protocol';

export const POST: RequestHandler = ({ locals, params }) =>
	handle(
		async () => {
			try {
				const body: RunResponse = { run: await locals.aco.orchestrator.startRun(params.name) };
				return json(body, 201, { location: `/api/v1/runs/${body.run.id}` });
			} catch (err) {
				// instanceof fails across bundles (routes and server.ts load separate copies), so match the code
				if (
					err instanceof WorkflowNotFoundError ||
					(err as { code?: string })?.code === 'workflow_not_found'
				) {
					throw new ApiError(
						404,
						'workflow_not_found',
						`No workflow named "${params.name}". GET /api/v1/workflows lists them.`
					);
				}
				if ((err as { code?: string })?.code === 'shutting_down') {
					throw new ApiError(503, 'shutting_down', (err as Error).message);
				}
				throw err;
			}
		},
		(err) => locals.aco.logger.error({ err }, 'POST /workflows/:name/runs failed')
	);
