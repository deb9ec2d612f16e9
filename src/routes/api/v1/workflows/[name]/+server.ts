import type { RequestHandler } from './$types';
import { ApiError, handle, json } from '$lib/server/http/responses';
import { workflowDetail } from '$lib/server/workflow-detail';

/** One workflow: summary, YAML source (secret values masked), and for a file that does not load, the reason and line. */
export const GET: RequestHandler = ({ locals, params }) =>
	handle(
		async () => {
			const { orchestrator, workflowSources } = locals.aco;
			const listed = await orchestrator.listWorkflows();
			const detail = await workflowDetail(params.name, listed, workflowSources);
			if (!detail) {
				const names = listed.workflows.map((workflow) => workflow.name);
				throw new ApiError(
					404,
					'workflow_not_found',
					`No workflow named "${params.name}". ${names.length ? `Workflows: ${names.join(', ')}.` : 'There are no workflows.'}`,
					{ workflows: names }
				);
			}
			return json(detail);
		},
		(err) => locals.aco.logger.error({ err }, 'GET /workflows/:name failed')
	);
