/**
 * Starts a real `redis-server` (Debian's package) in a temp folder on a free port, and stops,
 * kills or restarts it. Tests that need Redis use this; nothing is expected to be running.
 *
 * @example
 * const redis = await startRedis();
 * // … ACO_REDIS_URL: redis.url …
 * await redis.restart({ keepData: false }); // Redis lost its data
 * await redis.stop();
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './ports';

export const REDIS_MISSING =
	"redis-server was not found on PATH. Install Debian's package (`apt-get install -y redis-server`); " +
	'.ci/run installs it when missing.';

/** How long a start may take before the helper gives up (a loaded 2-core machine included). */
const START_TIMEOUT_MS = 20_000;
/** Attempts with a fresh port when another process took the one found free. */
const PORT_ATTEMPTS = 5;

export interface RedisOptions {
	/** write an append-only file so a restart keeps the data (default: no persistence at all) */
	persistent?: boolean;
	/** extra `--name value` arguments for redis-server */
	args?: string[];
}

export interface RedisServer {
	url: string;
	port: number;
	dir: string;
	/** the running process; null while stopped */
	readonly proc: ChildProcess | null;
	/** SIGTERM and wait for the exit (a persistent server writes its file first) */
	stop(): Promise<void>;
	/** SIGKILL and wait for the exit: a crash */
	kill(): Promise<void>;
	/** starts it again on the same port; `keepData: false` empties its folder first (data lost) */
	start(options?: { keepData?: boolean }): Promise<void>;
	/** stop (or kill) then start on the same port */
	restart(options?: { keepData?: boolean; kill?: boolean }): Promise<void>;
	/** stops it and removes its folder; idempotent */
	close(): Promise<void>;
}

let checked = false;

/** Throws with a clear message when redis-server is not installed. */
export function requireRedisServer(): void {
	if (checked) return;
	const found = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
	if (found.error || found.status !== 0) throw new Error(REDIS_MISSING);
	checked = true;
}

function launch(dir: string, port: number, options: RedisOptions): Promise<ChildProcess> {
	const args = [
		'--port',
		String(port),
		'--bind',
		'127.0.0.1',
		'--dir',
		dir,
		'--save',
		'',
		'--appendonly',
		options.persistent ? 'yes' : 'no',
		'--appendfsync',
		'always',
		'--protected-mode',
		'no',
		'--daemonize',
		'no',
		'--logfile',
		'',
		...(options.args ?? [])
	];
	const proc = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
	let out = '';
	return new Promise((resolve, reject) => {
		const timer = setTimeout(() => {
			proc.kill('SIGKILL');
			reject(new Error(`redis-server did not start within ${START_TIMEOUT_MS} ms:\n${out}`));
		}, START_TIMEOUT_MS);
		const onData = (chunk: Buffer) => {
			out += chunk.toString('utf8');
			if (/Ready to accept connections/.test(out)) {
				clearTimeout(timer);
				proc.stdout!.off('data', onData);
				proc.stdout!.resume();
				proc.stderr!.resume();
				resolve(proc);
			}
		};
		proc.stdout!.on('data', onData);
		proc.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
		proc.once('error', (err: NodeJS.ErrnoException) => {
			clearTimeout(timer);
			reject(err.code === 'ENOENT' ? new Error(REDIS_MISSING) : err);
		});
		proc.once('exit', (code) => {
			clearTimeout(timer);
			const busy = /Address already in use/i.test(out);
			reject(Object.assign(new Error(`redis-server exited with ${code}:\n${out}`), { busy }));
		});
	});
}

function exited(proc: ChildProcess): Promise<void> {
	if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
	return new Promise((resolve) => proc.once('exit', () => resolve()));
}

function emptyDir(dir: string): void {
	for (const name of fs.readdirSync(dir)) fs.rmSync(path.join(dir, name), { recursive: true, force: true });
}

export async function startRedis(options: RedisOptions = {}): Promise<RedisServer> {
	requireRedisServer();
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aco-redis-'));
	let proc: ChildProcess | null = null;
	let port = 0;
	for (let attempt = 1; ; attempt++) {
		port = await freePort();
		try {
			proc = await launch(dir, port, options);
			break;
		} catch (err) {
			if (!(err as { busy?: boolean }).busy || attempt >= PORT_ATTEMPTS) {
				fs.rmSync(dir, { recursive: true, force: true });
				throw err;
			}
		}
	}

	async function halt(signal: NodeJS.Signals): Promise<void> {
		const running = proc;
		proc = null;
		if (!running) return;
		running.kill(signal);
		await exited(running);
	}

	const server: RedisServer = {
		url: `redis://127.0.0.1:${port}`,
		port,
		dir,
		get proc() {
			return proc;
		},
		stop: () => halt('SIGTERM'),
		kill: () => halt('SIGKILL'),
		async start({ keepData = true } = {}) {
			if (proc) throw new Error('redis-server is already running');
			if (!keepData) emptyDir(dir);
			// the port was ours a moment ago; a client reconnecting meanwhile does not hold it
			proc = await launch(dir, port, options);
		},
		async restart({ keepData = true, kill = false } = {}) {
			await halt(kill ? 'SIGKILL' : 'SIGTERM');
			await server.start({ keepData });
		},
		async close() {
			await halt('SIGTERM');
			fs.rmSync(dir, { recursive: true, force: true });
		}
	};
	return server;
}
