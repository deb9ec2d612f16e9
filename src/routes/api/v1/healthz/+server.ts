import type { RequestHandler } from './$types';
import { json } from '$lib/server/http/responses';
import type { HealthResponse } from '$lib/protocol';

const VERSION = '0.1.0';

export const GET: RequestHandler = ({ locals }) => {
	const body: HealthResponse = {
		status: 'ok',
		version: VERSION,
		started_at: locals.aco.startedAt,
		uptime_s: Math.round((Date.now() - Date.parse(locals.aco.startedAt)) / 1000),
		node_id: locals.aco.config.nodeId,
		// Redis down is not unhealthy: tools run and logs are stored; live fan-out between nodes waits
		redis: locals.aco.redis?.health() ?? null
	};
	return json(body);
};
