/**
 * `aco logs task_… --follow` (and `exec_…`, one of its executions) on a stand-alone task
 * (`aco exec`) while the server restarts under it: the server marks the task `interrupted` at its
 * start and resumes it when its producer reports again, so the follow goes on to the task's real
 * end; a producer that never comes back ends the follow once the server's silence limit
 * (ACO_INGEST_SILENCE_MS) has passed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { TaskResponse, TasksResponse } from '../../src/lib/protocol';
import { startCli, type CliRun } from '../helpers/cli';
import { freePort } from '../helpers/ports';
import { startAco, tempDir, type AcoProcess } from '../helpers/server';

async function getJson<T>(aco: AcoProcess, p: string): Promise<T> {
	return (await (await fetch(`${aco.url}/api/v1${p}`)).json()) as T;
}

/** the one task there is, once it has `lines` lines stored */
async function taskWithLines(aco: AcoProcess, lines: number): Promise<string> {
	let id = '';
	await expect
		.poll(
			async () => {
				const { tasks } = await getJson<TasksResponse>(aco, '/tasks?limit=1');
				if (!tasks[0]) return 0;
				id = tasks[0].id;
				const { task } = await getJson<TaskResponse>(aco, `/tasks/${id}`);
				return task.executions[0]?.line_count ?? 0;
			},
			{ timeout: 20_000, interval: 50 }
		)
		.toBeGreaterThanOrEqual(lines);
	return id;
}

/** lines 1–5, then (once `gate` exists) lines 6–20 */
function gatedScript(gate: string): string {
	return (
		'for i in 1 2 3 4 5; do echo line $i; done; ' +
		`while [ ! -f '${gate}' ]; do sleep 0.05; done; ` +
		'i=6; while [ $i -le 20 ]; do echo line $i; i=$((i+1)); done'
	);
}

const lines = (from: number, to: number) =>
	Array.from({ length: to - from + 1 }, (_, i) => `line ${from + i}\n`).join('');

describe('aco logs --follow while the server restarts under aco exec', () => {
	const servers: AcoProcess[] = [];
	const clis: CliRun[] = [];
	const gates: string[] = [];
	afterEach(async () => {
		// a command whose aco exec was killed waits at its gate: let it end
		for (const gate of gates.splice(0)) fs.writeFileSync(gate, '');
		for (const cli of clis.splice(0)) {
			const result = await Promise.race([cli.done, null]);
			if (result === null && cli.pid) process.kill(cli.pid, 'SIGKILL');
		}
		for (const server of servers.splice(0)) await server.stop();
	});

	/**
	 * A task of `aco exec` with 5 lines stored, followed; then the server restarts. `told`: the
	 * follower must say it waits (only where its wait cannot have run out before it reconnects)
	 */
	async function followAcrossRestart(
		followEnv: Record<string, string> = {},
		told = true,
		what: 'task' | 'execution' = 'task'
	) {
		const dataDir = tempDir();
		const port = await freePort();
		const url = `http://127.0.0.1:${port}`;
		const gate = path.join(tempDir('aco-gate-'), 'go');
		gates.push(gate);
		const first = await startAco({ dataDir, port });
		servers.push(first);
		// a heartbeat of a minute: the producer says nothing until its command prints again
		const exec = startCli(['exec', '--name', 'slow', '--', 'sh', '-c', gatedScript(gate)], {
			ACO_URL: url,
			ACO_SPOOL_DIR: tempDir('aco-spool-'),
			ACO_EXEC_HEARTBEAT_MS: '60000',
			ACO_EXEC_RETRY_MS: '60000'
		});
		clis.push(exec);
		const taskId = await taskWithLines(first, 5);
		const followed =
			what === 'task'
				? taskId
				: (await getJson<TaskResponse>(first, `/tasks/${taskId}`)).task.executions[0]!.id;
		const follow = startCli(['logs', followed, '--follow'], { ACO_URL: url, ...followEnv }, 60_000);
		clis.push(follow);
		await expect.poll(follow.stdout, { timeout: 20_000 }).toBe(lines(1, 5));

		await first.stop();
		await expect.poll(follow.stderr, { timeout: 20_000 }).toMatch(/lost the connection/);
		const second = await startAco({ dataDir, port });
		servers.push(second);
		const { task } = await getJson<TaskResponse>(second, `/tasks/${taskId}`);
		expect(task.status).toBe('interrupted');
		// the follower is back and has loaded the task as it is now: it says it waits
		if (told)
			await expect
				.poll(follow.stderr, { timeout: 20_000 })
				.toMatch(
					new RegExp(
						`aco: task ${taskId} was interrupted \\(the server restarted under it\\); waiting up to \\d+ s for its producer to resume it…\n$`
					)
				);
		return { second, exec, follow, gate, taskId };
	}

	it('follows the task on when its producer resumes it, to its real end, printing every line', async () => {
		const { second, exec, follow, gate, taskId } = await followAcrossRestart();
		fs.writeFileSync(gate, '');
		expect((await exec.done).code).toBe(0);
		const result = await follow.done;
		expect(result.stdout).toBe(lines(1, 20));
		expect(result.code).toBe(0);
		const { task } = await getJson<TaskResponse>(second, `/tasks/${taskId}`);
		expect(task.status).toBe('succeeded');
	});

	it('follows one of its executions on too: the resumed producer goes on writing to it and ends it', async () => {
		const { second, exec, follow, gate, taskId } = await followAcrossRestart({}, true, 'execution');
		const { task } = await getJson<TaskResponse>(second, `/tasks/${taskId}`);
		expect(task.executions[0]).toMatchObject({ status: 'interrupted' });
		fs.writeFileSync(gate, '');
		expect((await exec.done).code).toBe(0);
		const result = await follow.done;
		expect(result.stdout).toBe(lines(1, 20));
		expect(result.code).toBe(0);
		const { task: ended } = await getJson<TaskResponse>(second, `/tasks/${taskId}`);
		expect(ended.executions[0]).toMatchObject({ status: 'succeeded', line_count: 20 });
	});

	it('ends once the silence limit has passed when the producer never comes back', async () => {
		// the follower may reconnect after the 1.5 s have passed (a restart on a loaded machine):
		// then it ends at once, without a word of waiting; either way it ends
		const { second, exec, follow, taskId } = await followAcrossRestart(
			{ ACO_INGEST_SILENCE_MS: '1500' },
			false
		);
		// the producer and its command are gone for good
		process.kill(exec.pid!, 'SIGKILL');
		const result = await follow.done;
		expect(result.code).toBe(0);
		expect(result.stdout).toBe(lines(1, 5));
		const { task } = await getJson<TaskResponse>(second, `/tasks/${taskId}`);
		expect(task.status).toBe('interrupted');
	});
});
