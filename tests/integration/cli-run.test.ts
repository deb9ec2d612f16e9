/**
 * `aco run`, `aco logs` and `aco server` against the real server, run as a user would; and the
 * commands against servers that are not aco or that stop mid-answer.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_REQUEST_TIMEOUT_MS } from '../../src/cli/http';
import type { LogLine, RunDetailResponse, TaskResponse } from '../../src/lib/protocol';
import { ACO_BIN, runCli, startCli } from '../helpers/cli';
import { freePort } from '../helpers/ports';
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

	it('names an unknown workflow in one line, lists the workflows there are and exits 1', async () => {
		const result = await runCli(['run', 'quik'], env);
		expect(result.code).toBe(1);
		expect(result.stderr).toBe(
			'aco: No workflow named "quik". Did you mean "quick"? Workflows: broken, failing, quick, slow.\n'
		);
		const far = await runCli(['run', 'no-such-flow'], env);
		expect(far.stderr).toBe(
			'aco: No workflow named "no-such-flow". Workflows: broken, failing, quick, slow.\n'
		);
	});

	it('reports a workflow file that does not load by name, file, line and problem, from the CLI and the API', async () => {
		const result = await runCli(['run', 'broken'], env);
		expect(result.code).toBe(1);
		expect(result.stderr).toBe(
			`aco: Workflow "broken" does not load: broken.yml line 4: tasks.a.needs[0]: unknown task 'does-not-exist'\n`
		);
		const res = await fetch(`${aco.url}/api/v1/workflows/broken/runs`, { method: 'POST' });
		expect(res.status).toBe(422);
		expect(await res.json()).toEqual({
			error: {
				code: 'workflow_invalid',
				message: `Workflow "broken" does not load: broken.yml line 4: tasks.a.needs[0]: unknown task 'does-not-exist'`,
				details: {
					workflow: 'broken',
					file: path.join(FIXTURES, 'broken.yml'),
					line: 4,
					reason: "line 4: tasks.a.needs[0]: unknown task 'does-not-exist'"
				}
			}
		});
		const unknown = await fetch(`${aco.url}/api/v1/workflows/quik/runs`, { method: 'POST' });
		expect(unknown.status).toBe(404);
		expect(((await unknown.json()) as { error: { details: unknown } }).error.details).toEqual({
			workflows: ['broken', 'failing', 'quick', 'slow'],
			suggestion: 'quick'
		});
	});

	it("aco exec says its task's id and link first on stderr, and --quiet keeps it quiet", async () => {
		const result = await runCli(['exec', '--', 'sh', '-c', 'echo out'], env);
		expect(result.code).toBe(0);
		expect(result.stdout).toBe('out\n');
		const [first] = result.stderr.split('\n');
		const id = /^aco: task (task_[\w-]+) · /.exec(first)?.[1];
		expect(first).toBe(`aco: task ${id} · ${aco.url}/tasks/${id}`);
		const quiet = await runCli(['exec', '--quiet', '--', 'sh', '-c', 'echo out'], env);
		expect(quiet).toMatchObject({ code: 0, stdout: 'out\n', stderr: '' });
	});

	it("prints a run's logs step by step under headers, and one step with --step", async () => {
		const id = (await runCli(['run', 'quick'], env)).stdout.trim();
		await expect
			.poll(
				async () =>
					((await (await fetch(`${aco.url}/api/v1/runs/${id}`)).json()) as RunDetailResponse).run.status,
				{
					timeout: 30_000
				}
			)
			.toBe('succeeded');
		const all = await runCli(['logs', id], env);
		expect(all.code).toBe(0);
		const headers = all.stdout.split('\n').filter((l) => l.startsWith('== '));
		expect(headers.length).toBeGreaterThan(0);
		expect(headers[0]).toMatch(/^== \S+ \/ .+ \(exit 0\) ==$/);
		expect(all.stdout).toContain('line 50\n');
		const [, task, step] = /^== (\S+) \/ (.+) \(exit 0\) ==$/.exec(headers[0])!;
		const one = await runCli(['logs', id, '--step', `${task}/${step}`], env);
		expect(one.code).toBe(0);
		expect(one.stdout).not.toContain('== ');
		expect(all.stdout).toContain(one.stdout);
		const wrong = await runCli(['logs', id, '--step', `${task}/nope`], env);
		expect(wrong.code).toBe(1);
		expect(wrong.stderr.split('\n')[0]).toMatch(/^aco logs: no step "[^"]+\/nope"; there (is|are): /);
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
		expect(text).toMatchObject({
			code: 0,
			stdout: 'for logs / sh (exit 0) ==\none\ntwo\n'.replace(/^/, '== ')
		});

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

/** A server on port 0 answering every request with `handle`; `close` ends it and its connections. */
async function fakeServer(
	handle: http.RequestListener
): Promise<{ url: string; close: () => Promise<void> }> {
	const server = http.createServer(handle);
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	return {
		url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
		close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve())))
	};
}

