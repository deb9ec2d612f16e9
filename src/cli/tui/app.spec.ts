import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { makeExecution, makeLines, makeTask, ndjson, scriptedFetch } from '../../lib/realtime/test-fixtures';
import { socketFactory } from '../../lib/realtime/test-socket';
import type { BackoffOptions } from '../../lib/realtime/backoff';
import { PROTOCOL_VERSION, TOOL_LINES_SINCE } from '../../lib/protocol/limits';
import { olderHubStatus } from '../follow/older-hub';
import { TuiApp } from './app';
import { KEY_HELP } from './layout';

class FakeStdin extends EventEmitter {
	isTTY = true;
	raw: boolean[] = [];
	setRawMode(mode: boolean) {
		this.raw.push(mode);
	}
	type(keys: string) {
		this.emit('data', keys);
	}
}

class FakeStdout extends EventEmitter {
	isTTY = false; // no colour codes in what the specs read
	columns = 80;
	rows = 24;
	written = '';
	write(chunk: string) {
		this.written += chunk;
		return true;
	}
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

/**
 * The dashboard on a scripted REST API and a fake hub. `tasks` answers GET /api/v1/tasks with
 * that status while it is set (a proxy's error page for a 5xx, the server's error else).
 */
function setup(options: { backoff?: BackoffOptions; onOffline?: (message: string) => void } = {}) {
	const tasks = { status: null as number | null };
	const build = makeTask({
		id: 't1',
		name: 'Build',
		status: 'running',
		progress: 40,
		created_at: '2030-01-02T00:00:00Z'
	});
	const lint = makeTask({
		id: 't2',
		name: 'Lint',
		status: 'succeeded',
		progress: 100,
		created_at: '2030-01-01T00:00:00Z'
	});
	const execution = makeExecution({ id: 'x1', task_id: 't1', name: 'Compile', line_count: 2 });
	const api = scriptedFetch({
		'GET /api/v1/tasks': () => {
			const status = tasks.status;
			if (status === null) return { tasks: [lint, build] };
			if (status >= 502) return new Response('<html><body>Bad Gateway</body></html>', { status });
			const error = { code: `http_${status}`, message: `The server answered ${status}.` };
			return new Response(JSON.stringify({ error }), { status });
		},
		'GET /api/v1/tasks/t1': () => ({ task: { ...build, executions: [execution] } }),
		'GET /api/v1/tasks/t2': () => ({ task: { ...lint, executions: [] } }),
		'GET /api/v1/executions/x1/log': () => ndjson(makeLines(1, 2)),
		'POST /api/v1/tasks/t1/cancel': () => ({ task: { ...build, status: 'cancelled', executions: [] } })
	});
	const sockets = socketFactory();
	const stdin = new FakeStdin();
	const stdout = new FakeStdout();
	const onQuit = vi.fn();
	const app = new TuiApp({
		url: 'http://aco.test',
		stdin,
		stdout,
		onQuit,
		fetch: api.fetch,
		frameMs: 1,
		onOffline: options.onOffline,
		client: { createSocket: sockets.create, backoff: options.backoff ?? { baseMs: 5, capMs: 5 } }
	});
	return { app, api, sockets, stdin, stdout, onQuit, tasks };
}

/** connects, which makes the dashboard load the task list */
function connect(ctx: ReturnType<typeof setup>) {
	ctx.app.start();
	ctx.sockets.last.open();
	ctx.sockets.last.welcome();
	ctx.sockets.last.receive({ type: 'subscribed', timestamp: '', data: { id: 'watch', filter: {} } });
}

/** connects and lets the first snapshot load */
async function connected(ctx: ReturnType<typeof setup>) {
	connect(ctx);
	await vi.waitFor(() => expect(ctx.app.model.tasks).toHaveLength(2));
}

const until = (check: () => void) => vi.waitFor(check, { timeout: 10_000, interval: 5 });
const taskLoads = (ctx: ReturnType<typeof setup>) =>
	ctx.api.calls.filter((c) => c.startsWith('GET /api/v1/tasks?')).length;

describe('TuiApp keys', () => {
	let ctx: ReturnType<typeof setup>;
	afterEach(() => ctx?.app.close());

	it("moves the selection with j/k and arrows, and follows the selected task's output", async () => {
		ctx = setup();
		await connected(ctx);
		// newest first: Build was made after Lint
		expect(ctx.app.model.selected?.name).toBe('Build');
		await vi.waitFor(() => expect(ctx.app.model.output?.lines.map((l) => l.n)).toEqual([1, 2]));
		ctx.stdin.type('j');
		expect(ctx.app.model.selected?.name).toBe('Lint');
		ctx.stdin.type('\x1b[A');
		expect(ctx.app.model.selected?.name).toBe('Build');
		ctx.stdin.type('k');
		expect(ctx.app.model.selected?.name).toBe('Build');
	});

	it('cancels the selected task only after y, with a notice', async () => {
		ctx = setup();
		await connected(ctx);
		ctx.stdin.type('c');
		expect(ctx.app.model.confirmCancel).toBe('t1');
		ctx.stdin.type('n');
		expect(ctx.app.model.confirmCancel).toBeNull();
		expect(ctx.api.calls.filter((c) => c.startsWith('POST'))).toEqual([]);
		ctx.stdin.type('cy');
		await vi.waitFor(() => expect(ctx.app.model.notice?.text).toBe('Cancel requested for Build.'));
		expect(ctx.api.calls.filter((c) => c.startsWith('POST'))).toEqual(['POST /api/v1/tasks/t1/cancel']);
	});

	it('does not ask to cancel a task that already finished', async () => {
		ctx = setup();
		await connected(ctx);
		ctx.stdin.type('jc');
		expect(ctx.app.model.confirmCancel).toBeNull();
		expect(ctx.app.model.notice?.text).toBe('Lint already succeeded.');
	});

	it('toggles the full-screen output with Enter and leaves it with Escape', async () => {
		ctx = setup();
		await connected(ctx);
		ctx.stdin.type('\r');
		expect(ctx.app.model.expanded).toBe(true);
		ctx.stdin.type('\x1b');
		expect(ctx.app.model.expanded).toBe(false);
	});

	it('quits on q and on Ctrl-C, and close gives the terminal back', async () => {
		ctx = setup();
		await connected(ctx);
		ctx.stdin.type('q');
		ctx.stdin.type('\x03');
		expect(ctx.onQuit).toHaveBeenCalledTimes(2);
		ctx.app.close();
		expect(ctx.stdin.raw).toEqual([true, false]);
		expect(ctx.stdout.written.endsWith('\x1b[?25h\x1b[?1049l')).toBe(true);
		expect(ctx.stdin.listenerCount('data')).toBe(0);
		await tick();
	});

	it('draws live output lines and a failure notice on the screen', async () => {
		ctx = setup();
		await connected(ctx);
		await vi.waitFor(() => expect(ctx.app.model.output?.lines).toHaveLength(2));
		// one read of the tool's pipes: two lines in one event
		ctx.sockets.last.event({
			type: 'tool.lines',
			seq: 1,
			data: {
				task_id: 't1',
				run_id: null,
				execution_id: 'x1',
				lines: [
					{ line: 3, output: 'fresh line', is_stderr: false, timestamp: '' },
					{ line: 4, output: 'and its neighbour', is_stderr: true, timestamp: '' }
				]
			}
		});
		const failed = makeTask({
			id: 't1',
			name: 'Build',
			status: 'failed',
			error: 'exit code 1',
			created_at: '2030-01-02T00:00:00Z'
		});
		ctx.sockets.last.event({
			type: 'task.failed',
			seq: 2,
			data: {
				task_id: 't1',
				run_id: null,
				status: 'failed',
				error: 'exit code 1',
				duration_ms: 5,
				task: failed
			}
		});
		await vi.waitFor(() => {
			expect(ctx.stdout.written).toContain(' fresh line');
			expect(ctx.stdout.written).toContain(' and its neighbour');
			expect(ctx.stdout.written).toContain('✖ Build failed: exit code 1');
		});
		expect(ctx.app.model.output?.lines.map((l) => [l.n, l.stream, l.text])).toEqual([
			[1, 'stdout', 'line 1'],
			[2, 'stdout', 'line 2'],
			[3, 'stdout', 'fresh line'],
			[4, 'stderr', 'and its neighbour']
		]);
	});
});

describe('TuiApp task list', () => {
	let ctx: ReturnType<typeof setup>;
	afterEach(() => ctx?.app.close());

	it('asks a failing server (502) again, saying it is trying again, and shows the tasks once it answers', async () => {
		ctx = setup();
		ctx.tasks.status = 502;
		connect(ctx);
		await until(() => expect(ctx.stdout.written).toContain('Could not load the tasks, trying again: GET'));
		expect(ctx.app.model.loadError).toMatch(/failed with HTTP 502\.$/);
		const tries = taskLoads(ctx);
		await until(() => expect(taskLoads(ctx)).toBeGreaterThan(tries));
		ctx.tasks.status = null;
		await until(() => expect(ctx.app.model.tasks).toHaveLength(2));
		expect(ctx.app.model.loadError).toBeNull();
		// no task was shown before: the row is drawn once the list loaded
		await until(() => expect(ctx.stdout.written).toContain('▶ running'));
	});

	it('shows what asking again will not mend (401) and does not ask again', async () => {
		ctx = setup();
		ctx.tasks.status = 401;
		connect(ctx);
		await until(() =>
			expect(ctx.stdout.written).toContain('Could not load the tasks: The server answered 401.')
		);
		// both halves of the one load (recent and running), and no second load
		expect(taskLoads(ctx)).toBe(2);
		expect(ctx.stdout.written).not.toContain('trying again');
	});

	it('says on the status line when a reload fails while tasks are shown, and clears it once one works', async () => {
		ctx = setup();
		await connected(ctx);
		ctx.tasks.status = 500;
		await ctx.app.reload();
		expect(ctx.app.model.tasks).toHaveLength(2);
		await until(() =>
			expect(ctx.stdout.written).toContain(' Could not load the tasks: The server answered 500.')
		);
		ctx.tasks.status = 503;
		const reloading = ctx.app.reload();
		await until(() => expect(ctx.stdout.written).toMatch(/ Could not load the tasks, trying again: GET /));
		ctx.tasks.status = null;
		await reloading;
		expect(ctx.app.model.loadError).toBeNull();
	});

	it('ends a reload waiting out a failing server at once on close, asking no more', async () => {
		// a wait of about a minute: only close() can end it within the test
		ctx = setup({ backoff: { baseMs: 60_000, capMs: 60_000, random: () => 0.99 } });
		ctx.tasks.status = 502;
		connect(ctx);
		await until(() => expect(ctx.stdout.written).toContain('Could not load the tasks, trying again'));
		let settled = false;
		void ctx.app.reload().then(() => (settled = true));
		const tries = taskLoads(ctx);
		ctx.app.close();
		await until(() => expect(settled).toBe(true));
		expect(taskLoads(ctx)).toBe(tries);
		expect(ctx.stdout.written.endsWith('\x1b[?1049l')).toBe(true);
	});
});

describe('TuiApp connection', () => {
	it('tells its owner why when the hub closes for good (a revoked token: 4500), and not on close()', async () => {
		const offline: string[] = [];
		const ctx = setup({ onOffline: (message) => offline.push(message) });
		await connected(ctx);
		ctx.sockets.last.serverClose(4500, 'token revoked');
		// and which token was refused (none here; the kept one where `aco login` kept one)
		expect(offline).toEqual([
			expect.stringMatching(
				/^the server closed the connection: Valid credentials are required: a token, or a browser signed in\. \(4500\)\. (No token was sent|The token sent is the one "aco login" kept)/
			)
		]);
		ctx.app.close();
		expect(offline).toHaveLength(1);
	});

	it('says on its status line, drawn with the screen, that an older hub’s live lines are not read, while connected to one', async () => {
		const ctx = setup();
		ctx.app.start();
		ctx.sockets.last.open();
		ctx.sockets.last.welcome({ protocol: TOOL_LINES_SINCE - 1 });
		// the status line is 79 columns: the notice fits whole, with the server's protocol and what to do
		await until(() =>
			expect(ctx.stdout.written).toMatch(
				/ older server \(protocol 2\): update it for live output +0 running · 0 failed /
			)
		);
		expect(ctx.app.model.olderHub).toBe(olderHubStatus(TOOL_LINES_SINCE - 1));
		// the connection comes back to an updated server: the keys are shown again
		ctx.sockets.last.serverClose(1006);
		await until(() => expect(ctx.sockets.sockets).toHaveLength(2));
		const before = ctx.stdout.written.length;
		ctx.sockets.last.open();
		ctx.sockets.last.welcome({ protocol: PROTOCOL_VERSION });
		await until(() => expect(ctx.stdout.written.slice(before)).toContain(KEY_HELP));
		expect(ctx.app.model.olderHub).toBeNull();
		ctx.app.close();
	});
});
