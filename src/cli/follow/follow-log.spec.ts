import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { LogLine } from '../../lib/protocol/models';
import { makeExecution, makeLines } from '../../lib/realtime/test-fixtures';
import { socketFactory } from '../../lib/realtime/test-socket';
import { followLog } from './follow-log';

/**
 * A REST server on port 0 playing the aco server for one running execution `x1` of task `t1`,
 * and the hub played by a fake socket. `logAnswers` are the statuses GET …/x1/log answers in
 * turn before it serves the stored lines, `executionAnswers` those of GET …/x1 before it serves
 * the execution; setup returns once the follower opened its socket (`opensSocket: false`: at
 * once). With `upgrade`, the client's socket is a real one and the server answers its
 * upgrade with that HTTP status (a proxy that does not pass WebSocket upgrades on).
 */
async function setup(
	logAnswers: number[],
	options: { executionAnswers?: number[]; upgrade?: number; opensSocket?: boolean } = {}
) {
	const state = {
		lines: makeLines(1, 3),
		logAnswers,
		logRequests: 0,
		executionAnswers: options.executionAnswers ?? [],
		upgrades: 0
	};
	const server = http.createServer((req, res) => {
		const url = new URL(req.url!, 'http://x');
		res.setHeader('content-type', 'application/json');
		const status = url.pathname === '/api/v1/executions/x1' ? state.executionAnswers.shift() : undefined;
		if (status) {
			res.statusCode = status;
			res.end(JSON.stringify({ error: { code: `http_${status}`, message: `HTTP ${status} for x1.` } }));
		} else if (url.pathname === '/api/v1/executions/x1') {
			const execution = makeExecution({ id: 'x1', task_id: 't1', line_count: state.lines.length });
			res.end(JSON.stringify({ execution }));
		} else if (url.pathname === '/api/v1/executions/x1/log') {
			state.logRequests++;
			const status = state.logAnswers.shift();
			if (status === 404) {
				res.statusCode = 404;
				res.end(JSON.stringify({ error: { code: 'not_found', message: 'No execution with id "x1".' } }));
			} else if (status) {
				// a proxy's error page while the server behind it restarts
				res.statusCode = status;
				res.setHeader('content-type', 'text/html');
				res.end('<html><body>Bad Gateway</body></html>');
			} else {
				const after = Number(url.searchParams.get('after') ?? 0);
				res.end(ndjsonAfter(state.lines, after));
			}
		} else {
			res.statusCode = 404;
			res.end(JSON.stringify({ error: { code: 'not_found', message: req.url } }));
		}
	});
	server.on('upgrade', (_req, socket) => {
		// a client that goes away while refused resets the socket: no error to throw
		socket.on('error', () => {});
		state.upgrades++;
		socket.end(
			`HTTP/1.1 ${options.upgrade} ${http.STATUS_CODES[options.upgrade!]}\r\nConnection: close\r\n\r\n`
		);
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	cleanups.push(() => new Promise((resolve) => (server.closeAllConnections(), server.close(resolve))));
	const factory = socketFactory();
	const port = (server.address() as AddressInfo).port;
	let printed = '';
	let errors = '';
	let code: number | null = null;
	const exit = followLog({
		url: `http://127.0.0.1:${port}`,
		token: 't',
		executionId: 'x1',
		out: { write: (chunk: string) => (printed += chunk) },
		err: { write: (chunk: string) => (errors += chunk) },
		client: {
			...(options.upgrade ? {} : { createSocket: factory.create }),
			backoff: { baseMs: 5, capMs: 5 }
		},
		gapRetryDelayMs: 1
	}).then((c) => (code = c));
	// the follower asks for the execution before it opens the socket
	if (!options.upgrade && options.opensSocket !== false) {
		await until(() => expect(factory.sockets).toHaveLength(1));
	}
	let seq = 0;
	const hub = {
		/** the hub's welcome and its answer to the subscription, which makes the follower load over REST */
		connect() {
			factory.last.open();
			factory.last.welcome({ seq: 0 });
			factory.last.receive({ type: 'subscribed', timestamp: '', data: { id: 'follow-log', filter: {} } });
		},
		output(n: number) {
			factory.last.event({
				type: 'tool.output',
				seq: ++seq,
				data: {
					task_id: 't1',
					run_id: null,
					execution_id: 'x1',
					line: n,
					output: `line ${n}`,
					is_stderr: false,
					timestamp: '2030-01-01T00:00:00.000Z'
				}
			});
		},
		completed() {
			const execution = makeExecution({ id: 'x1', task_id: 't1', status: 'succeeded', exit_code: 0 });
			factory.last.event({
				type: 'tool.completed',
				seq: ++seq,
				data: {
					task_id: 't1',
					run_id: null,
					execution_id: 'x1',
					exit_code: 0,
					duration_ms: 5,
					line_count: state.lines.length,
					execution: { ...execution, line_count: state.lines.length }
				}
			});
		}
	};
	return { state, hub, exit, port, code: () => code, printed: () => printed, errors: () => errors };
}

function ndjsonAfter(lines: LogLine[], after: number): string {
	return lines
		.filter((l) => l.n > after)
		.map((l) => JSON.stringify(l) + '\n')
		.join('');
}

const cleanups: Array<() => Promise<unknown>> = [];
const until = (check: () => void) => vi.waitFor(check, { timeout: 10_000, interval: 5 });
afterEach(async () => {
	for (const cleanup of cleanups.splice(0)) await cleanup();
});

describe('followLog', () => {
	it('ends at once with exit code 1 and the server’s message when the log it follows is gone (404)', async () => {
		const { state, hub, code, printed, errors } = await setup([404, 404, 404, 404]);
		hub.connect();
		// the tool is still running: the follow ends without waiting for its completion
		await until(() => expect(code()).toBe(1));
		expect(errors()).toBe('aco: No execution with id "x1".\n');
		expect(printed()).toBe('');
		expect(state.logRequests).toBe(1);
	});

	it('asks a failing server (502) again after a back-off, says so once, and prints the log whole', async () => {
		const { state, hub, exit, printed, errors } = await setup([502, 502, 502]);
		hub.connect();
		await until(() => expect(state.logAnswers).toEqual([]));
		await until(() => expect(printed()).toBe('line 1\nline 2\nline 3\n'));
		state.lines.push(...makeLines(4, 4));
		hub.output(4);
		hub.completed();
		expect(await exit).toBe(0);
		expect(printed()).toBe('line 1\nline 2\nline 3\nline 4\n');
		expect(errors().split('\n')).toEqual([
			expect.stringMatching(
				/^aco: fetching the log of x1 failed, trying again with back-off: GET http:.*\/log\?format=ndjson failed with HTTP 502\.$/
			),
			''
		]);
	});

	it('ends with exit code 1, naming the URL, when the server answers the WebSocket upgrade with 404', async () => {
		const { state, code, port, printed, errors } = await setup([], { upgrade: 404 });
		await until(() => expect(code()).toBe(1));
		expect(errors()).toBe(`aco: no aco WebSocket at ws://127.0.0.1:${port}/ws (HTTP 404): check --url\n`);
		expect(state.upgrades).toBe(1);
		expect(printed()).toBe('');
	});

	it('asks for the execution again while the server fails (5xx), with one notice, then follows it', async () => {
		const { state, hub, exit, printed, errors } = await setup([], { executionAnswers: [502, 503, 504] });
		// the socket opens once the execution has loaded
		expect(state.executionAnswers).toEqual([]);
		hub.connect();
		await until(() => expect(printed()).toBe('line 1\nline 2\nline 3\n'));
		hub.completed();
		expect(await exit).toBe(0);
		expect(errors()).toBe(
			'aco: fetching execution x1 failed, trying again with back-off: HTTP 502 for x1.\n'
		);
	});

	it('asks again when the reload after (re)connecting meets a failing server (502), then follows on', async () => {
		const { state, hub, exit, printed, errors } = await setup([]);
		state.executionAnswers.push(502, 502);
		hub.connect();
		await until(() => expect(printed()).toBe('line 1\nline 2\nline 3\n'));
		expect(state.executionAnswers).toEqual([]);
		hub.completed();
		expect(await exit).toBe(0);
		expect(errors()).toBe(
			'aco: fetching execution x1 failed, trying again with back-off: HTTP 502 for x1.\n'
		);
	});

	it('still ends at once when the execution is not there (404), asking once', async () => {
		const { state, exit, errors } = await setup([], { executionAnswers: [404, 404], opensSocket: false });
		expect(await exit).toBe(1);
		expect(errors()).toBe('aco: HTTP 404 for x1.\n');
		expect(state.executionAnswers).toEqual([404]);
	});
});
