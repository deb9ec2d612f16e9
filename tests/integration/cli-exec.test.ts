/**
 * `aco exec` against the real server: the command's output printed and streamed as a task, its
 * exit code kept, and its log delivered complete even when the server comes up only later.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventEnvelope, LogLine, TaskResponse, TasksResponse } from '../../src/lib/protocol';
import { ACO_BIN, runCli, startCli } from '../helpers/cli';
import { freePort } from '../helpers/ports';
import { startAco, tempDir, type AcoProcess } from '../helpers/server';
import { connect, type TestClient } from '../helpers/ws-client';
import { alive } from '../helpers/processes';

async function getJson<T>(aco: AcoProcess, path: string): Promise<T> {
	return (await (await fetch(`${aco.url}/api/v1${path}`)).json()) as T;
}

async function logOf(aco: AcoProcess, executionId: string): Promise<LogLine[]> {
	const text = await (await fetch(`${aco.url}/api/v1/executions/${executionId}/log?format=ndjson`)).text();
	return text
		.split('\n')
		.filter(Boolean)
		.map((l) => JSON.parse(l) as LogLine);
}

describe('aco exec', () => {
	let aco: AcoProcess;
	let spool: string;

	beforeAll(async () => {
		aco = await startAco();
		spool = tempDir('aco-spool-');
	});
	afterAll(async () => {
		await aco?.stop();
	});

	it("prints the output, exits with the command's code and leaves a failed task with both streams", async () => {
		const watcher: TestClient = await connect(aco.wsUrl);
		await watcher.nextOfType('welcome');
		await watcher.request({ type: 'subscribe', sub: 'all', filter: { types: ['task.*'] } });

		const result = await runCli(
			['exec', '--name', 'streams', '--', 'sh', '-c', 'echo a; echo b >&2; exit 3'],
			{
				ACO_URL: aco.url,
				ACO_SPOOL_DIR: spool
			}
		);
		expect(result.code).toBe(3);
		expect(result.stdout).toBe('a\n');
		expect(result.stderr).toContain('b\n');

		const { tasks } = await getJson<TasksResponse>(aco, '/tasks?limit=1');
		expect(tasks[0]).toMatchObject({ name: 'streams', status: 'failed', run_id: null });
		const { task } = await getJson<TaskResponse>(aco, `/tasks/${tasks[0].id}`);
		expect(task.executions[0]).toMatchObject({ status: 'failed', exit_code: 3, command: 'sh' });
		const lines = await logOf(aco, task.executions[0].id);
		expect(lines.map((l) => [l.n, l.stream, l.text])).toEqual([
			[1, 'stdout', 'a'],
			[2, 'stderr', 'b']
		]);
		// what a browser is told
		const failed = await watcher.next<EventEnvelope<'task.failed'>>((m) => m.type === 'task.failed');
		expect(failed.data).toMatchObject({ task_id: task.id, status: 'failed' });
		await watcher.close();
		expect(fs.readdirSync(spool)).toEqual([]);
	});

	it('reports a command it cannot start for any reason as the shell would: exit 126, a failed task, nothing kept', async () => {
		// node throws ENOTDIR at once rather than reporting it as it does a missing command
		const result = await runCli(['exec', '--name', 'not a dir', '--', '/etc/passwd/x'], {
			ACO_URL: aco.url,
			ACO_SPOOL_DIR: spool
		});
		expect(result.code).toBe(126);
		expect(result.stderr).toContain('aco: could not run /etc/passwd/x: spawn ENOTDIR\n');
		const { tasks } = await getJson<TasksResponse>(aco, '/tasks?limit=1');
		expect(tasks[0]).toMatchObject({
			name: 'not a dir',
			status: 'failed',
			error: 'could not run /etc/passwd/x: spawn ENOTDIR'
		});
		expect(fs.readdirSync(spool)).toEqual([]);
	});

	it('gives an overlong line back whole in the download and in aco logs', async () => {
		const result = await runCli(
			['exec', '--name', 'long', '--', 'sh', '-c', 'head -c 40000 /dev/zero | tr "\\0" x; echo; echo end'],
			{ ACO_URL: aco.url, ACO_SPOOL_DIR: spool }
		);
		expect(result.code).toBe(0);
		const { tasks } = await getJson<TasksResponse>(aco, '/tasks?limit=1');
		const { task } = await getJson<TaskResponse>(aco, `/tasks/${tasks[0].id}`);
		const lines = await logOf(aco, task.executions[0].id);
		expect(lines.length).toBeGreaterThan(2);
		const text = await (await fetch(`${aco.url}/api/v1/executions/${task.executions[0].id}/log`)).text();
		expect(text).toBe('x'.repeat(40_000) + '\nend\n');
		const printed = await runCli(['logs', task.executions[0].id, '--follow', '--url', aco.url], {
			ACO_SPOOL_DIR: spool
		});
		expect(printed.stdout === text).toBe(true);
	});

	it('exits with 128 + the signal number when a signal ends the command, and reports progress lines', async () => {
		const result = await runCli(
			['exec', '--', 'sh', '-c', 'echo "::progress value=60::most of it"; kill -TERM $$'],
			{ ACO_URL: aco.url, ACO_SPOOL_DIR: spool }
		);
		expect(result.code).toBe(143);
		const { tasks } = await getJson<TasksResponse>(aco, '/tasks?limit=1');
		expect(tasks[0]).toMatchObject({ status: 'failed', progress: 60, message: 'most of it' });
	});

	/** `aco exec … | head -1` with pipefail: the pipeline's status is aco's (141 as for the bare command, not 0) */
	function pipedToHead(args: string[], stderrToo = false): Promise<{ code: number | null; stdout: string }> {
		const quoted = args.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
		const pipe = stderrToo ? '2>&1 |' : '|';
		const script = `set -o pipefail; "${process.execPath}" "${ACO_BIN}" exec ${quoted} ${pipe} head -1`;
		return new Promise((resolve) => {
			const proc = spawn('bash', ['-c', script], {
				env: { ...process.env, ACO_URL: aco.url, ACO_TOKEN: '', ACO_SPOOL_DIR: spool },
				stdio: ['ignore', 'pipe', 'inherit']
			});
			let stdout = '';
			proc.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
			proc.once('close', (code) => resolve({ code, stdout }));
		});
	}

	async function expectEndedBySigpipe(name: string): Promise<void> {
		const { tasks } = await getJson<TasksResponse>(aco, '/tasks?limit=1');
		expect(tasks[0]).toMatchObject({ name, status: 'failed', error: 'killed by SIGPIPE' });
		const { task } = await getJson<TaskResponse>(aco, `/tasks/${tasks[0].id}`);
		expect(task.executions[0]).toMatchObject({ status: 'failed', signal: 'SIGPIPE' });
	}

	it('ends as the command does when its output is cut short (| head): SIGPIPE, exit 141, and its task ends', async () => {
		const result = await pipedToHead([
			'--name',
			'piped',
			'--',
			'sh',
			'-c',
			'echo first; while :; do echo more; sleep 0.05; done'
		]);
		expect(result).toEqual({ code: 141, stdout: 'first\n' });
		await expectEndedBySigpipe('piped');
	});

	it('ends as the command does when its stderr is cut short too (2>&1 | head): SIGPIPE, exit 141, no crash of its own', async () => {
		// aco echoes the command's stderr on its own: a write there once the reader is gone must not
		// end aco with an uncaught EPIPE and leave the task unfinished
		const result = await pipedToHead(
			[
				'--name',
				'piped stderr',
				'--quiet',
				'--',
				'sh',
				'-c',
				'echo first; while :; do echo more >&2; sleep 0.05; done'
			],
			true
		);
		expect(result).toEqual({ code: 141, stdout: 'first\n' });
		await expectEndedBySigpipe('piped stderr');
	});

	it('outlives a Ctrl-C at a terminal: the command handles it, and aco reports its end and exits with its code', async () => {
		// `script` gives aco and the command a terminal; a Ctrl-C typed there reaches the whole
		// foreground group, the command included (aco does not pass it on a second time). `exec`: the
		// shell through which script starts aco must not stay in that group, or the Ctrl-C ends it (dash
		// does not exec a lone command) and script reports 130 whatever aco does
		const command = `exec "${process.execPath}" "${ACO_BIN}" exec --name ctrl-c -- sh -c 'trap "echo got INT; exit 3" INT; echo ready; while :; do sleep 0.1; done'`;
		const proc = spawn('script', ['-qefc', command, '/dev/null'], {
			env: { ...process.env, SHELL: '/bin/sh', ACO_URL: aco.url, ACO_TOKEN: '', ACO_SPOOL_DIR: spool },
			stdio: ['pipe', 'pipe', 'inherit']
		});
		let output = '';
		proc.stdout.setEncoding('utf8').on('data', (c: string) => (output += c));
		const closed = new Promise<number | null>((resolve) => proc.once('close', resolve));
		await expect.poll(() => output, { timeout: 30_000 }).toContain('ready');
		proc.stdin.write('\x03');
		expect(await closed).toBe(3);
		expect(output).toContain('got INT');
		const { tasks } = await getJson<TasksResponse>(aco, '/tasks?limit=1');
		expect(tasks[0]).toMatchObject({ name: 'ctrl-c', status: 'failed', error: 'exited with code 3' });
	});

	it.each([
		['seq', ['seq', '1', '1000000'], '1\n'],
		['yes', ['yes'], 'y\n']
	])(
		'ends a fast writer cut short (%s | head) by SIGPIPE too, not by a write error',
		async (name, command, first) => {
			// aco closes its end with output still unread: the command must meet SIGPIPE all the same
			const result = await pipedToHead(['--name', `fast ${name}`, '--', ...command]);
			expect(result).toEqual({ code: 141, stdout: first });
			await expectEndedBySigpipe(`fast ${name}`);
		}
	);

	it('stops the command on a cancel and ends cancelled soon after the grace, though a child it left holds the output', async () => {
		// sh and its child ignore SIGTERM; the child holds the output pipe open. The SIGKILL after the
		// grace reaches sh; the child is left running, as when the bare command is killed
		const script = 'trap "" TERM; echo started; sleep 60 & echo "child $!" >&2; wait';
		const run = startCli(['exec', '--name', 'cancel me', '--kill-grace', '1000', '--', 'sh', '-c', script], {
			ACO_URL: aco.url,
			ACO_SPOOL_DIR: spool,
			ACO_EXEC_HEARTBEAT_MS: '200'
		});
		await expect.poll(run.stderr, { timeout: 20_000 }).toMatch(/child \d+/);
		await expect.poll(run.stderr, { timeout: 20_000 }).toMatch(/task task_\S+/);
		const grandchild = Number(/child (\d+)/.exec(run.stderr())![1]);
		const taskId = /task (task_\S+)/.exec(run.stderr())![1];
		try {
			const cancelledAt = Date.now();
			const answer = await fetch(`${aco.url}/api/v1/tasks/${taskId}/cancel`, { method: 'POST' });
			expect(answer.ok).toBe(true);
			const result = await run.done;
			// far below the child's 60 s: the grace (1 s), the next heartbeat, and a loaded machine
			expect(Date.now() - cancelledAt).toBeLessThan(20_000);
			expect(result).toMatchObject({ code: 137, stdout: 'started\n' });
			expect(result.stderr).toMatch(/processes it left running still hold its output open/);
			const { task } = await getJson<TaskResponse>(aco, `/tasks/${taskId}`);
			expect(task).toMatchObject({ status: 'cancelled' });
		} finally {
			if (alive(grandchild)) process.kill(grandchild, 'SIGKILL');
		}
	});

	it("keeps the command in aco's process group: a SIGKILL to that group (timeout -k, a CI runner) stops the command too", async () => {
		// aco started as a job of its own (a group of its own), as a shell or a CI runner starts it
		const proc = spawn(
			process.execPath,
			[ACO_BIN, 'exec', '--name', 'group kill', '--', 'sh', '-c', 'echo "command $$"; sleep 60'],
			{
				env: { ...process.env, ACO_URL: aco.url, ACO_TOKEN: '', ACO_SPOOL_DIR: spool },
				stdio: ['ignore', 'pipe', 'ignore'],
				detached: true
			}
		);
		let stdout = '';
		proc.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
		const closed = new Promise<void>((resolve) => proc.once('close', () => resolve()));
		await expect.poll(() => stdout, { timeout: 20_000 }).toMatch(/command \d+/);
		const command = Number(/command (\d+)/.exec(stdout)![1]);
		try {
			process.kill(-proc.pid!, 'SIGKILL');
			await closed;
			await expect.poll(() => alive(command), { timeout: 10_000 }).toBe(false);
		} finally {
			if (alive(command)) process.kill(command, 'SIGKILL');
		}
	});

	it('lets the command write to /dev/stdout and /dev/stderr and captures both', async () => {
		const result = await runCli(
			['exec', '--name', 'dev paths', '--', 'sh', '-c', 'echo x >/dev/stdout; echo y >/dev/stderr'],
			{ ACO_URL: aco.url, ACO_SPOOL_DIR: spool }
		);
		expect([result.code, result.stdout]).toEqual([0, 'x\n']);
		expect(result.stderr).toMatch(/^y$/m);
		const { tasks } = await getJson<TasksResponse>(aco, '/tasks?limit=1');
		expect(tasks[0]).toMatchObject({ name: 'dev paths', status: 'succeeded' });
		const { task } = await getJson<TaskResponse>(aco, `/tasks/${tasks[0].id}`);
		const lines = await logOf(aco, task.executions[0].id);
		expect(lines.map((l) => [l.stream, l.text])).toEqual([
			['stdout', 'x'],
			['stderr', 'y']
		]);
	});

	it('ends soon after the command when a child it left running holds the output open', async () => {
		const started = Date.now();
		const result = await runCli(
			['exec', '--name', 'left running', '--', 'sh', '-c', 'sleep 60 & echo "child $!"; echo started'],
			{ ACO_URL: aco.url, ACO_SPOOL_DIR: spool }
		);
		const grandchild = Number(/child (\d+)/.exec(result.stdout)?.[1]);
		try {
			// far below the child's 60 s
			expect(Date.now() - started).toBeLessThan(20_000);
			expect(result.code).toBe(0);
			expect(result.stdout).toMatch(/started\n$/);
			expect(result.stderr).toMatch(/processes it left running still hold its output open/);
			const { tasks } = await getJson<TasksResponse>(aco, '/tasks?limit=1');
			expect(tasks[0]).toMatchObject({ name: 'left running', status: 'succeeded' });
			// the bare command would leave it running too
			expect(alive(grandchild)).toBe(true);
		} finally {
			if (grandchild > 0 && alive(grandchild)) process.kill(grandchild, 'SIGKILL');
		}
	});

	it('delivers the end with --retry-for 0 when the server is up, and keeps no spool', async () => {
		const ownSpool = tempDir('aco-spool-');
		const result = await runCli(['exec', '--name', 'no retry', '--retry-for', '0', '--', 'echo', 'once'], {
			ACO_URL: aco.url,
			ACO_SPOOL_DIR: ownSpool
		});
		expect([result.code, result.stdout]).toEqual([0, 'once\n']);
		expect(result.stderr).toMatch(/^aco: task task_\S+ · /);
		expect(result.stderr).not.toMatch(/could not reach/);
		const { tasks } = await getJson<TasksResponse>(aco, '/tasks?limit=1');
		expect(tasks[0]).toMatchObject({ name: 'no retry', status: 'succeeded' });
		expect(fs.readdirSync(ownSpool)).toEqual([]);
	});

	it('records a command with more or longer arguments than the server keeps, cut to size and saying so', async () => {
		const args = Array.from({ length: 1_500 }, (_, i) => `file-${i}.ts`);
		const long = 'x'.repeat(5_000);
		const result = await runCli(['exec', '--name', 'many args', '--', 'sh', '-c', 'echo ok', long, ...args], {
			ACO_URL: aco.url,
			ACO_SPOOL_DIR: spool
		});
		expect([result.code, result.stdout]).toEqual([0, 'ok\n']);
		expect(result.stderr).not.toMatch(/refused/);
		const { tasks } = await getJson<TasksResponse>(aco, '/tasks?limit=1');
		expect(tasks[0]).toMatchObject({ name: 'many args', status: 'succeeded' });
		const { task } = await getJson<TaskResponse>(aco, `/tasks/${tasks[0].id}`);
		const recorded = task.executions[0]!.args;
		expect(recorded).toHaveLength(1_000);
		expect(recorded.slice(0, 3)).toEqual(['-c', 'echo ok', `${'x'.repeat(3_999)}…`]);
		expect(recorded.at(-1)).toBe('… and 504 more arguments');
		expect(fs.readdirSync(spool)).toEqual([]);
	});

	it('runs the command while the server is down and delivers the whole log once it is up', async () => {
		const dataDir = tempDir();
		const port = await freePort();

		const script = 'for i in 1 2 3 4 5; do echo line $i; sleep 0.1; done; echo done >&2';
		const run = startCli(['exec', '--name', 'offline', '--', 'sh', '-c', script], {
			ACO_URL: `http://127.0.0.1:${port}`,
			ACO_SPOOL_DIR: spool,
			ACO_EXEC_RETRY_MS: '20000'
		});
		// the server comes up only once aco has found it down
		await expect.poll(run.stderr, { timeout: 20_000 }).toMatch(/cannot reach the aco server/);
		const later = await startAco({ dataDir, port });
		try {
			const result = await run.done;
			expect(result.code).toBe(0);
			expect(result.stderr).toMatch(/cannot reach the aco server/);
			const { tasks } = await getJson<TasksResponse>(later, '/tasks?limit=1');
			expect(tasks[0]).toMatchObject({ name: 'offline', status: 'succeeded' });
			const { task } = await getJson<TaskResponse>(later, `/tasks/${tasks[0].id}`);
			const lines = await logOf(later, task.executions[0].id);
			expect(lines.map((l) => l.text)).toEqual(['line 1', 'line 2', 'line 3', 'line 4', 'line 5', 'done']);
			expect(fs.readdirSync(spool)).toEqual([]);
		} finally {
			await later.stop();
		}
	});

	it('keeps the log on disk when the server stays away, and the next aco command sends it', async () => {
		const dataDir = tempDir();
		const port = await freePort();
		const url = `http://127.0.0.1:${port}`;
		const ownSpool = tempDir('aco-spool-');

		const result = await runCli(['exec', '--name', 'kept', '--retry-for', '300', '--', 'echo', 'kept line'], {
			ACO_URL: url,
			ACO_SPOOL_DIR: ownSpool
		});
		expect(result.code).toBe(0);
		expect(result.stdout).toBe('kept line\n');
		expect(result.stderr).toMatch(/the log is kept in .*next aco command will send it/);
		expect(fs.readdirSync(ownSpool).filter((f) => f.endsWith('.ndjson'))).toHaveLength(1);

		const later = await startAco({ dataDir, port });
		try {
			const next = await runCli(['logs', 'exec_none', '--url', url], { ACO_SPOOL_DIR: ownSpool });
			expect(next.code).toBe(1);
			expect(next.stderr).toMatch(/sent the kept log of "kept"/);
			const { tasks } = await getJson<TasksResponse>(later, '/tasks?limit=1');
			expect(tasks[0]).toMatchObject({ name: 'kept', status: 'succeeded' });
			expect(fs.readdirSync(ownSpool)).toEqual([]);
		} finally {
			await later.stop();
		}
	});

	it('says what is wrong in one line for a bad invocation', async () => {
		const result = await runCli(['exec', '--nme', 'x', '--', 'true'], { ACO_SPOOL_DIR: spool });
		expect(result.code).toBe(2);
		expect(result.stderr.trim().split('\n')).toHaveLength(1);
		expect(result.stderr).toMatch(/Unknown option '--nme'/);
	});

	it("refuses a wait past a day, naming the option and the range, and keeps node's hint for a negative one", async () => {
		const env = { ACO_SPOOL_DIR: spool, ACO_URL: aco.url };
		for (const args of [
			['--retry-for', '99999999999'],
			['--kill-grace', '1e12']
		]) {
			const result = await runCli(['exec', ...args, '--', 'echo', 'ran'], env);
			expect(result).toMatchObject({
				code: 2,
				stdout: '',
				stderr: `aco exec: ${args[0]} must be a whole number from 0 to 86400000, got "${args[1]}".\n`
			});
		}
		// a value from the environment is named as its variable
		const fromEnv = await runCli(['exec', '--', 'echo', 'ran'], { ...env, ACO_EXEC_RETRY_MS: '1e15' });
		expect(fromEnv).toMatchObject({
			code: 2,
			stdout: '',
			stderr: 'aco exec: ACO_EXEC_RETRY_MS must be a whole number from 0 to 86400000, got "1e15".\n'
		});
		// a heartbeat every millisecond would flood the server with requests
		const flood = await runCli(['exec', '--', 'echo', 'ran'], { ...env, ACO_EXEC_HEARTBEAT_MS: '0' });
		expect(flood).toMatchObject({
			code: 2,
			stdout: '',
			stderr: 'aco exec: ACO_EXEC_HEARTBEAT_MS must be a whole number from 100 to 86400000, got "0".\n'
		});
		const negative = await runCli(['exec', '--retry-for', '-5', '--', 'echo', 'ran'], env);
		expect(negative).toMatchObject({
			code: 2,
			stderr: `aco exec: Option '--retry-for' argument is ambiguous; to specify an option argument starting with a dash use '--retry-for=-XYZ'. Run "aco exec --help" for its options.\n`
		});
	});
});
