import type { RequestHandler } from './$types';
import { ApiError, handle, json } from '$lib/server/http/responses';
import {
	RUN_NOT_STARTED,
	WORKFLOW_INVALID,
	WORKFLOW_NOT_FOUND
} from '$lib/server/orchestrator/workflow-errors';
import type { RunResponse } from '$lib/protocol';

export const POST: RequestHandler = ({ locals, params }) =>
	handle(
		async () => {
			try {
				const body: RunResponse = { run: await locals.aco.orchestrator.startRun(params.name) };
				return json(body, 201, { location: `/api/v1/runs/${body.run.id}` });
			} catch (err) {
				// instanceof fails across bundles (routes and server.ts load separate copies), so match the code
				const { code, message, details } = err as { code?: string; message: string; details?: unknown };
				if (code === WORKFLOW_NOT_FOUND) throw new ApiError(404, code, message, details);
				// the file is there but does not load: name, file, line and problem (see workflow-errors.ts)
				if (code === WORKFLOW_INVALID) throw new ApiError(422, code, message, details);
				if (code === 'shutting_down') throw new ApiError(503, code, message);
				// stored but not planned (the disk is full, the store failed): the message says why and what became of the run
				if (code === RUN_NOT_STARTED) throw new ApiError(503, code, message, details);
				throw err;
			}
		},
		(err) => locals.aco.logger.error({ err }, 'POST /workflows/:name/runs failed')
	);
