import type { RequestHandler } from './$types';
import { json } from '$lib/server/http/responses';
import type { RealtimeStatsResponse } from '$lib/protocol';

export const GET: RequestHandler = ({ locals }) => {
	const body: RealtimeStatsResponse = locals.aco.hub.stats();
	return json(body);
};
