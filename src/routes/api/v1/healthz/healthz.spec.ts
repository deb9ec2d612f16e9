import { describe, expect, it } from 'vitest';
import type { HealthResponse, RedisStatus } from '$lib/protocol';
import { REDIS_DOWN_MESSAGE } from '$lib/server/bus/redis/public-health';
import { createLogger } from '$lib/server/logger';
import { GET } from './+server';

const since = '2026-01-02T03:04:05.000Z';

/** Redis as the bus sees it while down: where it is and what the driver said */
const down: RedisStatus = {
	status: 'down',
	since,
	address: 'redis://:***@10.0.3.7:6379/0?password=***',
	last_error: 'connect ECONNREFUSED 10.0.3.7:6379',
	epoch: 'e1',
	seq: 41,
	attached: false,
	publisher: {
		published: 0,
		batches: 0,
		buffered: 3,
		buffered_bytes: 300,
		lost: 0,
		epoch_bumps: 0,
		last_error: 'connect ECONNREFUSED 10.0.3.7:6379'
	},
	reader: {
		attached: false,
		epoch: 'e1',
		seq: 41,
		read: 0,
		resets: 0,
		corrupt: 0,
		last_error: 'connect ECONNREFUSED 10.0.3.7:6379'
	}
};

async function healthz(redis: RedisStatus | null, ping: () => Promise<void> = async () => {}) {
	const event = {
		locals: {
			aco: {
				config: { nodeId: 'node-a', database: { url: null } },
				store: { ping },
				startedAt: since,
				logger: createLogger('silent'),
				redis: redis ? { health: () => redis } : null
			},
			principal: null
		}
	};
	const res = (await GET(event as unknown as Parameters<typeof GET>[0])) as Response;
	return { status: res.status, text: await res.text() };
}

describe('GET /api/v1/healthz', () => {
	it('says Redis is down in words of its own, naming no address and none of the driver’s words', async () => {
		const { status, text } = await healthz(down);
		expect(status).toBe(200);
		const body = JSON.parse(text) as HealthResponse;
		expect(body.redis).toEqual({ status: 'down', since, attached: false, message: REDIS_DOWN_MESSAGE });
		expect(text).not.toMatch(/10\.0\.3\.7|6379|ECONNREFUSED|redis:\/\//);
	});

	it('says Redis is up, and nothing of Redis without it', async () => {
		const up: RedisStatus = { ...down, status: 'up', attached: true, last_error: null };
		expect(JSON.parse((await healthz(up)).text).redis).toEqual({ status: 'up', since, attached: true });
		expect(JSON.parse((await healthz(null)).text).redis).toBeNull();
	});

	it('answers 503 naming no driver error when the database fails', async () => {
		const { status, text } = await healthz(null, () =>
			Promise.reject(new Error('connect ECONNREFUSED 10.0.3.8:5432'))
		);
		expect(status).toBe(503);
		expect(JSON.parse(text)).toMatchObject({ status: 'unavailable', database: { ok: false } });
		expect(text).not.toMatch(/10\.0\.3\.8|ECONNREFUSED/);
	});
});
