import type { RequestHandler } from './$types';
import { json } from '$lib/server/http/responses';
import type { HealthResponse } from '$lib/protocol';

const VERSION = '0.1.0';
/** a database that takes longer than this to answer counts as away */
const DATABASE_TIMEOUT_MS = 1_000;

/**
 * 200 while this node can serve, 503 while its database cannot be reached (a proxy routes around
 * it); says how the shared bus's Redis is doing either way.
 */
export const GET: RequestHandler = async ({ locals }) => {
	const { config, store, startedAt } = locals.aco;
	let error: string | null = null;
	let timer: NodeJS.Timeout | undefined;
	try {
		await Promise.race([
			store.ping(),
			new Promise((_, reject) => {
				timer = setTimeout(
					() => reject(new Error(`no answer within ${DATABASE_TIMEOUT_MS} ms`)),
					DATABASE_TIMEOUT_MS
				);
			})
		]);
	} catch (err) {
		error = (err as Error).message;
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
		redis: locals.aco.redis?.health() ?? null
	};
	return json(body, error === null ? 200 : 503, error === null ? {} : { 'retry-after': '2' });
};
