import type { RequestHandler } from './$types';
import { json } from '$lib/server/http/responses';
import type { HealthResponse } from '$lib/protocol';
import { publicRedisHealth } from '$lib/server/bus/redis/public-health';
import { isStoreUnavailable } from '$lib/server/store/errors';

const VERSION = '0.1.0';
/** a database that takes longer than this to answer counts as away */
const DATABASE_TIMEOUT_MS = 1_000;

class DatabaseTimeout extends Error {
	constructor() {
		super(`The database gave no answer within ${DATABASE_TIMEOUT_MS} ms.`);
	}
}

/**
 * 200 while this node can serve, 503 while its database cannot be reached (a proxy routes around
 * it); says whether the shared bus's Redis is up either way. Anyone may ask (a load balancer has
 * no credentials, and any Host is answered), so a failure is named in words of our own and no
 * address is given; the driver's error goes to the log, Redis's detail to /api/v1/realtime/stats.
 */
export const GET: RequestHandler = async ({ locals }) => {
	const { config, store, startedAt } = locals.aco;
	let error: string | null = null;
	let timer: NodeJS.Timeout | undefined;
	try {
		await Promise.race([
			store.ping(),
			new Promise((_, reject) => {
				timer = setTimeout(() => reject(new DatabaseTimeout()), DATABASE_TIMEOUT_MS);
			})
		]);
	} catch (err) {
		error = isStoreUnavailable(err)
			? err.message
			: err instanceof DatabaseTimeout
				? err.message
				: 'The database failed to answer; the server log says why.';
		locals.aco.logger.warn({ err }, 'healthz: the database check failed');
	} finally {
		clearTimeout(timer);
	}
	const body: HealthResponse = {
		status: error === null ? 'ok' : 'unavailable',
		version: VERSION,
		started_at: startedAt,
		uptime_s: Math.round((Date.now() - Date.parse(startedAt)) / 1000),
		node: config.nodeId,
		database: {
			kind: config.database.url ? 'postgres' : 'sqlite',
			ok: error === null,
			...(error === null ? {} : { error })
		},
		// Redis down is not unhealthy: tools run and logs are stored; live fan-out between nodes waits
		redis: locals.aco.redis ? publicRedisHealth(locals.aco.redis.health()) : null
	};
	return json(body, error === null ? 200 : 503, error === null ? {} : { 'retry-after': '2' });
};