describe('aco against a server that is not aco', () => {
	let page: Awaited<ReturnType<typeof fakeServer>>;
	let other: Awaited<ReturnType<typeof fakeServer>>;
	let missing: Awaited<ReturnType<typeof fakeServer>>;
	let python: Awaited<ReturnType<typeof fakeServer>>;
	let env: Record<string, string>;

	beforeAll(async () => {
		// a web server at --url: a page for everything
		page = await fakeServer((req, res) => {
			req.resume();
			res.setHeader('content-type', 'text/html');
			res.end('<!doctype html><title>welcome</title>');
		});
		// another JSON API: its own answers, its own error shape
		other = await fakeServer((req, res) => {
			req.resume();
			res.setHeader('content-type', 'application/json');
			if (req.method === 'GET') res.end('{"ok":true}');
			else {
				res.statusCode = 400;
				res.end(JSON.stringify({ error: { message: { reason: 'nested' } } }));
			}
		});
		// a web server with nothing at the path --url names: a 404 page for everything
		missing = await fakeServer((req, res) => {
			req.resume();
			res.statusCode = 404;
			res.setHeader('content-type', 'text/html');
			res.end('<!doctype html><title>Not Found</title>');
		});
		// python's http.server: files for GET, 501 for the rest
		python = await fakeServer((req, res) => {
			req.resume();
			res.statusCode = req.method === 'GET' ? 404 : 501;
			res.setHeader('content-type', 'text/html;charset=utf-8');
			res.end('<!DOCTYPE HTML><title>Error response</title>');
		});
		env = { ACO_SPOOL_DIR: tempDir('aco-spool-'), ACO_CONFIG_DIR: tempDir('aco-config-') };
	});
	afterAll(async () => {
		await page?.close();
		await other?.close();
		await missing?.close();
		await python?.close();
	});

	it('says which URL answered what, in one line, and exits 1', async () => {
		const run = await runCli(['run', 'quick', '--url', page.url], env);
		expect(run).toMatchObject({
			code: 1,
			stderr: `aco: ${page.url}/api/v1/workflows/quick/runs answered 200 text/html, not aco's API: check --url or ACO_URL.\n`
		});
		const logs = await runCli(['logs', 'task_1', '--url', other.url], env);
		expect(logs).toMatchObject({
			code: 1,
			stderr: `aco: ${other.url}/api/v1/tasks/task_1 answered 200 application/json without "task", not aco's API: check --url or ACO_URL.\n`
		});
		// its error body is not aco's either
		const refused = await runCli(['run', 'quick', '--url', other.url], env);
		expect(refused).toMatchObject({
			code: 1,
			stderr: `aco: ${other.url}/api/v1/workflows/quick/runs answered 400 application/json, not aco's API: check --url or ACO_URL.\n`
		});
	});

	it("says an error page at --url (a wrong base path's 404, another server's 501) is not aco's API", async () => {
		const logs = await runCli(['logs', 'task_x', '--url', `${missing.url}/foo`], env);
		expect(logs).toMatchObject({
			code: 1,
			stderr: `aco: ${missing.url}/foo/api/v1/tasks/task_x answered 404 text/html, not aco's API: check --url or ACO_URL.\n`
		});
		const follow = await runCli(['logs', 'task_x', '--follow', '--url', `${missing.url}/foo`], env);
		expect(follow).toMatchObject({
			code: 1,
			stderr: `aco: ${missing.url}/foo/api/v1/tasks/task_x answered 404 text/html, not aco's API: check --url or ACO_URL.\n`
		});
		const run = await runCli(['run', 'quick', '--url', python.url], env);
		expect(run).toMatchObject({
			code: 1,
			stderr: `aco: ${python.url}/api/v1/workflows/quick/runs answered 501 text/html, not aco's API: check --url or ACO_URL.\n`
		});
	});

	it('keeps the log of aco exec at a wrong --url for a later command, never setting it aside as refused', async () => {
		const spoolDir = tempDir('aco-spool-');
		const exec = await runCli(['exec', '--retry-for', '500', '--url', missing.url, '--', 'echo', 'hi'], {
			...env,
			ACO_SPOOL_DIR: spoolDir
		});
		expect(exec).toMatchObject({ code: 0, stdout: 'hi\n' });
		expect(exec.stderr).toContain(`${missing.url}/api/v1/tasks answered 404 text/html, not aco's API`);
		const kept = fs.readdirSync(spoolDir).sort();
		expect(kept.filter((f) => f.endsWith('.ndjson'))).toHaveLength(1);
		// the next command tries to send it and meets the same page: the log waits for a right address
		const next = await runCli(['logs', 'task_x', '--url', missing.url], { ...env, ACO_SPOOL_DIR: spoolDir });
		expect(next.code).toBe(1);
		expect(next.stderr).not.toContain('set aside');
		expect(fs.readdirSync(spoolDir).sort()).toEqual(kept);
	});

	it("aco login keeps nothing and exits 1 when the session answer is not aco's", async () => {
		const login = await runCli(['login', '--url', other.url, '--token', 'tok-0123456789'], env);
		expect(login).toMatchObject({
			code: 1,
			stderr: `aco: ${other.url}/api/v1/session answered 200 application/json without "auth_required", not aco's API: check --url or ACO_URL.\n`
		});
		expect(fs.existsSync(path.join(env.ACO_CONFIG_DIR, 'credentials.json'))).toBe(false);
	});

	it('aco exec runs the command, then says what answered instead of waiting as if the server were away', async () => {
		const exec = await runCli(['exec', '--retry-for', '20000', '--url', page.url, '--', 'echo', 'hi'], {
			...env,
			ACO_SPOOL_DIR: tempDir('aco-spool-')
		});
		expect(exec.code).toBe(0);
		expect(exec.stdout).toBe('hi\n');
		expect(exec.stderr).toMatch(
			new RegExp(
				`^aco: ${page.url}/api/v1/tasks answered 200 text/html, not aco's API: check --url or ACO_URL\\. Its output stays in \\S+\\.ndjson\\.\\n$`
			)
		);
	});
});

