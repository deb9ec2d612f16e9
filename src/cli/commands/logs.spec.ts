import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { makeExecution, makeLines, makeTask, ndjson } from '../../lib/realtime/test-fixtures';
import { logs } from './logs';

/**
 * A REST server on port 0 playing the aco server for a finished task `task_1` of two steps
 * (Compile, Test). `taskAnswers` are the statuses GET …/tasks/task_1 answers in turn before it
 * serves the task.
 */
async function setup(taskAnswers: number[]) {
	const state = { taskAnswers, taskRequests: 0 };
	const compile = makeExecution({
		id: 'x1',
		task_id: 'task_1',
		step: 0,
		name: 'Compile',
		status: 'succeeded'
	});
	const test = makeExecution({
		id: 'x2',
		task_id: 'task_1',
		step: 1,
		name: 'Test',
		status: 'succeeded',
		exit_code: 0,
		line_count: 2
	});
	const task = {
		...makeTask({ id: 'task_1', status: 'succeeded', step_count: 2 }),
		executions: [compile, test]
	};
	const server = http.createServer((req, res) => {
		const url = new URL(req.url!, 'http://x');
		res.setHeader('content-type', 'application/json');
		if (url.pathname === '/api/v1/tasks/task_1') {
			state.taskRequests++;
			const status = state.taskAnswers.shift();
			if (status) {
				res.statusCode = status;
				res.end(JSON.stringify({ error: { code: `http_${status}`, message: `HTTP ${status} for task_1.` } }));
			} else res.end(JSON.stringify({ task }));
		} else if (url.pathname === '/api/v1/executions/x2') {
			res.end(JSON.stringify({ execution: test }));
		} else if (url.pathname === '/api/v1/executions/x2/log') {
			res.end(ndjson(makeLines(1, 2)));
		} else {
			res.statusCode = 404;
			res.end(JSON.stringify({ error: { code: 'not_found', message: req.url } }));
		}
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	cleanups.push(() => new Promise((resolve) => (server.closeAllConnections(), server.close(resolve))));
	const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
	return { state, url };
}

/** What the command writes to stdout and stderr, kept instead of shown. */
function captured() {
	const seen = { out: '', err: '' };
	const keep = (key: 'out' | 'err') => (chunk: string | Uint8Array) => {
		seen[key] += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
		return true;
	};
	vi.spyOn(process.stdout, 'write').mockImplementation(keep('out') as typeof process.stdout.write);
	vi.spyOn(process.stderr, 'write').mockImplementation(keep('err') as typeof process.stderr.write);
	return seen;
}

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
	vi.restoreAllMocks();
	for (const cleanup of cleanups.splice(0)) await cleanup();
});

describe('aco logs --follow --step', () => {
	it('asks for the task again while the server fails (502, 503), says so once, then follows the step', async () => {
		const { state, url } = await setup([502, 503]);
		const seen = captured();
		const code = await logs(['task_1', '--follow', '--step', 'Test', '--url', url, '--token', 't']);
		vi.restoreAllMocks();
		expect(code).toBe(0);
		expect(seen.out).toBe('line 1\nline 2\n');
		expect(seen.err).toBe(
			'aco: fetching task task_1 failed, trying again with back-off: HTTP 502 for task_1.\n'
		);
		expect(state.taskRequests).toBe(3);
	});

	it('still ends at once when the task is not there (404), asking once', async () => {
		const { state, url } = await setup([404, 404]);
		const seen = captured();
		await expect(
			logs(['task_1', '--follow', '--step', 'Test', '--url', url, '--token', 't'])
		).rejects.toMatchObject({ status: 404, message: 'HTTP 404 for task_1.' });
		vi.restoreAllMocks();
		expect(seen.out + seen.err).toBe('');
		expect(state.taskRequests).toBe(1);
	});
});

describe('aco logs <execution>', () => {
	/** a server whose log download of `x1` sends `sent` bytes of `length`, then drops the connection */
	async function droppingServer(sent: number, length: number) {
		const server = http.createServer((_req, res) => {
			res.setHeader('content-type', 'text/plain');
			res.setHeader('content-length', String(length));
			res.write('z'.repeat(sent), () => res.destroy());
		});
		await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
		cleanups.push(() => new Promise((resolve) => (server.closeAllConnections(), server.close(resolve))));
		return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
	}

	it('says the download was cut off, where and after how much, when the server drops mid-log', async () => {
		const url = await droppingServer(5_000, 100_000);
		const seen = captured();
		const err = await logs(['x1', '--url', url]).catch((e: Error) => e);
		vi.restoreAllMocks();
		expect(err).toMatchObject({ exitCode: 1 });
		expect((err as Error).message).toMatch(
			new RegExp(
				`^the download from ${url}/api/v1/executions/x1/log was cut off after \\d+ bytes \\(.+\\)\\.$`
			)
		);
		const bytes = Number(/after (\d+) bytes/.exec((err as Error).message)![1]);
		expect(seen.out).toBe('z'.repeat(bytes));
	});
});
