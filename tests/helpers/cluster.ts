/**
 * @module tests/helpers/cluster
 * Several real aco nodes (the built server, each a process on its own port with its own data
 * folder) sharing one PostgreSQL from tests/helpers/postgres.ts, and, when asked, one Redis from
 * tests/helpers/redis.ts (`redis: true`, or a URL of one already running).
 * Nodes start at once, as a deployment's do; each can be killed (kill -9), stopped or started
 * again. Short leases come from `env` (ACO_LEASE_MS) so a dead node's work moves within seconds.
 *
 * @example
 * const cluster = await startCluster({ nodes: 3, redis: true, env: { ACO_LEASE_MS: '1500' } });
 * await cluster.nodes[1].stop('SIGKILL');
 * await cluster.redis!.restart({ keepData: false });
 * await cluster.stop();
 */
import fs from 'node:fs';
import { startPostgres, type TestPostgres } from './postgres';
import { startRedis, type RedisOptions, type RedisServer } from './redis';
import { startAco, tempDir, type AcoProcess } from './server';

export interface ClusterOptions {
	/** how many nodes (default 3) */
	nodes?: number;
	/** environment of every node (ACO_LEASE_MS, ACO_CONCURRENCY, …) */
	env?: Record<string, string>;
	workflowsDir?: string;
	/** a Redis started for the nodes to share (ACO_REDIS_URL), `cluster.redis`; none by default */
	redis?: boolean | RedisOptions;
	/** an already running Redis the nodes share instead (not stopped with the cluster) */
	redisUrl?: string;
	/** an already running PostgreSQL to use (a new database is made on it) */
	postgres?: TestPostgres;
}

export interface TestCluster {
	pg: TestPostgres;
	databaseUrl: string;
	/** the Redis started with `redis` (stopped, restarted or killed by tests); null otherwise */
	redis: RedisServer | null;
	/** the running nodes, by index; a stopped one stays in place until started again */
	nodes: AcoProcess[];
	/** node ids (ACO_NODE_ID) by index */
	ids: string[];
	/** starts node `index` again (after a stop or a kill), with the same id and data folder */
	restart(index: number, env?: Record<string, string>): Promise<AcoProcess>;
	/** the nodes that are running */
	alive(): AcoProcess[];
	/** stops every node, PostgreSQL (unless it was given), the Redis it started, and removes their folders */
	stop(): Promise<void>;
}

export async function startCluster(options: ClusterOptions = {}): Promise<TestCluster> {
	const count = options.nodes ?? 3;
	const ownPostgres = !options.postgres;
	const [pgStart, redisStart] = await Promise.allSettled([
		options.postgres ?? startPostgres(),
		options.redis ? startRedis(options.redis === true ? {} : options.redis) : null
	]);
	if (pgStart.status === 'rejected' || redisStart.status === 'rejected') {
		if (ownPostgres && pgStart.status === 'fulfilled') await pgStart.value.close();
		if (redisStart.status === 'fulfilled') await redisStart.value?.close();
		throw pgStart.status === 'rejected' ? pgStart.reason : (redisStart as PromiseRejectedResult).reason;
	}
	const pg = pgStart.value;
	const redis = redisStart.value;
	const redisUrl = redis?.url ?? options.redisUrl;
	const databaseUrl = await pg.createDatabase();
	const ids = Array.from({ length: count }, (_, i) => `node-${String.fromCharCode(97 + i)}`);
	const dataDirs = ids.map((id) => tempDir(`aco-${id}-`));
	const envOf = (index: number, extra: Record<string, string> = {}) => ({
		ACO_DATABASE_URL: databaseUrl,
		ACO_NODE_ID: ids[index],
		ACO_LOG_LEVEL: 'info',
		...(redisUrl ? { ACO_REDIS_URL: redisUrl } : {}),
		...options.env,
		...extra
	});
	const start = (index: number, extra?: Record<string, string>) =>
		startAco({ dataDir: dataDirs[index], workflowsDir: options.workflowsDir, env: envOf(index, extra) });

	const started = await Promise.allSettled(ids.map((_, i) => start(i)));
	const failed = started.find((result) => result.status === 'rejected');
	if (failed) {
		await Promise.all(
			started.map((result) => (result.status === 'fulfilled' ? result.value.stop('SIGKILL') : null))
		);
		if (ownPostgres) await pg.close();
		await redis?.close();
		for (const dir of dataDirs) fs.rmSync(dir, { recursive: true, force: true });
		throw (failed as PromiseRejectedResult).reason;
	}
	const nodes = started.map((result) => (result as PromiseFulfilledResult<AcoProcess>).value);
	const running = (node: AcoProcess) => node.proc.exitCode === null && node.proc.signalCode === null;

	return {
		pg,
		databaseUrl,
		redis,
		nodes,
		ids,
		async restart(index, env) {
			await nodes[index].stop('SIGKILL');
			nodes[index] = await start(index, env);
			return nodes[index];
		},
		alive: () => nodes.filter(running),
		async stop() {
			await Promise.all(nodes.map((node) => node.stop('SIGTERM')));
			if (ownPostgres) await pg.close();
			await redis?.close();
			for (const dir of dataDirs) fs.rmSync(dir, { recursive: true, force: true });
		}
	};
}
