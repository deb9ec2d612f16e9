import type { RequestHandler } from './$types';
import { z } from 'zod';
import { handle, json } from '$lib/server/http/responses';
import { parseQuery } from '$lib/server/http/query';
import { clusterStats } from '$lib/server/bus/redis/cluster-stats';
import type { RealtimeStatsResponse } from '$lib/protocol';

/** This node's hub figures; `?scope=cluster` adds every live node's (shared through Redis). */
export const GET: RequestHandler = ({ locals, url }) =>
	handle(
		async () => {
			const { scope } = parseQuery(url, { scope: z.enum(['node', 'cluster']).optional() });
			const { hub, redis, config } = locals.aco;
			const body: RealtimeStatsResponse = {
				...hub.stats(),
				node: config.nodeId,
				redis: redis?.health() ?? null
			};
			if (scope === 'cluster') {
				const self = {
					node: config.nodeId,
					updated_at: body.timestamp,
					stats: { ...body },
					redis: body.redis ?? null
				};
				body.cluster = await clusterStats(redis, self);
			}
			return json(body);
		},
		(err) => locals.aco.logger.error({ err }, 'GET /realtime/stats failed')
	);
