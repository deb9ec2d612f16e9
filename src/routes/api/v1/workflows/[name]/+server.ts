import type { RequestHandler } from './$types';
import { ApiError, handle, json } from '$lib/server/http/responses';
import { secretNameTest } from '$lib/server/masking/secret-env';
import { workflowDetail } from '$lib/server/workflow-detail';

/** One workflow: summary, YAML source (secret values masked), and for a file that does not load, the reason and line. */
export const GET: RequestHandler = ({ locals, params }) =>
	handle(
		async () => {
			const listed = await locals.aco.orchestrator.listWorkflows();
			const isSecret = secretNameTest(locals.aco.config.orchestrator.maskEnv);
			const detail = await workflowDetail(params.name, listed, isSecret);
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
