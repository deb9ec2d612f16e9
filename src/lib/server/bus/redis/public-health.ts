/**
 * @module bus/redis/public-health
 * How Redis is doing as `/api/v1/healthz` tells anyone who asks (a load balancer has no
 * credentials, and healthz answers any Host): up or down, since when, in words of our own. Where
 * Redis is and what its driver said stay with the figures that need credentials
 * (`/api/v1/realtime/stats`) and with the server log.
 */
import type { RedisHealthSummary, RedisStatus } from '../../../protocol/api';

export const REDIS_DOWN_MESSAGE =
	'Redis cannot be reached: live fan-out between nodes is paused; tools run and their logs are stored. ' +
	'The server log and /api/v1/realtime/stats say why.';

export function publicRedisHealth(health: RedisStatus): RedisHealthSummary {
	return {
		status: health.status,
		since: health.since,
		attached: health.attached,
		...(health.status === 'down' ? { message: REDIS_DOWN_MESSAGE } : {})
	};
}
