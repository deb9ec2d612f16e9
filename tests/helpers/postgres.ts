/**
 * @module tests/helpers/postgres
 * A real PostgreSQL for tests, started from Debian's packages in a temp folder on a free port and
 * removed afterwards. PostgreSQL refuses to run as root, so as root it runs as the `postgres`
 * system user (the package creates it). Nothing is skipped: without PostgreSQL installed,
 * `startPostgres` throws a message that says how to install it.
 *
 * @example
 * const pg = await startPostgres();
 * const url = await pg.createDatabase(); // a new empty database
 * await pg.stop(); await pg.start();     // an outage, same port and data
 * await pg.close();
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort } from './ports';

export interface TestPostgres {
	/** the server's `postgres` database (for admin work) */
	readonly url: string;
	readonly port: number;
	readonly dir: string;
	/** creates a new empty database and returns its URL */
	createDatabase(name?: string): Promise<string>;
	/** fast shutdown; the data stays for `start()` */
	stop(): Promise<void>;
	/** starts again on the same port with the same data */
	start(): Promise<void>;
	/** stops the server and removes its folder; idempotent */
	close(): Promise<void>;
}

const USER = 'aco';
const READY_TIMEOUT_MS = 30_000;

/** /usr/lib/postgresql/<newest version>/bin, or a clear error */
export function postgresBinDir(): string {
	const root = '/usr/lib/postgresql';
	const versions = fs.existsSync(root)
		? fs
				.readdirSync(root)
				.filter((v) => fs.existsSync(path.join(root, v, 'bin', 'postgres')))
				.sort((a, b) => Number(b) - Number(a))
		: [];
	if (versions.length === 0) {
		throw new Error(
			'PostgreSQL is not installed: these tests start their own server from /usr/lib/postgresql/<version>/bin. ' +
				'Install it with `apt-get install postgresql` (bash .ci/run does this on a fresh machine).'
		);
	}
	return path.join(root, versions[0], 'bin');
}

/** who the server runs as: the current user, or the `postgres` user when we are root */
function runAs(): { uid: number; gid: number } | null {
	if (process.getuid?.() !== 0) return null;
	const id = (flag: string) => spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' });
	const uid = id('-u');
	const gid = id('-g');
	if (uid.status !== 0 || gid.status !== 0) {
		throw new Error(
			"PostgreSQL refuses to run as root and there is no `postgres` user to run it as; install Debian's postgresql package, which creates it."
		);
	}
	return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

export async function startPostgres(): Promise<TestPostgres> {
	const bin = postgresBinDir();
	const user = runAs();
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aco-pg-'));
	const data = path.join(dir, 'data');
	if (user) fs.chownSync(dir, user.uid, user.gid);
	const owned = user ? { uid: user.uid, gid: user.gid } : {};
	const init = spawnSync(
		path.join(bin, 'initdb'),
		['-D', data, '-U', USER, '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions'],
		{ encoding: 'utf8', cwd: dir, ...owned }
	);
	if (init.status !== 0) {
		fs.rmSync(dir, { recursive: true, force: true });
		throw new Error(`initdb failed (exit ${init.status}): ${init.stderr || init.stdout}`);
	}
	const port = await freePort();
	const url = `postgres://${USER}@127.0.0.1:${port}/postgres`;
	let child: ChildProcess | null = null;
	let exited: Promise<void> = Promise.resolve();
	let closed = false;

	const start = async () => {
		if (child) return;
		const log = fs.openSync(path.join(dir, 'postgres.log'), 'a');
		const proc = spawn(
			path.join(bin, 'postgres'),
			[
				'-D',
				data,
				'-p',
				String(port),
				'-k',
				dir,
				'-c',
				'listen_addresses=127.0.0.1',
				// a test server: durability is not the point, speed on a loaded machine is
				'-c',
				'fsync=off',
				'-c',
				'synchronous_commit=off',
				'-c',
				'full_page_writes=off',
				'-c',
				'max_connections=200'
			],
			{ cwd: dir, stdio: ['ignore', log, log], ...owned }
		);
		fs.closeSync(log);
		child = proc;
		exited = new Promise((resolve) => proc.once('exit', () => resolve()));
		void exited.then(() => {
			if (child === proc) child = null;
		});
		await waitReady(url, exited, dir);
	};

	const stop = async () => {
		const proc = child;
		if (!proc) return;
		// SIGINT is PostgreSQL's fast shutdown: clients are disconnected, the data is kept
		proc.kill('SIGINT');
		await exited;
	};

	await start().catch(async (err) => {
		await stop();
		fs.rmSync(dir, { recursive: true, force: true });
		throw err;
	});

	let databases = 0;
	return {
		url,
		port,
		dir,
		async createDatabase(name = `db_${process.pid}_${++databases}_${Date.now().toString(36)}`) {
			const client = new pg.Client({ connectionString: url });
			await client.connect();
			try {
				await client.query(`CREATE DATABASE "${name}"`);
			} finally {
				await client.end();
			}
			return `postgres://${USER}@127.0.0.1:${port}/${name}`;
		},
		stop,
		start,
		async close() {
			if (closed) return;
			closed = true;
			await stop();
			fs.rmSync(dir, { recursive: true, force: true });
		}
	};
}

/** waits until the server accepts a query, or fails with its log when it exits or takes too long */
async function waitReady(url: string, exited: Promise<void>, dir: string): Promise<void> {
	let gone = false;
	void exited.then(() => (gone = true));
	const deadline = Date.now() + READY_TIMEOUT_MS;
	for (;;) {
		const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
		client.on('error', () => {});
		try {
			await client.connect();
			await client.query('SELECT 1');
			await client.end();
			return;
		} catch {
			await client.end().catch(() => {});
		}
		if (gone || Date.now() > deadline) {
			const log = fs.existsSync(path.join(dir, 'postgres.log'))
				? fs.readFileSync(path.join(dir, 'postgres.log'), 'utf8').slice(-2000)
				: '';
			throw new Error(`PostgreSQL did not start${gone ? ' (it exited)' : ' in time'}: ${log}`);
		}
		await new Promise((resolve) => setTimeout(resolve, 100));
	}
}
