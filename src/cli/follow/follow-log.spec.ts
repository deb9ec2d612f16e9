import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { toOutputLine } from '../../lib/protocol/events';
import { PROTOCOL_VERSION } from '../../lib/protocol/limits';
import type { Execution, LogLine } from '../../lib/protocol/models';
import { makeExecution, makeLines, makeTask } from '../../lib/realtime/test-fixtures';
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
	options: {
		executionAnswers?: number[];
		upgrade?: number;
		opensSocket?: boolean;
		retryBudgetMs?: number;
		reconnectBudgetMs?: number;
	} = {}
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
	/** each write to `out`, to see a multi-line event printed in one */
	const writes: string[] = [];
	let errors = '';
	let code: number | null = null;
	const exit = followLog({
		url: `http://127.0.0.1:${port}`,
		token: 't',
		executionId: 'x1',
		out: { write: (chunk: string) => (writes.push(chunk), (printed += chunk)) },
		err: { write: (chunk: string) => (errors += chunk) },
		client: {
			...(options.upgrade ? {} : { createSocket: factory.create }),
			backoff: { baseMs: 5, capMs: 5 }
		},
		gapRetryDelayMs: 1,
		retryBudgetMs: options.retryBudgetMs,
		reconnectBudgetMs: options.reconnectBudgetMs
	}).then((c) => (code = c));
	// the follower asks for the execution before it opens the socket
	if (!options.upgrade && options.opensSocket !== false) {
		await until(() => expect(factory.sockets).toHaveLength(1));
	}
	let seq = 0;
	const hub = {
		/**
		 * the hub's welcome and its answer to the subscription, which makes the follower load over
		 * REST; `protocol`: the version the hub speaks
		 */
		connect(protocol = PROTOCOL_VERSION) {
			factory.last.open();
			factory.last.welcome({ seq: 0, protocol });
			factory.last.receive({ type: 'subscribed', timestamp: '', data: { id: 'follow-log', filter: {} } });
		},
		/** the connection drops; the sockets the client opens to reconnect never open */
		drop() {
			factory.last.serverClose(1006);
		},
		/** one `tool.lines` event with lines `from` to `to` (`line n`), as one read of the tool's pipes */
		output(from: number, to = from) {
			factory.last.event({
				type: 'tool.lines',
				seq: ++seq,
				data: {
					task_id: 't1',
					run_id: null,
					execution_id: 'x1',
					lines: makeLines(from, to).map(toOutputLine)
				}
			});
		},
		/** the tool's completion, with `lineCount` lines (by default, as many as are stored) */
		completed(lineCount = state.lines.at(-1)?.n ?? 0) {
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
					line_count: lineCount,
					execution: { ...execution, line_count: lineCount }
				}
			});
		}
	};
	return {
		state,
		hub,
		exit,
		port,
		code: () => code,
		printed: () => printed,
		writes,
		errors: () => errors
	};
}

/**
 * A REST server on port 0 playing the aco server for a running task `t1` whose steps are `x1`
 * (step 0) and `x2` (step 1), each with the lines stored in `state.lines` (a step with none has
 * not started yet); the hub played by a fake socket. While `state.hold` is set, GET /tasks/t1
 * reads the task when asked and answers once the test calls `state.release()`. `stored` are the
 * lines of each step when the follower first loads the task; setup returns once it has and has
 * opened its socket.
 */
