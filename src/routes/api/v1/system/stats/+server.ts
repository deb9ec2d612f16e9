import type { RequestHandler } from './$types';
import { json } from '$lib/server/http/responses';
import type { SystemStatsResponse } from '$lib/protocol';

/** The last ten minutes of the hub's system samples; live ones come as `system.stats` over the hub. */
export const GET: RequestHandler = ({ locals }) => {
	const body: SystemStatsResponse = locals.aco.hub.systemStats();
	return json(body);
};
