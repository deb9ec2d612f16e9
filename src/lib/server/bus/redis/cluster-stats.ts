/**
 * @module bus/redis/cluster-stats
 * `GET /api/v1/realtime/stats?scope=cluster`: the figures every live node shared through Redis
 * (see node-figures.ts), with totals. Each node's limits and counts are its own; the totals only
 * add up what adds up. Loaded by a route: it imports no Redis client, only types.
 */
import type {
	ClusterNodeStats,
	ClusterStats,
	RealtimeStatsResponse,
	RedisStatus
} from '../../../protocol/api';
import type { RedisBus } from './redis-bus';

/** What each node shares every few seconds. */
export interface SharedNodeFigures {
	stats: RealtimeStatsResponse;
	redis: RedisStatus | null;
}

export function clusterTotals(nodes: ClusterNodeStats[]): ClusterStats['totals'] {
	return {
		nodes: nodes.length,
		connections: nodes.reduce((sum, n) => sum + n.stats.connections.active, 0),
		events_delivered: nodes.reduce((sum, n) => sum + n.stats.messages.events_delivered, 0),
		messages_sent: nodes.reduce((sum, n) => sum + n.stats.messages.sent, 0)
	};
}

/**
 * Every live node's latest figures. Without Redis, or while it is unreachable, only this node
 * (`self`) is listed and `error` says why.
 */
export async function clusterStats(redis: RedisBus | null, self: ClusterNodeStats): Promise<ClusterStats> {
	let nodes: ClusterNodeStats[] = [self];
	let error: string | null = null;
	if (!redis) error = 'no cluster: ACO_REDIS_URL is not set, this node is on its own';
	else {
		try {
			const shared = await redis.clusterFigures<SharedNodeFigures>();
			// this node's figures as of now rather than as last shared
			nodes = [
				...shared
					.filter((n) => n.node !== self.node)
					.map((n) => ({ node: n.node, updated_at: n.updated_at, ...n.figures })),
				self
			].sort((a, b) => a.node.localeCompare(b.node));
		} catch (err) {
			const reason = err instanceof Error ? err.message : String(err);
			error = `the other nodes' figures could not be read from Redis: ${reason}`;
		}
	}
	return { nodes, totals: clusterTotals(nodes), error };
}
