import { describe, expect, it, vi } from 'vitest';
import { toOutputLine } from '../../lib/protocol/events';
import type { AnyEventEnvelope } from '../../lib/protocol/messages';
import type { LogLine } from '../../lib/protocol/models';
import { makeExecution, makeLines, makeTask } from '../../lib/realtime/test-fixtures';
import { RestError } from '../realtime/rest';
import { DashboardModel } from './model';
import { OutputFollower } from './output-follower';

const until = (check: () => void) => vi.waitFor(check, { timeout: 10_000, interval: 5 });

/**
 * `failWith`: what GET …/x1/log throws, until a test sets `log.failWith` to null; `stored` is
 * what it serves
 */
function setup(failWith: RestError | null = null, options: { retryBudgetMs?: number } = {}) {
	const task = makeTask({ id: 't1' });
	const execution = makeExecution({ id: 'x1', task_id: 't1' });
	const stored: LogLine[] = [];
	const log = { requests: 0, failWith };
	/** how often the panel asked to be drawn again */
	let draws = 0;
	const model = new DashboardModel();
	model.tasks = [task];
	model.selectedId = task.id;
	const follower = new OutputFollower({
		model,
		client: { subscribe: () => {} },
		rest: {
			getTask: async () => ({ task: { ...task, executions: [execution] } }),
			getLogLines: async (_id: string, { after = 0 }: { after?: number } = {}) => {
				log.requests++;
				if (log.failWith) throw log.failWith;
				return stored.filter((line) => line.n > after);
			}
		},
		invalidate: () => draws++,
		backoff: { baseMs: 5, capMs: 5 },
		retryBudgetMs: options.retryBudgetMs
	});
	follower.follow(task);
	/**
	 * the tool prints `lines`, which reach the panel as one `tool.lines` event: stored (unless `store`
	 * is false: the store lags), then sent live
	 */
	const send = (lines: LogLine[], store = true) => {
		if (store) stored.push(...lines);
		follower.onToolEvent({
			type: 'tool.lines',
			seq: lines[0].n,
			timestamp: lines[0].ts,
			data: { task_id: 't1', run_id: null, execution_id: 'x1', lines: lines.map(toOutputLine) }
		} as AnyEventEnvelope);
	};
	/** the tool prints a line, on its own in its event */
	const print = (n: number, text: string, partial = false, store = true) =>
		send([{ ...lineOf(n, text), ...(partial ? { partial } : {}) }], store);
	/** the tool ends with `count` lines, all stored by then */
	const completed = (count: number) =>
		follower.onToolEvent({
			type: 'tool.completed',
			seq: 1000,
			timestamp: '2030-01-01T00:00:00.000Z',
			data: {
				task_id: 't1',
				run_id: null,
				execution_id: 'x1',
				exit_code: 0,
				duration_ms: 5,
				line_count: count,
				execution: { ...execution, status: 'succeeded', line_count: count }
			}
		} as AnyEventEnvelope);
	const lineOf = (n: number, text: string): LogLine => ({
		n,
		stream: 'stdout',
		ts: '2030-01-01T00:00:00.000Z',
		text
	});
	/** the backlog loaded (none stored): live lines are shown as their events come */
	const backlogLoaded = async () => {
		await until(() => expect(log.requests).toBe(1));
		await new Promise((resolve) => setImmediate(resolve));
	};
	return { model, follower, send, print, completed, log, stored, lineOf, backlogLoaded, draws: () => draws };
}

