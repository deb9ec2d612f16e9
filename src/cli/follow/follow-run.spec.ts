import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { toOutputLine } from '../../lib/protocol/events';
import { PROTOCOL_VERSION } from '../../lib/protocol/limits';
import type { LogLine, Task, TaskStatus, WorkflowRun } from '../../lib/protocol/models';
import { makeExecution, makeRun, makeTask } from '../../lib/realtime/test-fixtures';
import { socketFactory } from '../../lib/realtime/test-socket';
import { followRun } from './follow-run';

/**
 * A REST server on port 0 playing the aco server for one run `r1` with one task `t1`, and the
 * hub played by a fake socket. `runAnswers` are served to GET /runs/r1 in turn (the last one
 * again and again); an answer can be held back until the test lets it go. `runFailures` are
 * HTTP statuses (a proxy's error page) GET /runs/r1 answers first, in turn. The task's first
 * step `x1` has the stored `lines`, its second `x2` the stored `step2` (none: not started).
 * `logStatus`, when set, is what GET …/x1/log answers instead of the lines. With `upgrade`, the client's socket
 * is a real one and the server answers its upgrade with that HTTP status.
 */
async function setup(options: { upgrade?: number; retryBudgetMs?: number; reconnectBudgetMs?: number } = {}) {
	const state = {
		runAnswers: [] as Array<() => Promise<{ run: WorkflowRun; tasks: Task[] }>>,
		runFailures: [] as number[],
		task: makeTask({ id: 't1', run_id: 'r1', key: 'build', name: 'build' }),
		lines: [] as LogLine[],
		step2: [] as LogLine[],
		logStatus: null as number | null,
		logRequests: 0,
		upgrades: 0
	};
	const server = http.createServer(async (req, res) => {
		const url = new URL(req.url!, 'http://x');
		let body: unknown;
		const failure = url.pathname === '/api/v1/runs/r1' ? state.runFailures.shift() : undefined;
		if (failure) {
			res.statusCode = failure;
			res.setHeader('content-type', 'text/html');
			res.end('<html><body>Bad Gateway</body></html>');
			return;
		} else if (url.pathname === '/api/v1/runs/r1') {
			body = await (state.runAnswers.length > 1 ? state.runAnswers.shift()! : state.runAnswers[0])();
		} else if (url.pathname === '/api/v1/tasks/t1') {
			const executions = [
				{ id: 'x1', task_id: 't1', step: 0, line_count: state.lines.at(-1)?.n ?? 0 },
				{ id: 'x2', task_id: 't1', step: 1, line_count: state.step2.at(-1)?.n ?? 0 }
			].filter((execution) => execution.line_count > 0);
			body = { task: { ...state.task, executions } };
		} else if (url.pathname === '/api/v1/executions/x1/log' && state.logStatus) {
			state.logRequests++;
			res.statusCode = state.logStatus;
			body = { error: { code: 'not_found', message: 'No execution with id "x1".' } };
		} else if (/^\/api\/v1\/executions\/x[12]\/log$/.test(url.pathname)) {
			state.logRequests++;
			const after = Number(url.searchParams.get('after') ?? 0);
			res.end(
				(url.pathname.includes('x2') ? state.step2 : state.lines)
					.filter((l) => l.n > after)
					.map((l) => JSON.stringify(l) + '\n')
					.join('')
			);
			return;
		} else {
			res.statusCode = 404;
		}
		res.setHeader('content-type', 'application/json');
		res.end(JSON.stringify(body ?? { error: { code: 'not_found', message: req.url } }));
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
	const factory = socketFactory();
	const port = (server.address() as AddressInfo).port;
	let printed = '';
	let errors = '';
	const exit = followRun({
		url: `http://127.0.0.1:${port}`,
		token: 't',
		runId: 'r1',
		out: { write: (chunk: string) => (printed += chunk) },
		err: { write: (chunk: string) => (errors += chunk) },
		client: {
			...(options.upgrade ? {} : { createSocket: factory.create }),
			backoff: { baseMs: 5, capMs: 5 }
		},
		gapRetryDelayMs: 1,
		retryBudgetMs: options.retryBudgetMs,
		reconnectBudgetMs: options.reconnectBudgetMs
	});
	cleanups.push(() => new Promise((resolve) => (server.closeAllConnections(), server.close(resolve))));
	let seq = 0;
	const hub = {
		/** the hub's events go on after `n` (a new connection's welcome named it) */
		continueFrom(n: number) {
			seq = n;
		},
		/** the hub's welcome and its answer to the subscription, which makes the follower load over REST */
		connect() {
			factory.last.open();
			factory.last.welcome({ seq: 0, protocol: PROTOCOL_VERSION });
			factory.last.receive({ type: 'subscribed', timestamp: '', data: { id: 'follow-run', filter: {} } });
		},
		task(type: 'task.status' | 'task.completed', status: TaskStatus) {
			const task = (state.task = { ...state.task, status });
			factory.last.event({
				type,
				seq: ++seq,
				data: { task_id: 't1', run_id: 'r1', status, message: null, task }
			});
		},
		/**
		 * lines of the task's first step (`x2`: of its second), sent live as one `tool.lines` event;
		 * stored first unless `store` is false (the store lags)
		 */
		output(lines: LogLine | LogLine[], executionId: 'x1' | 'x2' = 'x1', store = true) {
			const sent = [lines].flat();
			if (store) (executionId === 'x1' ? state.lines : state.step2).push(...sent);
			factory.last.event({
				type: 'tool.lines',
				seq: ++seq,
				data: {
					task_id: 't1',
					run_id: 'r1',
					execution_id: executionId,
					lines: sent.map(toOutputLine)
				}
			});
		},
		/** the task's first step starts */
		started() {
			const execution = makeExecution({ id: 'x1', task_id: 't1', step: 0, line_count: 0 });
			factory.last.event({
				type: 'tool.started',
				seq: ++seq,
				data: { task_id: 't1', run_id: 'r1', execution_id: 'x1', execution }
			});
		},
		runEnds() {
			const run = makeRun({ id: 'r1', status: 'succeeded' });
			state.runAnswers = [async () => ({ run, tasks: [state.task] })];
			factory.last.event({
				type: 'workflow.completed',
				seq: ++seq,
				data: { run_id: 'r1', workflow: 'demo', status: 'succeeded', duration_ms: null, run }
			});
		}
	};
	let code: number | null = null;
	void exit.then((c) => (code = c));
	return { state, hub, factory, exit, port, code: () => code, printed: () => printed, errors: () => errors };
}

const cleanups: Array<() => Promise<unknown>> = [];
const until = (check: () => void) => vi.waitFor(check, { timeout: 10_000, interval: 5 });
afterEach(async () => {
	for (const cleanup of cleanups.splice(0)) await cleanup();
});

describe('followRun', () => {
	it('does not print a task as started again when a snapshot read before its completion arrives after it', async () => {
		const { state, hub, exit, printed } = await setup();
		let release = () => {};
		let asked = false;
		const stale = { run: makeRun({ id: 'r1' }), tasks: [{ ...state.task, status: 'running' as const }] };
		const current = async () => ({ run: makeRun({ id: 'r1' }), tasks: [state.task] });
		state.runAnswers = [
			() => ((asked = true), new Promise((resolve) => (release = () => resolve(stale)))),
			current,
			current
		];
		hub.connect();
		await until(() => expect(asked).toBe(true));
		hub.task('task.status', 'running');
		hub.task('task.completed', 'succeeded');
		release();
		// the reload goes on to ask for the run again once it has shown the stale snapshot
		await until(() => expect(state.runAnswers).toHaveLength(1));
		hub.runEnds();
		expect(await exit).toBe(0);
		expect(printed()).toBe('▶ build started\n✔ succeeded build\n✔ Run demo succeeded\n');
	});

	it('prints a task started again when it is sent back to the queue for a retry', async () => {
		const { state, hub, exit, printed } = await setup();
		state.runAnswers = [async () => ({ run: makeRun({ id: 'r1' }), tasks: [state.task] })];
		hub.connect();
		hub.task('task.status', 'running');
		hub.task('task.status', 'queued');
		hub.task('task.status', 'running');
		hub.task('task.completed', 'succeeded');
		await until(() => expect(printed()).toContain('succeeded build'));
		hub.runEnds();
		expect(await exit).toBe(0);
		expect(printed()).toBe('▶ build started\n▶ build started\n✔ succeeded build\n✔ Run demo succeeded\n');
	});

	it('prints a partial line and its rest as one line', async () => {
		const { state, hub, exit, printed } = await setup();
		state.runAnswers = [async () => ({ run: makeRun({ id: 'r1' }), tasks: [state.task] })];
		hub.connect();
		hub.task('task.status', 'running');
		const ts = '2030-01-01T00:00:00.000Z';
		hub.output({ n: 1, stream: 'stdout', ts, text: 'downloading… ', partial: true });
		hub.output({ n: 2, stream: 'stdout', ts, text: 'done' });
		hub.output({ n: 3, stream: 'stdout', ts, text: 'next' });
		await until(() => expect(printed()).toContain('next'));
		hub.runEnds();
		expect(await exit).toBe(0);
		expect(printed()).toBe(
			'▶ build started\n[build] downloading… done\n[build] next\n✔ Run demo succeeded\n'
		);
	});

	it('prints every line of a multi-line event with its prefix, in order', async () => {
		const { state, hub, exit, printed, errors } = await setup();
		state.runAnswers = [async () => ({ run: makeRun({ id: 'r1' }), tasks: [state.task] })];
		hub.connect();
		hub.task('task.status', 'running');
		hub.started();
		const ts = '2030-01-01T00:00:00.000Z';
		const lines: LogLine[] = [
			{ n: 1, stream: 'stdout', ts, text: 'compiling a' },
			{ n: 2, stream: 'stderr', ts, text: 'warning: b' },
			{ n: 3, stream: 'stdout', ts, text: 'linking… ', partial: true },
			{ n: 4, stream: 'stdout', ts, text: 'done' },
			{ n: 5, stream: 'stdout', ts, text: 'tests passed' }
		];
		// two reads of the tool's pipes; the store writes them later, so only the events bring them
		hub.output(lines.slice(0, 4), 'x1', false);
		hub.output(lines.slice(4), 'x1', false);
		await until(() => expect(printed()).toContain('tests passed'));
		state.lines.push(...lines);
		hub.runEnds();
		expect(await exit).toBe(0);
		expect(printed()).toBe(
			'▶ build started\n[build] compiling a\n[build] warning: b\n[build] linking… done\n[build] tests passed\n✔ Run demo succeeded\n'
		);
		expect(errors()).toBe('');
	});

	it('ends with exit code 1, naming them, when lines it went on without were never stored', async () => {
		const { state, hub, exit, printed, errors } = await setup({ retryBudgetMs: 30 });
		state.runAnswers = [async () => ({ run: makeRun({ id: 'r1' }), tasks: [state.task] })];
		hub.connect();
		hub.task('task.status', 'running');
		const ts = '2030-01-01T00:00:00.000Z';
		hub.output({ n: 1, stream: 'stdout', ts, text: 'one' });
		// line 2 went by unseen (dropped) and the store never gets it
		hub.output({ n: 3, stream: 'stdout', ts, text: 'three' });
		await until(() => expect(errors()).toContain('skipped here'));
		hub.task('task.completed', 'succeeded');
		hub.runEnds();
		expect(await exit).toBe(1);
		expect(printed()).toContain('[build] one\n[build] three\n');
		expect(errors().split('\n').at(-2)).toBe(
			'aco: line 2 of x1 was never stored: the log printed above lacks it'
		);
	});

	it('ends at once with exit code 1 when the log of a tool it follows is gone (404), asking for it no more', async () => {
		const { state, hub, code, errors } = await setup();
		state.runAnswers = [async () => ({ run: makeRun({ id: 'r1' }), tasks: [state.task] })];
		state.logStatus = 404;
		hub.connect();
		hub.task('task.status', 'running');
		const ts = '2030-01-01T00:00:00.000Z';
		hub.output({ n: 1, stream: 'stdout', ts, text: 'one' });
		// the run goes on: without the end of the follow it would wait for the run's end
		await until(() => expect(code()).toBe(1));
		expect(errors()).toBe('aco: No execution with id "x1".\n');
		expect(state.logRequests).toBe(1);
	});

	it('ends with exit code 1, naming the URL, when the server answers the WebSocket upgrade with 404', async () => {
		const { state, code, port, errors } = await setup({ upgrade: 404 });
		await until(() => expect(code()).toBe(1));
		expect(errors()).toBe(`aco: no aco WebSocket at ws://127.0.0.1:${port}/ws (HTTP 404): check --url\n`);
		expect(state.upgrades).toBe(1);
	});

	it('gives up with exit code 1 and one line naming the hub when no connection comes back within the budget', async () => {
		const { state, hub, factory, exit, port, printed, errors } = await setup({ reconnectBudgetMs: 300 });
		state.runAnswers = [async () => ({ run: makeRun({ id: 'r1' }), tasks: [state.task] })];
		hub.connect();
		hub.task('task.status', 'running');
		await until(() => expect(printed()).toContain('build started'));
		factory.last.serverClose(1006);
		expect(await exit).toBe(1);
		expect(errors()).toBe(
			'aco: lost the connection to the server; reconnecting…\n' +
				`aco: no connection to the aco server at ws://127.0.0.1:${port}/ws for 0.3 s; giving up (is it running? check --url or ACO_URL).\n`
		);
	});

	it('asks for the run again while the server fails (502, 503), with one notice, and follows on', async () => {
		const { state, hub, exit, printed, errors } = await setup();
		state.runAnswers = [async () => ({ run: makeRun({ id: 'r1' }), tasks: [state.task] })];
		state.runFailures = [502, 503];
		hub.connect();
		await until(() => expect(state.runFailures).toEqual([]));
		hub.task('task.status', 'running');
		hub.task('task.completed', 'succeeded');
		await until(() => expect(printed()).toContain('succeeded build'));
		hub.runEnds();
		expect(await exit).toBe(0);
		expect(printed()).toBe('▶ build started\n✔ succeeded build\n✔ Run demo succeeded\n');
		expect(errors()).toMatch(
			/^aco: fetching run r1 failed, trying again with back-off: GET http:\S+\/runs\/r1 failed with HTTP 502\.\n$/
		);
	});

	it('asks again when the reload after a reconnect meets a failing server (502), and follows on', async () => {
		const { state, hub, factory, exit, printed, errors } = await setup();
		state.runAnswers = [async () => ({ run: makeRun({ id: 'r1' }), tasks: [state.task] })];
		hub.connect();
		hub.task('task.status', 'running');
		await until(() => expect(printed()).toBe('▶ build started\n'));
		state.runFailures = [502, 502];
		factory.last.serverClose(1006);
		await until(() => expect(factory.sockets).toHaveLength(2));
		factory.last.open();
		factory.last.welcome({ seq: 10, protocol: PROTOCOL_VERSION });
		// the hub cannot replay what was missed: the follower reloads the run
		factory.last.reset({ seq: 10 });
		// an event numbered at or before the welcome's seq would be taken for one seen already
		hub.continueFrom(10);
		await until(() => expect(state.runFailures).toEqual([]));
		hub.runEnds();
		expect(await exit).toBe(0);
		expect(printed()).toBe('▶ build started\n✔ Run demo succeeded\n');
		expect(errors().split('\n')).toEqual([
			'aco: lost the connection to the server; reconnecting…',
			expect.stringMatching(/^aco: fetching run r1 failed, trying again with back-off: .*HTTP 502\.$/),
			''
		]);
	});

	it("prints a task's steps in order when a later step's live line comes before the run's first load", async () => {
		const { state, hub, exit, printed } = await setup();
		const ts = '2030-01-01T00:00:00.000Z';
		// the task is on step 2 when the follower connects
		state.lines.push(
			{ n: 1, stream: 'stdout', ts, text: 'step1 a' },
			{ n: 2, stream: 'stdout', ts, text: 'step1 b' }
		);
		state.step2.push({ n: 1, stream: 'stdout', ts, text: 'step2 a' });
		let release = () => {};
		let asked = false;
		const current = async () => ({ run: makeRun({ id: 'r1' }), tasks: [state.task] });
		state.runAnswers = [
			() => ((asked = true), new Promise((resolve) => (release = () => void current().then(resolve)))),
			current
		];
		hub.connect();
		await until(() => expect(asked).toBe(true));
		// step 2 prints while the run's load after connecting is on its way (a slow round trip)
		hub.output({ n: 2, stream: 'stdout', ts, text: 'step2 b' }, 'x2');
		release();
		await until(() => expect(printed()).toContain('step2 b'));
		hub.runEnds();
		expect(await exit).toBe(0);
		expect(printed()).toBe(
			'▶ build started\n[build] step1 a\n[build] step1 b\n[build] step2 a\n[build] step2 b\n✔ Run demo succeeded\n'
		);
	});
});