async function setupTask(stored: { x1?: string[]; x2?: string[]; done?: string[] } = {}) {
	const state = {
		lines: new Map<string, LogLine[]>([
			['x1', numbered(stored.x1 ?? [])],
			['x2', numbered(stored.x2 ?? [])]
		]),
		done: new Set<string>(stored.done),
		taskDone: false,
		hold: false,
		/** a GET /tasks/t1 waits for this */
		waiting: false,
		release: () => {}
	};
	const executions = (): Execution[] =>
		['x1', 'x2']
			.filter((id) => state.lines.get(id)!.length > 0)
			.map((id, step) =>
				makeExecution({
					id,
					task_id: 't1',
					step,
					status: state.done.has(id) ? 'succeeded' : 'running',
					line_count: state.lines.get(id)!.length
				})
			);
	const server = http.createServer(async (req, res) => {
		const url = new URL(req.url!, 'http://x');
		res.setHeader('content-type', 'application/json');
		const log = /^\/api\/v1\/executions\/(x[12])\/log$/.exec(url.pathname);
		if (url.pathname === '/api/v1/tasks/t1') {
			// the snapshot as it is when asked, answered when the test lets it go
			const task = {
				...makeTask({ id: 't1', status: state.taskDone ? 'succeeded' : 'running' }),
				executions: executions()
			};
			if (state.hold) {
				state.waiting = true;
				await new Promise<void>((resolve) => (state.release = resolve));
				state.waiting = false;
			}
			res.end(JSON.stringify({ task }));
		} else if (log) {
			res.end(ndjsonAfter(state.lines.get(log[1])!, Number(url.searchParams.get('after') ?? 0)));
		} else {
			res.statusCode = 404;
			res.end(JSON.stringify({ error: { code: 'not_found', message: req.url } }));
		}
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	cleanups.push(
		() => new Promise((resolve) => (state.release(), server.closeAllConnections(), server.close(resolve)))
	);
	const factory = socketFactory();
	let printed = '';
	const exit = followLog({
		url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
		token: 't',
		taskId: 't1',
		out: { write: (chunk: string) => (printed += chunk) },
		err: { write: () => {} },
		client: { createSocket: factory.create, backoff: { baseMs: 5, capMs: 5 } },
		gapRetryDelayMs: 1
	});
	await until(() => expect(factory.sockets).toHaveLength(1));
	let seq = 0;
	const hub = {
		factory,
		connect() {
			factory.last.open();
			factory.last.welcome({ seq: 0, protocol: PROTOCOL_VERSION });
			factory.last.receive({ type: 'subscribed', timestamp: '', data: { id: 'follow-log', filter: {} } });
		},
		/**
		 * the connection drops and comes back; the hub cannot replay the gap (a laptop asleep too
		 * long): it sends what `meanwhile` sends while the resume is unanswered, then `reset`
		 */
		async reset(meanwhile: () => void) {
			factory.last.serverClose(1006);
			await until(() => expect(factory.sockets).toHaveLength(2));
			factory.last.open();
			factory.last.welcome({ seq: 100, protocol: PROTOCOL_VERSION });
			seq = 100;
			meanwhile();
			factory.last.reset({ seq: 100 });
		},
		/** a line the tool printed: stored, and sent live when `live` */
		print(executionId: string, text: string, live = true) {
			const lines = state.lines.get(executionId)!;
			const [line] = numbered([text], lines.length);
			lines.push(line);
			if (!live) return;
			factory.last.event({
				type: 'tool.lines',
				seq: ++seq,
				data: { task_id: 't1', run_id: null, execution_id: executionId, lines: [toOutputLine(line)] }
			});
		},
		/** the task's last step ends, then the task */
		taskEnds() {
			for (const id of ['x1', 'x2']) state.done.add(id);
			state.taskDone = true;
			const task = makeTask({ id: 't1', status: 'succeeded' });
			factory.last.event({
				type: 'task.completed',
				seq: ++seq,
				data: { task_id: 't1', run_id: null, status: 'succeeded', duration_ms: 5, task }
			});
		}
	};
	return { state, hub, exit, printed: () => printed };
}

/** `texts` as stored lines numbered from `after + 1` */
function numbered(texts: string[], after = 0): LogLine[] {
	return texts.map((text, i) => ({ ...makeLines(after + i + 1, after + i + 1)[0], text }));
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

	it('prints every line of a multi-line event in order, in one write', async () => {
		const { state, hub, exit, printed, writes, errors } = await setup([]);
		hub.connect();
		await until(() => expect(printed()).toBe('line 1\nline 2\nline 3\n'));
		// the backlog and the reload after connecting have asked: only the event brings what follows
		await until(() => expect(state.logRequests).toBe(2));
		const before = writes.length;
		state.lines.push(...makeLines(4, 8));
		hub.output(4, 8);
		await until(() => expect(printed()).toContain('line 8'));
		expect(writes.slice(before)).toEqual(['line 4\nline 5\nline 6\nline 7\nline 8\n']);
		hub.completed();
		expect(await exit).toBe(0);
		expect(printed()).toBe(
			makeLines(1, 8)
				.map((l) => `${l.text}\n`)
				.join('')
		);
		expect(errors()).toBe('');
	});

	it('says once that a server older than protocol 3 streams lines it does not read, and prints the log as the step ends', async () => {
		const { state, hub, exit, printed, errors } = await setup([]);
		hub.connect(2);
		await until(() => expect(printed()).toBe('line 1\nline 2\nline 3\n'));
		// a version 2 hub sends `tool.output`: not read, so the lines come with the step's end
		state.lines.push(...makeLines(4, 5));
		hub.completed();
		expect(await exit).toBe(0);
		expect(printed()).toBe('line 1\nline 2\nline 3\nline 4\nline 5\n');
		expect(errors()).toBe(
			`aco: the server speaks realtime protocol 2, this aco ${PROTOCOL_VERSION}: its live lines are not read here, so output prints as each step ends (update the server)\n`
		);
	});

	it('fetches the lines of an event dropped between two others over REST, and prints all in order', async () => {
		const { state, hub, exit, printed, errors } = await setup([]);
		hub.connect();
		await until(() => expect(printed()).toBe('line 1\nline 2\nline 3\n'));
		// the backlog and the reload after connecting have asked: what follows comes by the events
		await until(() => expect(state.logRequests).toBe(2));
		state.lines.push(...makeLines(4, 9));
		hub.output(4, 5);
		// the event with 6–7 was dropped under backpressure; the store has them
		hub.output(8, 9);
		// 9 prints only after 6–7, which only REST has: fetched for the hole, before any completion
		await until(() => expect(printed()).toContain('line 9'));
		hub.completed();
		expect(await exit).toBe(0);
		expect(printed()).toBe(
			makeLines(1, 9)
				.map((l) => `${l.text}\n`)
				.join('')
		);
		expect(errors()).toBe('');
	});

	it('waits, saying so, for lines the stream went past while the store lags, and prints every line in order', async () => {
		const { state, hub, exit, printed, errors } = await setup([]);
		hub.connect();
		await until(() => expect(printed()).toBe('line 1\nline 2\nline 3\n'));
		// lines 4–5 went by unseen (dropped); 6–7 come live, and the store has none of them yet
		hub.output(6);
		hub.output(7);
		await until(() => expect(errors()).toContain('not stored yet'));
		state.lines.push(...makeLines(4, 7));
		await until(() => expect(printed()).toContain('line 7'));
		hub.completed();
		expect(await exit).toBe(0);
		expect(printed()).toBe(
			makeLines(1, 7)
				.map((l) => `${l.text}\n`)
				.join('')
		);
		expect(errors()).toBe('aco: Lines 4–5 of x1 are not stored yet. Asking again with back-off…\n');
	});

	it('ends with exit code 1, naming them, when lines it went on without were never stored', async () => {
		const { state, hub, exit, printed, errors } = await setup([], { retryBudgetMs: 30 });
		hub.connect();
		await until(() => expect(printed()).toBe('line 1\nline 2\nline 3\n'));
		// lines 4–5 went by unseen (dropped) and the store never gets them; 6 comes live and is stored
		hub.output(6);
		await until(() => expect(errors()).toContain('skipped here'));
		state.lines.push(...makeLines(6, 6));
		hub.completed();
		expect(await exit).toBe(1);
		expect(printed()).toBe('line 1\nline 2\nline 3\nline 6\n');
		expect(errors().split('\n').at(-2)).toBe(
			'aco: lines 4–5 of x1 were never stored: the log printed above lacks them'
		);
	});

	it('ends with exit code 1, naming them, when its last lines were never stored', async () => {
		const { hub, exit, printed, errors } = await setup([], { retryBudgetMs: 30 });
		hub.connect();
		await until(() => expect(printed()).toBe('line 1\nline 2\nline 3\n'));
		// the tool printed 5 lines; 4–5 went by unseen, and the store never gets them
		hub.completed(5);
		expect(await exit).toBe(1);
		expect(printed()).toBe('line 1\nline 2\nline 3\n');
		expect(errors().split('\n').at(-2)).toBe(
			'aco: lines 4–5 of x1 were never stored: the log printed above lacks them'
		);
	});

	it('ends with exit code 1, naming the URL, when the server answers the WebSocket upgrade with 404', async () => {
		const { state, code, port, printed, errors } = await setup([], { upgrade: 404 });
		await until(() => expect(code()).toBe(1));
		expect(errors()).toBe(`aco: no aco WebSocket at ws://127.0.0.1:${port}/ws (HTTP 404): check --url\n`);
		expect(state.upgrades).toBe(1);
		expect(printed()).toBe('');
	});

	it('gives up with exit code 1 and one line naming the hub when no connection comes back within the budget', async () => {
		const { hub, code, port, printed, errors } = await setup([], { reconnectBudgetMs: 300 });
		hub.connect();
		await until(() => expect(printed()).toBe('line 1\nline 2\nline 3\n'));
		hub.drop();
		await until(() => expect(code()).toBe(1));
		expect(errors()).toBe(
			'aco: lost the connection to the server; reconnecting…\n' +
				`aco: no connection to the aco server at ws://127.0.0.1:${port}/ws for 0.3 s; giving up (is it running? check --url or ACO_URL).\n`
		);
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
		await until(() => expect(state.executionAnswers).toEqual([]));
		await until(() => expect(printed()).toBe('line 1\nline 2\nline 3\n'));
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

	it("prints a task's steps in order when a later step's live line comes before the reload after connecting", async () => {
		// the task is on step 2 when the follower loads it
		const { state, hub, exit, printed } = await setupTask({
			x1: ['step1 a', 'step1 b'],
			x2: ['step2 a'],
			done: ['x1']
		});
		state.hold = true;
		hub.connect();
		await until(() => expect(state.waiting).toBe(true));
		// step 2 prints while the reload after connecting is on its way (a slow round trip)
		hub.print('x2', 'step2 b');
		state.hold = false;
		state.release();
		await until(() => expect(printed()).toContain('step2 b'));
		hub.taskEnds();
		expect(await exit).toBe(0);
		expect(printed()).toBe('step1 a\nstep1 b\nstep2 a\nstep2 b\n');
	});

	it("prints a step that started while the socket opened after the earlier step's last lines", async () => {
		// first loaded: step 1 running with one line; before the subscription is live, it prints
		// another and ends, and step 2 starts
		const { state, hub, exit, printed } = await setupTask({ x1: ['step1 a'] });
		hub.print('x1', 'step1 b', false);
		state.done.add('x1');
		hub.print('x2', 'step2 a', false);
		state.hold = true;
		hub.connect();
		await until(() => expect(state.waiting).toBe(true));
		hub.print('x2', 'step2 b');
		state.hold = false;
		state.release();
		await until(() => expect(printed()).toContain('step2 b'));
		hub.taskEnds();
		expect(await exit).toBe(0);
		expect(printed()).toBe('step1 a\nstep1 b\nstep2 a\nstep2 b\n');
	});

	it('prints the rest of a step before the next step after a reset (the hub could not replay the gap)', async () => {
		const { state, hub, exit, printed } = await setupTask({ x1: ['step1 a'] });
		hub.connect();
		await until(() => expect(printed()).toBe('step1 a\n'));
		// asleep: step 1 prints on and ends, step 2 starts, and none of it comes live
		hub.print('x1', 'step1 b', false);
		state.done.add('x1');
		hub.print('x2', 'step2 a', false);
		state.hold = true;
		// step 2's next line comes while the resume is unanswered: the reset hands it on before the
		// follower reloads the task
		await hub.reset(() => hub.print('x2', 'step2 b'));
		await until(() => expect(state.waiting).toBe(true));
		state.hold = false;
		state.release();
		await until(() => expect(printed()).toContain('step2 b'));
		hub.taskEnds();
		expect(await exit).toBe(0);
		expect(printed()).toBe('step1 a\nstep1 b\nstep2 a\nstep2 b\n');
	});
});
