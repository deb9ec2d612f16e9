/**
 * `npm run cluster`: a local cluster for trying it out. Starts PostgreSQL and (when installed)
 * Redis from Debian's packages in temp folders on free ports, then three aco nodes (the built
 * server, `dist/server.js`) sharing them, and prints their addresses. Ctrl-C stops everything and
 * removes the folders. Needs `npm run build` first (the script runs it when dist/ is missing).
 *
 * Options (environment): ACO_CLUSTER_NODES (default 3), any ACO_* setting for every node.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startCluster } from '../tests/helpers/cluster';
import { requireRedisServer } from '../tests/helpers/redis';
import { ROOT } from '../tests/helpers/server';

/** Redis is optional here: without it every node keeps its events to itself. */
function redisInstalled(): boolean {
	try {
		requireRedisServer();
		return true;
	} catch {
		return false;
	}
}

async function main(): Promise<void> {
	if (
		!fs.existsSync(path.join(ROOT, 'dist/server.js')) ||
		!fs.existsSync(path.join(ROOT, 'build/handler.js'))
	) {
		console.log('building aco first (npm run build)…');
		const build = spawnSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
		if (build.status !== 0) process.exit(build.status ?? 1);
	}
	const nodes = Number(process.env.ACO_CLUSTER_NODES ?? 3);
	const passOn = Object.fromEntries(
		Object.entries(process.env).filter(([key, value]) => key.startsWith('ACO_') && value !== undefined)
	) as Record<string, string>;
	const cluster = await startCluster({
		nodes,
		workflowsDir: process.env.ACO_WORKFLOWS_DIR ?? path.join(ROOT, 'workflows'),
		// an ACO_REDIS_URL of the user's own is passed on instead
		redis: !passOn.ACO_REDIS_URL && redisInstalled(),
		env: passOn
	});
	console.log(`\nPostgreSQL: ${cluster.databaseUrl}`);
	console.log(
		cluster.redis
			? `Redis:      ${cluster.redis.url}`
			: passOn.ACO_REDIS_URL
				? 'Redis:      yours (ACO_REDIS_URL)'
				: 'Redis:      not installed (apt-get install redis-server); events stay on each node'
	);
	cluster.nodes.forEach((node, i) => console.log(`${cluster.ids[i]}:     ${node.url}`));
	console.log('\nOpen any node in a browser, or point `aco` at one (ACO_URL=…). Ctrl-C stops the cluster.');

	let stopping = false;
	const stop = async () => {
		if (stopping) return;
		stopping = true;
		console.log('\nstopping the cluster…');
		await cluster.stop();
		process.exit(0);
	};
	process.on('SIGINT', () => void stop());
	process.on('SIGTERM', () => void stop());
}

main().catch((err) => {
	console.error(`npm run cluster: ${err instanceof Error ? err.message : String(err)}`);
	process.exit(1);
});
