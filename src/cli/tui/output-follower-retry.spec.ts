import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { makeExecution, makeLines, makeTask } from '../../lib/realtime/test-fixtures';
import { RestClient } from '../realtime/rest';
import { DashboardModel } from './model';
import { OutputFollower } from './output-follower';

const until = (check: () => void) => vi.waitFor(check, { timeout: 10_000, interval: 5 });
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
	for (const cleanup of cleanups.splice(0)) await cleanup();
});

/**
 * A REST server on port 0 playing the aco server for task `t1` with one finished execution `x1`:
 * GET …/tasks/t1 answers each of `taskAnswers` in turn (a proxy's error page), then the task.
 */
async function serve(taskAnswers: number[]) {
	const state = { taskAnswers, taskRequests: 0 };
	const lines = makeLines(1, 2);
	const execution = makeExecution({ id: 'x1', task_id: 't1', status: 'succeeded', line_count: lines.length });
	const server = http.createServer((req, res) => {
		const url = new URL(req.url!, 'http://x');
		res.setHeader('content-type', 'application/json');
		if (url.pathname === '/api/v1/tasks/t1') {
			state.taskRequests++;
			const status = state.taskAnswers.shift();
			if (status) {
				res.statusCode = status;
				res.setHeader('content-type', 'text/html');
				res.end('<html><body>Service Unavailable</body></html>');
			} else res.end(JSON.stringify({ task: { ...makeTask({ id: 't1' }), executions: [execution] } }));
		} else if (url.pathname === '/api/v1/executions/x1/log') {
			const after = Number(url.searchParams.get('after') ?? 0);
			res.end(
				lines
					.filter((l) => l.n > after)
					.map((l) => JSON.stringify(l) + '\n')
					.join('')
			);
		} else {
			res.statusCode = 404;
			res.end(JSON.stringify({ error: { code: 'not_found', message: req.url } }));
		}
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	cleanups.push(() => new Promise((resolve) => (server.closeAllConnections(), server.close(resolve))));
	const port = (server.address() as AddressInfo).port;
	return { state, url: `http://127.0.0.1:${port}` };
}

describe('OutputFollower against a failing server', () => {
	it('asks for the task again while the server fails (503), says so once, then shows its log', async () => {
		const { state, url } = await serve([503, 503]);
		const model = new DashboardModel();
		const task = makeTask({ id: 't1' });
		model.tasks = [task];
		model.selectedId = task.id;
		const errors: Array<string | null> = [];
		const follower = new OutputFollower({
			model,
			client: { subscribe: () => {} },
			rest: new RestClient({ url, token: 't' }),
			invalidate: () => {
				if (model.output?.error !== errors.at(-1)) errors.push(model.output?.error ?? null);
			},
			backoff: { baseMs: 5, capMs: 5 }
		});
		cleanups.push(async () => follower.destroy());
		follower.follow(task);
		await until(() => expect(model.output?.lines.map((l) => l.text)).toEqual(['line 1', 'line 2']));
		expect(state.taskRequests).toBe(3);
		expect(model.output?.error).toBeNull();
		// one notice for the outage, cleared once the server answered
		expect(errors.filter((e) => e !== null)).toEqual([expect.stringMatching(/HTTP 503.*Trying again…$/)]);
	});
});
