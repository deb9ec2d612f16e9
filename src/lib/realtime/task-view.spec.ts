import { describe, expect, it, vi } from 'vitest';
import { ApiClient } from '$lib/api';
import { RealtimeConnection } from './connection.svelte';
import { TaskView } from './task-view.svelte';
import { socketFactory, type FakeSocket } from './test-socket';
import { heldNumbers } from '$lib/logview/test-log-server';
import {
	deferred,
	makeExecution,
	makeLines,
	makeRun,
	makeTask,
	scriptedFetch,
	settle,
	statusEvent
} from './test-fixtures';
import type { Execution, LogLine, OutputLine } from '$lib/protocol';

function setup(
	options: { executions?: Execution[]; log?: LogLine[]; holdLog?: Promise<void>; connected?: boolean } = {}
) {
	const state = {
		task: makeTask({ id: 't1' }),
		executions: options.executions ?? [],
		log: options.log ?? []
	};
	const { fetch, calls } = scriptedFetch({
		'GET /api/v1/tasks/t1': () => ({ task: { ...state.task, executions: state.executions } }),
		'POST /api/v1/tasks/t1/cancel': () => ({
			task: { ...state.task, status: 'cancelled', executions: state.executions }
		}),
		'GET /api/v1/executions/x1/lines': async (url) => {
			if (options.holdLog) await options.holdLog;
			const from = Number(url.searchParams.get('from') ?? 1);
			const tail = Number(url.searchParams.get('tail') ?? 0);
			const limit = Number(url.searchParams.get('limit') ?? 1000);
			const lines = (tail ? state.log.slice(-tail) : state.log.slice(from - 1)).slice(0, limit);
			return { total: state.log.length, last_line: state.log.at(-1)?.n ?? 0, first_index: null, lines };
		}
	});
	const factory = socketFactory();
	const connection = new RealtimeConnection({
		url: 'ws://aco.test/ws',
		createSocket: factory.create,
		target: new EventTarget(),
		backoff: { random: () => 0 },
		restartDelay: { minMs: 0, maxMs: 0 }
	});
	if (options.connected !== false) {
		connection.connect();
		factory.last.open();
		factory.last.welcome();
	}
	const api = new ApiClient(fetch);
	const view = new TaskView({ connection, taskId: 't1', api, onError: () => {} });
	return { state, calls, api, factory, connection, view };
}

/** the hub's answer to the task page's subscription (the last subscribe the socket sent) */
function confirmTask(socket: FakeSocket) {
	const { sub, filter } = socket.sentOfType('subscribe').at(-1)!;
	socket.receive({ type: 'subscribed', timestamp: new Date().toISOString(), data: { id: sub, filter } });
}

/** starts `view` and opens execution x1's log, both settled */
async function openedLog(view: TaskView) {
	view.start();
	await settle();
	const log = view.logFor('x1');
	log.open();
	await settle();
	return log;
}

function outputLine(n: number, text = `line ${n}`, is_stderr = false): OutputLine {
	return { line: n, output: text, is_stderr, timestamp: '2030-01-01T00:00:00.000Z' };
}

/** a `tool.lines` event of execution x1 carrying `lines` */
function linesEvent(lines: OutputLine[], seq = 100 + lines[0].line) {
	return {
		type: 'tool.lines' as const,
		seq,
		data: { task_id: 't1', run_id: null, execution_id: 'x1', lines }
	};
}

/** a `tool.lines` event of execution x1 carrying the one line `n` */
function output(n: number, text = `line ${n}`, is_stderr = false) {
	return linesEvent([outputLine(n, text, is_stderr)]);
}

const STARTED = '2030-01-01T00:10:00.000Z';

