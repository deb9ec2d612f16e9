/**
 * The package as a user gets it: `npm pack`, then `npm install -g` of the tarball into a temp
 * prefix, then the installed `aco` serves the app and takes a task, from a folder that is not
 * the project. Needs `npm run build` (the tarball carries build/ and dist/).
 *
 * better-sqlite3 is the one dependency with native code. Its installer (prebuild-install) first
 * looks for a "local prebuild"; the test hands it the one this checkout already compiled, so the
 * install neither compiles for minutes nor downloads from GitHub. Everything else comes from
 * npm's cache (filled by `npm ci`), the registry only for what is missing.
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, tempDir } from '../helpers/server';

const run = promisify(execFile);
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
	version: string;
	dependencies: Record<string, string>;
};

describe('the npm package', () => {
	const dir = tempDir('aco-pack-');
	const prefix = path.join(dir, 'prefix');
	const aco = path.join(prefix, 'bin', 'aco');
	const env = { ...process.env, ACO_URL: '', ACO_TOKEN: '' };

	beforeAll(async () => {
		const { stdout } = await run('npm', ['pack', '--silent', '--pack-destination', dir], { cwd: ROOT });
		const tarball = path.join(dir, stdout.trim().split('\n').at(-1)!);

		// better-sqlite3's own binary from this checkout, as prebuild-install's local prebuild
		const sqlite = JSON.parse(
			fs.readFileSync(path.join(ROOT, 'node_modules/better-sqlite3/package.json'), 'utf8')
		) as { version: string };
		const stage = path.join(dir, 'stage');
		fs.mkdirSync(path.join(stage, 'build/Release'), { recursive: true });
		fs.copyFileSync(
			path.join(ROOT, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node'),
			path.join(stage, 'build/Release/better_sqlite3.node')
		);
		const prebuilds = path.join(dir, 'prebuilds');
		fs.mkdirSync(prebuilds);
		const name = `better-sqlite3-v${sqlite.version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
		await run('tar', ['-czf', path.join(prebuilds, name), '-C', stage, 'build']);

		await run(
			'npm',
			[
				'install',
				'--global',
				'--prefix',
				prefix,
				tarball,
				'--prefer-offline',
				'--allow-scripts=better-sqlite3',
				'--no-audit',
				'--no-fund',
				'--loglevel=error'
			],
			{ cwd: dir, env: { ...env, npm_config_better_sqlite3_local_prebuilds: prebuilds }, timeout: 240_000 }
		);
	}, 300_000);

	afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

	it('installs with better-sqlite3 as its only dependency and answers --version', async () => {
		expect(Object.keys(pkg.dependencies)).toEqual(['better-sqlite3']);
		const { stdout } = await run(aco, ['--version'], { cwd: dir, env });
		expect(stdout).toBe(`aco ${pkg.version}\n`);
	});

	it('serves the app from the installed package and takes a task from aco exec', async () => {
		const installed = path.join(prefix, 'lib/node_modules/aco');
		const server = spawn(aco, ['server', '--port', '0'], {
			cwd: dir,
			env: {
				...env,
				ACO_DATA_DIR: path.join(dir, 'data'),
				ACO_WORKFLOWS_DIR: path.join(installed, 'workflows'),
				ACO_LOG_LEVEL: 'warn'
			},
			stdio: ['ignore', 'pipe', 'pipe']
		});
		let stderr = '';
		server.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
		const exited = new Promise<number | null>((resolve) => server.once('exit', resolve));
		try {
			await expect.poll(() => stderr, { timeout: 30_000 }).toMatch(/aco is running at http:\/\/\S+/);
			const url = /aco is running at (http:\/\/\S+)/.exec(stderr)![1];
			expect(stderr).toContain(`data       ${path.join(dir, 'data')}\n`);
			expect(stderr).toMatch(/workflows {2}\S+ \(1 workflow: demo\)/);

			const page = await fetch(url);
			expect(page.status).toBe(200);
			expect(await page.text()).toContain('<html');

			const exec = await run(aco, ['exec', '--url', url, '--', 'echo', 'from the package'], {
				cwd: dir,
				env
			});
			expect(exec.stdout).toBe('from the package\n');
			const line = /^aco: task (task_[\w-]+) · (\S+)$/m.exec(exec.stderr);
			expect(line, exec.stderr).not.toBeNull();
			expect(line![2]).toBe(`${url}/tasks/${line![1]}`);
			const logs = await run(aco, ['logs', line![1], '--url', url], { cwd: dir, env });
			expect(logs.stdout).toMatch(/^== .+ \/ echo \(exit 0\) ==\nfrom the package\n$/);
		} finally {
			server.kill('SIGTERM');
		}
		expect(await exited).toBe(0);
	});
});