describe('aco logs, downloading', () => {
	it('hands the whole log to a reader that pauses for longer than the request timeout', async () => {
		const chunk = Buffer.alloc(64 * 1024, 'l');
		const chunks = 80; // 5 MiB: far more than the pipes and buffers in between hold
		const server = await fakeServer((_req, res) => {
			res.setHeader('content-type', 'text/plain');
			let sent = 0;
			const more = () => {
				while (sent < chunks) {
					sent++;
					if (!res.write(chunk)) return void res.once('drain', more);
				}
				res.end();
			};
			more();
		});
		const proc = spawn(process.execPath, [ACO_BIN, 'logs', 'exec_big', '--url', server.url], {
			cwd: ROOT,
			env: { ...process.env, ACO_URL: '', ACO_TOKEN: '', ACO_SPOOL_DIR: tempDir('aco-spool-') },
			stdio: ['ignore', 'pipe', 'pipe']
		});
		let bytes = 0;
		let stderr = '';
		proc.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
		proc.stdout.on('data', (c: Buffer) => (bytes += c.length));
		// `aco logs … | less`, left alone: nothing is read for longer than the timeout
		proc.stdout.pause();
		const resume = setTimeout(() => proc.stdout.resume(), DEFAULT_REQUEST_TIMEOUT_MS + 2_000);
		try {
			const code = await new Promise<number | null>((resolve) => proc.once('close', resolve));
			expect(stderr).toBe('');
			expect(code).toBe(0);
			expect(bytes).toBe(chunk.length * chunks);
		} finally {
			clearTimeout(resume);
			proc.kill('SIGKILL');
			await server.close();
		}
	});
});