describe('TaskView', () => {
	it('subscribes to the task before it loads anything', async () => {
		const { view, factory, calls, connection } = setup();
		view.start();
		expect(factory.last.sentOfType('subscribe')).toEqual([
			{ type: 'subscribe', sub: 'task:t1', filter: { task_ids: ['t1'] }, id: 'sub:task:t1' }
		]);
		expect(calls).toEqual(['GET /api/v1/tasks/t1']);
		await settle();
		expect(view.status).toBe('ready');
		expect(view.task?.name).toBe('Build');
		view.destroy();
		connection.destroy();
	});

	it('says when the task does not exist', async () => {
		const { view, connection } = setup();
		const missing = new TaskView({
			connection,
			taskId: 'nope',
			api: new ApiClient(scriptedFetch({}).fetch)
		});
		missing.start();
		await settle();
		expect(missing.status).toBe('not_found');
		missing.destroy();
		view.destroy();
		connection.destroy();
	});

	it('shows a page opened mid-run: the backlog, then live lines, with no gap and no repeat', async () => {
		const held = deferred();
		const { view, factory, connection } = setup({
			executions: [makeExecution({ line_count: 3 })],
			log: makeLines(1, 4),
			holdLog: held.promise
		});
		view.start();
		await settle();
		const log = view.logFor('x1');
		log.open();
		// lines 4 and 5 arrive live while the backlog (1–4) is still loading
		factory.last.event(output(4));
		factory.last.event(output(5, 'oops', true));
		held.resolve();
		await settle();
		expect(heldNumbers(log)).toEqual([1, 2, 3, 4, 5]);
		expect(log.line(5)).toMatchObject({ stream: 'stderr', text: 'oops' });
		view.destroy();
		connection.destroy();
	});

	it('shows every line of a multi-line event, in order, without asking REST', async () => {
		const { view, factory, calls, connection } = setup({
			executions: [makeExecution({ line_count: 2 })],
			log: makeLines(1, 2)
		});
		const log = await openedLog(view);
		const before = calls.length;
		factory.last.event(
			linesEvent([outputLine(3, 'compiling'), outputLine(4, 'warning: unused', true), outputLine(5, 'done')])
		);
		await settle();
		expect(heldNumbers(log)).toEqual([1, 2, 3, 4, 5]);
		expect([3, 4, 5].map((n) => [log.line(n)?.stream, log.line(n)?.text])).toEqual([
			['stdout', 'compiling'],
			['stderr', 'warning: unused'],
			['stdout', 'done']
		]);
		expect(calls.slice(before)).toEqual([]);
		view.destroy();
		connection.destroy();
	});

	it('fetches over REST the lines between two events when the event between them was dropped', async () => {
		const { view, state, factory, calls, connection } = setup({
			executions: [makeExecution({ line_count: 2 })],
			log: makeLines(1, 2)
		});
		const log = await openedLog(view);
		factory.last.event(linesEvent([outputLine(3), outputLine(4)], 103));
		// the event with lines 5–6 (seq 104) never came
		state.log = makeLines(1, 8);
		factory.last.event(linesEvent([outputLine(7), outputLine(8)], 105));
		await settle();
		expect(calls).toContain('GET /api/v1/executions/x1/lines?from=5&limit=2&stream=both');
		expect(heldNumbers(log)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
		view.destroy();
		connection.destroy();
	});

	it('loads the record of an execution it never heard start once for a multi-line event', async () => {
		const { view, state, factory, calls, connection } = setup();
		view.start();
		await settle();
		// the tool.started event came before the page subscribed
		state.executions = [makeExecution({ line_count: 3 })];
		state.log = makeLines(1, 3);
		factory.last.event(linesEvent([outputLine(1), outputLine(2), outputLine(3)]));
		await settle();
		expect(view.executions.map((e) => e.id)).toEqual(['x1']);
		expect(calls.filter((c) => c === 'GET /api/v1/tasks/t1')).toHaveLength(2);
		view.destroy();
		connection.destroy();
	});

	it('keeps a live progress snapshot marked partial, as the stored line is', async () => {
		const { view, factory, connection } = setup({
			executions: [makeExecution({ line_count: 0 })],
			log: []
		});
		const log = await openedLog(view);
		factory.last.event(linesEvent([{ ...outputLine(1, ' 40%|####'), partial: true }]));
		factory.last.event(output(2, '\r100%|##########|'));
		await settle();
		expect(log.line(1)).toMatchObject({ text: ' 40%|####', partial: true });
		expect(log.line(2)).not.toHaveProperty('partial');
		view.destroy();
		connection.destroy();
	});

	it('adds executions as they start and updates them as they finish', async () => {
		const { view, factory, connection } = setup();
		view.start();
		await settle();
		const execution = makeExecution({ id: 'x2', step: 1 });
		factory.last.event({
			type: 'tool.started',
			seq: 1,
			data: { task_id: 't1', run_id: null, execution_id: 'x2', execution }
		});
		expect(view.executions.map((e) => e.id)).toEqual(['x2']);
		const done = { ...execution, status: 'failed' as const, exit_code: 2, line_count: 7 };
		factory.last.event({
			type: 'tool.failed',
			seq: 2,
			data: {
				task_id: 't1',
				run_id: null,
				execution_id: 'x2',
				exit_code: 2,
				signal: null,
				error: null,
				duration_ms: 10,
				line_count: 7,
				execution: done
			}
		});
		expect(view.executions[0]).toMatchObject({ status: 'failed', exit_code: 2 });
		expect(view.logFor('x2').total).toBe(7);
		view.destroy();
		connection.destroy();
	});

	it('ignores events of other tasks', async () => {
		const { view, factory, connection } = setup();
		view.start();
		await settle();
		factory.last.event({
			type: 'task.progress',
			seq: 1,
			data: { task_id: 'other', run_id: null, progress: 99, message: 'not mine' }
		});
		expect(view.task?.progress).toBe(0);
		factory.last.event({
			type: 'task.progress',
			seq: 2,
			data: { task_id: 't1', run_id: null, progress: 30, message: 'mine' }
		});
		expect(view.task).toMatchObject({ progress: 30, message: 'mine' });
		view.destroy();
		connection.destroy();
	});

	it('after a reset reloads the task and fetches the lines written while it was away', async () => {
		const { view, state, factory, calls, connection } = setup({
			executions: [makeExecution({ line_count: 2 })],
			log: makeLines(1, 2)
		});
		const log = await openedLog(view);
		state.log = makeLines(1, 6);
		state.task = { ...state.task, status: 'succeeded', progress: 100 };
		factory.last.serverClose(1012);
		await new Promise((r) => setTimeout(r, 5));
		factory.last.open();
		factory.last.welcome({ epoch: 'e2' });
		factory.last.reset({ missed: 9, epoch: 'e2' });
		await settle();
		expect(calls).toContain('GET /api/v1/executions/x1/lines?from=3&limit=500&stream=both');
		expect(heldNumbers(log)).toEqual([1, 2, 3, 4, 5, 6]);
		expect(view.task?.status).toBe('succeeded');
		view.destroy();
		connection.destroy();
	});

	it('after a reset on a long log fetches only the newest lines it missed, not the whole log again', async () => {
		const { view, state, factory, calls, connection } = setup({
			executions: [makeExecution({ line_count: 100_000 })],
			log: makeLines(1, 100_000)
		});
		const log = await openedLog(view);
		factory.last.serverClose(1012);
		await new Promise((r) => setTimeout(r, 5));
		// 50,000 lines were written meanwhile; a live line comes in a batch before the answer
		state.log = makeLines(1, 150_001);
		state.executions = [makeExecution({ line_count: 150_000 })];
		const before = calls.length;
		factory.last.open();
		factory.last.welcome({ epoch: 'e2' });
		factory.last.receive({ type: 'batch', events: [{ ...output(150_001), timestamp: '' }] });
		factory.last.reset({ missed: 50_001, epoch: 'e2' });
		await settle();
		await settle();
		const reads = calls.slice(before).filter((c) => c.includes('/lines'));
		expect(reads.length).toBeGreaterThan(0);
		expect(reads.length).toBeLessThanOrEqual(3);
		for (const read of reads)
			expect(Number(new URL(read.split(' ')[1], 'http://x').searchParams.get('limit'))).toBeLessThanOrEqual(
				500
			);
		expect(log.total).toBe(150_001);
		// the newest page is there with no gap; what lies between is fetched when scrolled to
		expect(heldNumbers(log).slice(-500)).toEqual(Array.from({ length: 500 }, (_, i) => 149_502 + i));
		expect(log.held).toBeLessThan(2_000);
		view.destroy();
		connection.destroy();
	});

	it('after a clean resume applies the replayed lines once each, without asking REST', async () => {
		const { view, factory, calls, connection } = setup({
			executions: [makeExecution({ line_count: 2 })],
			log: makeLines(1, 2)
		});
		const log = await openedLog(view);
		factory.last.event(output(3));
		factory.last.serverClose(1006);
		await new Promise((r) => setTimeout(r, 5));
		const before = calls.length;
		factory.last.open();
		factory.last.welcome();
		// live line 6 overtakes the replay of 4–5, and the replay repeats 3 and 6
		factory.last.receive({ type: 'batch', events: [{ ...output(6), timestamp: '' }] });
		factory.last.receive({
			type: 'batch',
			events: [3, 4, 5, 6].map((n) => ({ ...output(n), timestamp: '' }))
		});
		factory.last.resumed(4);
		await settle();
		expect(heldNumbers(log)).toEqual([1, 2, 3, 4, 5, 6]);
		expect(calls.length).toBe(before);
		view.destroy();
		connection.destroy();
	});

	it('after a dropped notice fetches the output lines it did not get', async () => {
		const { view, state, factory, calls, connection } = setup({
			executions: [makeExecution({ line_count: 2 })],
			log: makeLines(1, 2)
		});
		const log = await openedLog(view);
		// lines 3–5 were written but their events were dropped under backpressure; none came after
		state.log = makeLines(1, 5);
		factory.last.dropped(3, 103, 105);
		await settle();
		await settle();
		expect(calls).toContain('GET /api/v1/executions/x1/lines?from=3&limit=500&stream=both');
		expect(heldNumbers(log)).toEqual([1, 2, 3, 4, 5]);
		view.destroy();
		connection.destroy();
	});

	it('cancels the task and shows the new status', async () => {
		const { view, connection } = setup();
		view.start();
		await settle();
		expect(view.canCancel).toBe(true);
		await view.cancel();
		expect(view.task?.status).toBe('cancelled');
		expect(view.canCancel).toBe(false);
		view.destroy();
		connection.destroy();
	});

	it('focuses the newest running execution', async () => {
		const { view, connection } = setup({
			executions: [
				makeExecution({ id: 'x1', step: 0, status: 'succeeded' }),
				makeExecution({ id: 'x2', step: 1, status: 'running' }),
				makeExecution({ id: 'x3', step: 2, status: 'running' })
			]
		});
		view.start();
		await settle();
		expect(view.focusExecution?.id).toBe('x3');
		view.destroy();
		connection.destroy();
	});

	it('shows a running task sent back to the queue after its node died, with the retry message', async () => {
		const { view, state, factory, connection } = setup();
		state.task = { ...state.task, started_at: STARTED, progress: 60, message: 'compiling' };
		view.start();
		await settle();
		expect(view.task).toMatchObject({ status: 'running', progress: 60 });
		const retry = 'node n1 went away; starting it again (attempt 2 of 2)';
		factory.last.event(statusEvent(1, { ...state.task, status: 'queued', message: retry }));
		expect(view.task).toMatchObject({ status: 'queued', message: retry });
		expect(view.canCancel).toBe(true);
		// the next attempt starts: running again from its own progress, not the first attempt's
		const later = '2030-01-01T00:11:00.000Z';
		factory.last.event(statusEvent(2, { ...state.task, started_at: later, progress: 0, message: null }));
		expect(view.task).toMatchObject({ status: 'running', started_at: later, progress: 0 });
		view.destroy();
		connection.destroy();
	});

	it('keeps a finished task finished when a queued status from before it finished arrives late', async () => {
		const { view, state, factory, connection } = setup();
		state.task = { ...state.task, status: 'succeeded', progress: 100, started_at: STARTED };
		view.start();
		await settle();
		factory.last.event(statusEvent(1, { ...state.task, status: 'queued', progress: 60, message: 'retry' }));
		expect(view.task).toMatchObject({ status: 'succeeded', progress: 100 });
		view.destroy();
		connection.destroy();
	});

	it('loads again, merging, once the hub confirms a subscription made on an open connection, and only then', async () => {
		// the hub may take the subscription after the page's load was read: the task's end and its
		// last lines, published in between, would otherwise never reach the page
		const { view, state, calls, factory, connection } = setup({
			executions: [makeExecution({ line_count: 2 })],
			log: makeLines(1, 2)
		});
		const log = await openedLog(view);
		const taskReads = () => calls.filter((c) => c === 'GET /api/v1/tasks/t1').length;
		state.executions = [makeExecution({ status: 'succeeded', exit_code: 0, line_count: 3 })];
		state.log = makeLines(1, 3);
		// the task's end came live; the reload is read before it was stored
		factory.last.event(statusEvent(1, { ...state.task, status: 'succeeded', progress: 100 }));
		expect(taskReads()).toBe(1);
		confirmTask(factory.last);
		await settle();
		await settle();
		expect(taskReads()).toBe(2);
		expect(view.task).toMatchObject({ status: 'succeeded', progress: 100 });
		expect(view.executions[0].status).toBe('succeeded');
		expect(heldNumbers(log)).toEqual([1, 2, 3]);
		// the hub repeating its answer loads nothing more
		confirmTask(factory.last);
		await settle();
		expect(taskReads()).toBe(2);
		view.destroy();
		connection.destroy();
	});

	it('loads again for a subscription the next socket confirms after its resume, fetching no line the replay brought', async () => {
		const { view, state, calls, api, factory, connection } = setup({
			executions: [makeExecution({ line_count: 2 })],
			log: makeLines(1, 2)
		});
		const log = await openedLog(view);
		// the socket goes before the hub answers the page's subscription
		factory.last.serverClose(1006);
		await vi.waitFor(() => expect(factory.sockets).toHaveLength(2));
		// line 3 is stored (and published) meanwhile
		state.executions = [makeExecution({ line_count: 3 })];
		state.log = makeLines(1, 3);
		const before = calls.length;
		factory.last.open();
		factory.last.welcome();
		expect(factory.last.sent.map((m) => m.type)).toEqual(['subscribe', 'resume']);
		confirmTask(factory.last);
		factory.last.receive({ type: 'batch', events: [{ ...output(3), timestamp: '' }] });
		factory.last.resumed(1);
		await settle();
		await settle();
		expect(heldNumbers(log)).toEqual([1, 2, 3]);
		// the task is read again; its line count asks for no line: the replay brought line 3
		expect(calls.slice(before)).toEqual(['GET /api/v1/tasks/t1']);
		// a page opened now, on the open connection, loads again once the hub confirms it
		view.destroy();
		const next = new TaskView({ connection, taskId: 't1', api: api, onError: () => {} });
		next.start();
		await settle();
		confirmTask(factory.last);
		await settle();
		expect(calls.slice(before)).toEqual(Array(3).fill('GET /api/v1/tasks/t1'));
		next.destroy();
		connection.destroy();
	});

	it('gets an event published before the hub took its subscription, also when a later event of another subscription moved the resume past it', async () => {
		// the page loads; the task ends (seq 5) before the hub takes the page's filter, so it never
		// comes; a dashboard event (seq 6) moves the tab's position; the socket drops and the next
		// one resumes after seq 6: the replay cannot bring seq 5, the reload must
		const { view, state, factory, connection } = setup({
			executions: [makeExecution({ line_count: 2 })],
			log: makeLines(1, 2)
		});
		connection.subscribe('dash', { types: ['workflow.*'] }, { reload: () => {} });
		factory.last.receive({
			type: 'subscribed',
			timestamp: '',
			data: { id: 'dash', filter: { types: ['workflow.*'] } }
		});
		const log = await openedLog(view);
		state.task = { ...state.task, status: 'succeeded', progress: 100 };
		state.executions = [makeExecution({ status: 'succeeded', exit_code: 0, line_count: 3 })];
		state.log = makeLines(1, 3);
		const run = makeRun({ id: 'r9' });
		const { status, progress, finished_weight, total_weight } = run;
		factory.last.event({
			type: 'workflow.progress',
			seq: 6,
			data: { run_id: run.id, workflow: run.workflow, run, status, progress, finished_weight, total_weight }
		});
		factory.last.serverClose(1006);
		await vi.waitFor(() => expect(factory.sockets).toHaveLength(2));
		factory.last.open();
		factory.last.welcome();
		expect(factory.last.sentOfType('resume')).toMatchObject([{ epoch: 'e1', seq: 6 }]);
		for (const { sub, filter } of factory.last.sentOfType('subscribe')) {
			factory.last.receive({ type: 'subscribed', timestamp: '', data: { id: sub, filter } });
		}
		factory.last.resumed(0);
		await settle();
		await settle();
		expect(view.task).toMatchObject({ status: 'succeeded', progress: 100 });
		expect(view.executions[0].status).toBe('succeeded');
		expect(heldNumbers(log)).toEqual([1, 2, 3]);
		view.destroy();
		connection.destroy();
	});

	it('loads again once its subscription is in place when it loaded before the first connect', async () => {
		// the page mounts before the layout opens the socket: a step that ends between the first
		// load and the subscription would otherwise stay "running" on the page for good
		const { view, state, calls, factory, connection } = setup({
			executions: [makeExecution({ line_count: 2 })],
			log: makeLines(1, 2),
			connected: false
		});
		const log = await openedLog(view);
		state.task = { ...state.task, status: 'succeeded', progress: 100 };
		state.executions = [makeExecution({ status: 'succeeded', exit_code: 0, line_count: 3 })];
		state.log = makeLines(1, 3);
		connection.connect();
		factory.last.open();
		factory.last.welcome();
		factory.last.receive({
			type: 'subscribed',
			timestamp: new Date().toISOString(),
			data: { id: 'task:t1', filter: { task_ids: ['t1'] } }
		});
		await settle();
		await settle();
		expect(view.task?.status).toBe('succeeded');
		expect(view.executions[0].status).toBe('succeeded');
		expect(heldNumbers(log)).toEqual([1, 2, 3]);
		expect(calls.filter((c) => c === 'GET /api/v1/tasks/t1')).toHaveLength(2);
		view.destroy();
		connection.destroy();
	});
});
