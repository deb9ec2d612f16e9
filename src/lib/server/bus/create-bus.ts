/**
 * @module bus/create-bus
 * Chooses a node's event bus: in-process (the default; nothing to run) or shared by every node
 * through Redis when the configuration names one. `createContext` calls this once.
 */
import type { AcoConfig } from '../config';
import type { Logger } from '../logger';
import { MemoryBus } from './memory-bus';
import { RedisBus } from './redis/redis-bus';
import type { EventBus } from './types';

export interface NodeBus {
	bus: EventBus;
	/** the shared bus when Redis is configured, for its stream, health and cluster figures */
	redis: RedisBus | null;
}

export async function createBus(
	config: AcoConfig,
	nodeId: string | undefined,
	logger: Logger
): Promise<NodeBus> {
	if (!config.redis) {
		const bus = new MemoryBus({ onError: (err) => logger.error({ err }, 'bus listener failed') });
		return { bus, redis: null };
	}
	const { url, prefix, bufferMaxEvents, bufferMaxBytes } = config.redis;
	const redis = new RedisBus({
		url,
		prefix,
		nodeId,
		bufferMaxEvents,
		bufferMaxBytes,
		history: {
			maxEvents: config.hub.historyMaxEvents,
			maxBytes: config.hub.historyMaxBytes,
			maxAgeMs: config.hub.historyMaxAgeMs
		},
		logger: logger.child({ component: 'redis-bus' })
	});
	await redis.start();
	return { bus: redis, redis };
}
