/**
 * The `aco` command's credentials against a server that needs them: `aco login` checks a token
 * and keeps it in a private file, later commands send it on REST and on the hub's upgrade,
 * `ACO_TOKEN` wins over the kept one, and `aco logout` forgets it.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACO_BIN, runCli, type CliResult } from '../helpers/cli';
import { HealthyClients } from '../helpers/healthy-clients';
import { ROOT, startAco, tempDir, type AcoProcess } from '../helpers/server';

const OPERATOR = 'cli-operator-token-0123456789';
const VIEWER = 'cli-viewer-token-0123456789';

/** `aco …args` with `input` on its standard input (a piped token). */
function runWithInput(args: string[], input: string, env: Record<string, string>): Promise<CliResult> {
	return new Promise((resolve) => {
		const proc = spawn(process.execPath, [ACO_BIN, ...args], {
			cwd: ROOT,
			env: { ...process.env, ACO_URL: '', ACO_TOKEN: '', ...env },
			stdio: ['pipe', 'pipe', 'pipe']
		});
		let stdout = '';
		let stderr = '';
		proc.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
		proc.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
		proc.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
		proc.stdin.end(input);
	});
}

describe('aco login, logout and the token on every request', () => {
	let aco: AcoProcess;
	let healthy: HealthyClients;
	let env: Record<string, string>;
	let configDir: string;

	beforeAll(async () => {
		aco = await startAco({
			workflowsDir: path.join(ROOT, 'tests/fixtures/workflows'),
			env: { ACO_TOKEN: OPERATOR, ACO_TOKENS: `viewer:${VIEWER}` }
		});
		configDir = path.join(tempDir('aco-config-'), 'aco');
		env = { ACO_URL: aco.url, ACO_CONFIG_DIR: configDir, ACO_SPOOL_DIR: tempDir('aco-spool-') };
		healthy = await HealthyClients.start(aco, { token: VIEWER, operatorToken: OPERATOR });
	});
	afterAll(async () => {
		await healthy?.stop();
		await aco?.stop();
	});

	it('refuses to keep a token the server does not accept', async () => {
		const result = await runCli(['login', '--token', 'not-a-real-token-0123456789'], env);
		expect(result.code).toBe(1);
		expect(result.stderr).toMatch(/does not accept this token; nothing was kept/);
		expect(fs.existsSync(path.join(configDir, 'credentials.json'))).toBe(false);
	});

	it('keeps a piped token in a file only the user can read, and sends it on REST and the hub', async () => {
		const login = await runWithInput(['login'], `${OPERATOR}\n`, env);
		expect(login.stderr).toMatch(/signed in to .* as operator \("ACO_TOKEN"\)/);
		expect(login.code).toBe(0);
		const file = path.join(configDir, 'credentials.json');
		expect(fs.statSync(file).mode & 0o777).toBe(0o600);
		expect(fs.statSync(configDir).mode & 0o777).toBe(0o700);
		expect(login.stderr + login.stdout).not.toContain(OPERATOR);

		// --follow reads over REST and follows over the hub: both with the kept token
		const run = await runCli(['run', 'quick', '--follow'], env);
		expect(run.stderr).toMatch(/started run run_/);
		expect(run.stdout).toContain('line 50');
		expect(run.code).toBe(0);
		await healthy.expectHealthy();
	});

	it('prefers ACO_TOKEN to the kept token', async () => {
		const asViewer = await runCli(['run', 'quick'], { ...env, ACO_TOKEN: VIEWER });
		expect(asViewer.code).toBe(1);
		expect(asViewer.stderr).toMatch(/operator role/);
	});

	it('forgets the token on logout; the next command is refused with a hint', async () => {
		const logout = await runCli(['logout'], env);
		expect(logout.code).toBe(0);
		expect(logout.stderr).toMatch(/signed out of/);
		expect(fs.readFileSync(path.join(configDir, 'credentials.json'), 'utf8')).not.toContain(OPERATOR);
		const refused = await runCli(['run', 'quick'], env);
		expect(refused.code).toBe(1);
		expect(refused.stderr).toMatch(/aco login/);
		await healthy.expectHealthy();
	});

	it('uses a token with the line end of a Windows file as the token it is', async () => {
		// ACO_TOKEN=$(cat token.txt) of a file saved on Windows
		const run = await runCli(['run', 'quick'], { ...env, ACO_TOKEN: `${OPERATOR}\r` });
		expect(run.stderr).toMatch(/started run run_/);
		expect(run.code).toBe(0);
		const flag = await runCli(['run', 'quick', '--token', ` ${OPERATOR}\r\n`], env);
		expect(flag.code).toBe(0);
	});

	it('refuses a token with a control character inside as a usage error, and runs nothing', async () => {
		const spool = tempDir('aco-spool-');
		const message =
			'aco: the token from --token contains a control character (a carriage return from a Windows file?) at position 5; a token has only visible ASCII characters.\n';
		const run = await runCli(['run', 'quick', '--token', 'some\rtoken'], env);
		expect(run).toMatchObject({ code: 2, stdout: '', stderr: message });
		const exec = await runCli(['exec', '--token', 'some\rtoken', '--', 'echo', 'ran'], {
			...env,
			ACO_SPOOL_DIR: spool
		});
		expect(exec).toMatchObject({ code: 2, stdout: '', stderr: message });
		expect(fs.readdirSync(spool)).toEqual([]);
		await healthy.expectHealthy();
	});
});
