import type { RequestHandler } from './$types';
import { json } from '$lib/server/http/responses';
import { handleIngest } from '$lib/server/ingest/http';
import { readJson, validate } from '$lib/server/ingest/validate';
import { ingestEventsSchema, type IngestEventsResponse } from '$lib/protocol';

/** Applies a list of events (status, progress, tool.start, output, tool.end) to a stand-alone task, in order. */
export const POST: RequestHandler = ({ locals, params, request }) =>
	handleIngest(
		async () => {
			const { events } = validate(ingestEventsSchema, await readJson(request), 'events');
			const body: IngestEventsResponse = await locals.aco.ingest.applyEvents(params.id, events);
			return json(body);
		},
		locals.aco.logger,
		'POST /tasks/:id/events'
	);
