import type { RequestHandler } from './$types';
import { json } from '$lib/server/http/responses';
import type { SystemMetricsResponse } from '$lib/protocol';

export const GET: RequestHandler = ({ locals }) => {
	const hub = locals.aco.hub.stats();
	const body: SystemMetricsResponse = { timestamp: hub.timestamp, process: locals.aco.system.read(), hub };
	return json(body);
};
