/**
 * `aco run`, `aco logs` and `aco server` against the real server, run as a user would.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LogLine, RunDetailResponse, TaskResponse } from '../../src/lib/protocol';
import { freePort, runCli, startCli } from '../helpers/cli';
import { ROOT, startAco, tempDir, type AcoProcess } from '../helpers/server';

const FIXTURES = path.join(ROOT, 'tests/fixtures/workflows');

describe('aco run and aco logs', () => {
	let aco: AcoProcess;
	let env: Record<string, string>;

	beforeAll(async () => {
		aco = await startAco({ workflowsDir: FIXTURES });
		env = { ACO_URL: aco.url, ACO_SPOOL_DIR: tempDir('aco-spool-') };
	});
	afterAll(async () => {
		await aco?.stop();
	});

	it('follows a run that succeeds and exits 0', async () => {
		const result = await runCli(['run', 'quick', '--follow'], env);
		expect(result.stderr).toMatch(/started run run_/);
		expect(result.code).toBe(0);
		expect(result.stdout).toContain('line 50');
	});

	it('follows a run that fails and exits non-zero', async () => {
		const result = await runCli(['run', 'failing', '--follow'], env);
		expect(result.code).not.toBe(0);
		expect(result.code).not.toBeNull();
	});

	it('starts a run without following and prints its id', async () => {
		const result = await runCli(['run', 'quick'], env);
		expect(result.code).toBe(0);
		const id = result.stdout.trim();
		expect(id).toMatch(/^run_/);
		const res = await fetch(`${aco.url}/api/v1/runs/${id}`);
		expect(((await res.json()) as RunDetailResponse).run.workflow).toBe('quick');
	});

	it('names an unknown workflow in one line and exits 1', async () => {
		const result = await runCli(['run', 'no-such-flow'], env);
		expect(result.code).toBe(1);
		expect(result.stderr.trim().split('\n')).toHaveLength(1);
		expect(result.stderr).toContain('No workflow named "no-such-flow"');
	});

	it("prints a task's log as text and as NDJSON", async () => {
		const exec = await runCli(
			['exec', '--name', 'for logs', '--', 'sh', '-c', 'echo one; echo two >&2'],
			env
		);
		expect(exec.code).toBe(0);
		const { tasks } = (await (await fetch(`${aco.url}/api/v1/tasks?limit=1`)).json()) as {
			tasks: { id: string }[];
		};
		const text = await runCli(['logs', tasks[0].id], env);
		expect(text).toMatchObject({ code: 0, stdout: 'one\ntwo\n' });

		const { task } = (await (await fetch(`${aco.url}/api/v1/tasks/${tasks[0].id}`)).json()) as TaskResponse;
		const ndjson = await runCli(['logs', '--ndjson', task.executions[0].id], env);
		const lines = ndjson.stdout
			.trim()
			.split('\n')
			.map((l) => JSON.parse(l) as LogLine);
		expect(lines.map((l) => [l.n, l.stream, l.text])).toEqual([
			[1, 'stdout', 'one'],
			[2, 'stderr', 'two']
		]);
	});

	it('says plainly when the server cannot be reached', async () => {
		const port = await freePort();
		const result = await runCli(['logs', 'exec_x', '--url', `http://127.0.0.1:${port}`], env);
		expect(result.code).toBe(1);
		expect(result.stderr).toBe(
			`aco: cannot reach the aco server at http://127.0.0.1:${port} (ECONNREFUSED); start it with "aco server" or point --url / ACO_URL at it.\n`
		);
	});

	it('starts the server with aco server --port and stops it on SIGTERM', async () => {
		const server = startCli(['server', '--port', '0'], {
			ACO_DATA_DIR: tempDir(),
			ACO_WORKFLOWS_DIR: FIXTURES,
			ACO_LOG_LEVEL: 'warn'
		});
		const deadline = Date.now() + 20_000;
		let match: RegExpExecArray | null = null;
		while (!match && Date.now() < deadline) {
			await new Promise((resolve) => setTimeout(resolve, 100));
			match = /aco is running at (http:\/\/\S+)/.exec(server.stderr());
		}
		expect(match, server.stderr()).not.toBeNull();
		const health = await fetch(`${match![1]}/api/v1/healthz`);
		expect(health.status).toBe(200);
		process.kill(server.pid!, 'SIGTERM');
		expect((await server.done).code).toBe(0);
	});
});