describe('OutputFollower', () => {
	it('shows a partial line as it comes and joins it with its rest into one line', async () => {
		const { model, follower, print } = setup();
		await until(() => expect(model.output?.executionId).toBe('x1'));
		print(1, 'before');
		print(2, 'downloading… ', true);
		await until(() => expect(model.output?.lines.at(-1)?.n).toBe(2));
		expect(model.output?.lines.map((l) => l.text)).toEqual(['before', 'downloading… ']);
		print(3, '50% ', true);
		print(4, 'done');
		print(5, 'after');
		await until(() => expect(model.output?.lines.at(-1)?.n).toBe(5));
		expect(model.output?.lines.map((l) => l.text)).toEqual(['before', 'downloading… 50% done', 'after']);
		expect(model.output?.lines.map((l) => l.n)).toEqual([1, 4, 5]);
		follower.destroy();
	});

	it('shows a log the server says is gone (404) as the panel’s error and asks for it no more', async () => {
		const { model, follower, print, log } = setup(
			new RestError(404, 'not_found', 'No execution with id "x1".')
		);
		await until(() => expect(model.output?.error).toBe('No execution with id "x1".'));
		// lines after the two the backlog would have had: each reveals a hole to fill
		for (let n = 3; n < 20; n++) {
			print(n, `line ${n}`);
			await new Promise((resolve) => setImmediate(resolve));
		}
		expect(log.requests).toBe(1);
		expect(model.output?.lines).toEqual([]);
		follower.destroy();
	});

	it('says it is trying again while the server fails (502), then shows the lines instead', async () => {
		const { model, follower, print, log } = setup(
			new RestError(502, 'http_502', 'GET …/x1/log failed with HTTP 502.')
		);
		await until(() => expect(model.output?.error).toBe('GET …/x1/log failed with HTTP 502. Trying again…'));
		await until(() => expect(log.requests).toBeGreaterThan(2));
		print(1, 'after the restart');
		log.failWith = null;
		await until(() => expect(model.output?.lines.map((l) => l.text)).toEqual(['after the restart']));
		expect(model.output?.error).toBeNull();
		follower.destroy();
	});

	it('says it waits for lines the store does not have yet, then shows every line in order', async () => {
		const { model, follower, print, stored, lineOf } = setup();
		await until(() => expect(model.output?.executionId).toBe('x1'));
		print(1, 'one');
		await until(() => expect(model.output?.lines.map((l) => l.text)).toEqual(['one']));
		// line 2 went by unseen (its event dropped), and the store has neither it nor line 3 yet
		print(3, 'three', false, false);
		await until(() => expect(model.output?.error).toBe('Line 2 of x1 is not stored yet. Trying again…'));
		stored.push(lineOf(2, 'two'), lineOf(3, 'three'));
		await until(() => expect(model.output?.lines.map((l) => l.text)).toEqual(['one', 'two', 'three']));
		expect(model.output?.error).toBeNull();
		follower.destroy();
	});

	it('shows where it went on without lines not stored after its budget, and shows them once stored', async () => {
		const { model, follower, print, completed, stored, lineOf } = setup(null, { retryBudgetMs: 300 });
		await until(() => expect(model.output?.executionId).toBe('x1'));
		print(1, 'one');
		print(3, 'three', false, false);
		await until(() => expect(model.output?.lines.map((l) => l.text)).toContain('three'));
		stored.push(lineOf(2, 'two'), lineOf(3, 'three'));
		completed(3);
		await until(() => expect(model.output?.lines.map((l) => l.text)).toContain('two'));
		expect(model.output?.lines.map((l) => l.text)).toEqual([
			'one',
			'⋯ line 2 not stored yet: skipped here, shown below once stored',
			'three',
			'⋯ line 2, skipped above, stored now:',
			'two'
		]);
		expect(model.output?.error).toBeNull();
		follower.destroy();
	});

	it('shows every line of an event in order, drawn once for the event', async () => {
		const { model, follower, send, backlogLoaded, draws } = setup();
		await backlogLoaded();
		const before = draws();
		send(makeLines(1, 5));
		expect(model.output?.lines.map((l) => l.text)).toEqual(makeLines(1, 5).map((l) => l.text));
		expect(draws()).toBe(before + 1);
		follower.destroy();
	});

	it('joins a partial line and its rest that come in one event, and with the next event', async () => {
		const { model, follower, send, lineOf, backlogLoaded } = setup();
		await backlogLoaded();
		send([
			lineOf(1, 'before'),
			{ ...lineOf(2, 'downloading… '), partial: true },
			{ ...lineOf(3, '50% '), partial: true }
		]);
		send([lineOf(4, 'done'), lineOf(5, 'after')]);
		expect(model.output?.lines.map((l) => l.text)).toEqual(['before', 'downloading… 50% done', 'after']);
		follower.destroy();
	});

	it('fetches the lines between two events once over REST, and shows them in order', async () => {
		const { model, follower, send, stored, log, backlogLoaded } = setup();
		await backlogLoaded();
		send(makeLines(1, 2));
		expect(log.requests).toBe(1);
		// lines 3–5 went by unseen (their event dropped under backpressure) but are stored
		stored.push(...makeLines(3, 5));
		send(makeLines(6, 8));
		await until(() => expect(model.output?.lines.map((l) => l.n)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]));
		expect(model.output?.lines.map((l) => l.text)).toEqual(makeLines(1, 8).map((l) => l.text));
		expect(log.requests).toBe(2);
		follower.destroy();
	});
});
