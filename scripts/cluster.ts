/**
 * `npm run cluster`: a local cluster for trying it out. Starts PostgreSQL and (when installed)
 * Redis from Debian's packages in temp folders on free ports, then three aco nodes (the built
 * server, `dist/server.js`) sharing them, and prints their addresses. Ctrl-C stops everything and
 * removes the folders. Needs `npm run build` first (the script runs it when dist/ is missing).
 *
 * Options (environment): ACO_CLUSTER_NODES (default 3), any ACO_* setting for every node.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startCluster, type TestCluster } from '../tests/helpers/cluster';
import { freePort } from '../tests/helpers/cli';
import { ROOT } from '../tests/helpers/server';

async function startRedis(): Promise<{ url: string; stop(): Promise<void> } | null> {
	const which = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
	if (which.status !== 0) return null;
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aco-cluster-redis-'));
	const port = await freePort();
	const proc: ChildProcess = spawn(
		which.stdout.trim(),
		['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'],
		{ stdio: 'ignore' }
	);
	const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
	return {
		url: `redis://127.0.0.1:${port}`,
		async stop() {
			proc.kill('SIGTERM');
			await exited;
			fs.rmSync(dir, { recursive: true, force: true });
		}
	};
}

async function main(): Promise<void> {
	if (!fs.existsSync(path.join(ROOT, 'dist/server.js')) || !fs.existsSync(path.join(ROOT, 'build/handler.js'))) {
		console.log('building aco first (npm run build)…');
		const build = spawnSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
		if (build.status !== 0) process.exit(build.status ?? 1);
	}
	const nodes = Number(process.env.ACO_CLUSTER_NODES ?? 3);
	const passOn = Object.fromEntries(
		Object.entries(process.env).filter(([key, value]) => key.startsWith('ACO_') && value !== undefined)
	) as Record<string, string>;
	const redis = await startRedis();
	let cluster: TestCluster;
	try {
		cluster = await startCluster({
			nodes,
			workflowsDir: process.env.ACO_WORKFLOWS_DIR ?? path.join(ROOT, 'workflows'),
			redisUrl: redis?.url,
			env: passOn
		});
	} catch (err) {
		await redis?.stop();
		throw err;
	}
	console.log(`\nPostgreSQL: ${cluster.databaseUrl}`);
	console.log(redis ? `Redis:      ${redis.url}` : 'Redis:      not installed (apt-get install redis-server); events stay on each node');
	cluster.nodes.forEach((node, i) => console.log(`${cluster.ids[i]}:     ${node.url}`));
	console.log('\nOpen any node in a browser, or point `aco` at one (ACO_URL=…). Ctrl-C stops the cluster.');

	let stopping = false;
	const stop = async () => {
		if (stopping) return;
		stopping = true;
		console.log('\nstopping the cluster…');
		await cluster.stop();
		await redis?.stop();
		process.exit(0);
	};
	process.on('SIGINT', () => void stop());
	process.on('SIGTERM', () => void stop());
}

main().catch((err) => {
	console.error(`npm run cluster: ${err instanceof Error ? err.message : String(err)}`);
	process.exit(1);
});
