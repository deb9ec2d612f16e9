import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { makeExecution, makeLines, makeTask, ndjson, scriptedFetch } from '../../lib/realtime/test-fixtures';
import { socketFactory } from '../../lib/realtime/test-socket';
import { TuiApp } from './app';

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

function setup() {
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
		'GET /api/v1/tasks': () => ({ tasks: [lint, build] }),
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
		client: { createSocket: sockets.create }
	});
	return { app, api, sockets, stdin, stdout, onQuit };
}

/** connects and lets the first snapshot load */
async function connected(ctx: ReturnType<typeof setup>) {
	ctx.app.start();
	ctx.sockets.last.open();
	ctx.sockets.last.welcome();
	ctx.sockets.last.receive({ type: 'subscribed', timestamp: '', data: { id: 'watch', filter: {} } });
	await vi.waitFor(() => expect(ctx.app.model.tasks).toHaveLength(2));
}

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
		ctx.sockets.last.event({
			type: 'tool.output',
			seq: 1,
			data: {
				task_id: 't1',
				run_id: null,
				execution_id: 'x1',
				line: 3,
				output: 'fresh line',
				is_stderr: false,
				timestamp: ''
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
			expect(ctx.stdout.written).toContain('✖ Build failed: exit code 1');
		});
	});
});
