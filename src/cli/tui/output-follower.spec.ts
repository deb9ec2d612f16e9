import { describe, expect, it, vi } from 'vitest';
import type { AnyEventEnvelope } from '../../lib/protocol/messages';
import type { LogLine } from '../../lib/protocol/models';
import { makeExecution, makeTask } from '../../lib/realtime/test-fixtures';
import { DashboardModel } from './model';
import { OutputFollower } from './output-follower';

const until = (check: () => void) => vi.waitFor(check, { timeout: 10_000, interval: 5 });

function setup() {
	const task = makeTask({ id: 't1' });
	const execution = makeExecution({ id: 'x1', task_id: 't1' });
	const stored: LogLine[] = [];
	const model = new DashboardModel();
	model.tasks = [task];
	model.selectedId = task.id;
	const follower = new OutputFollower({
		model,
		client: { subscribe: () => {} },
		rest: {
			getTask: async () => ({ task: { ...task, executions: [execution] } }),
			getLogLines: async (_id: string, after = 0) => stored.filter((line) => line.n > after)
		},
		invalidate: () => {}
	});
	follower.follow(task);
	/** the tool prints a line: stored, then sent live */
	const print = (n: number, text: string, partial = false) => {
		const line: LogLine = {
			n,
			stream: 'stdout',
			ts: '2030-01-01T00:00:00.000Z',
			text,
			...(partial ? { partial } : {})
		};
		stored.push(line);
		follower.onToolEvent({
			type: 'tool.output',
			seq: n,
			timestamp: line.ts,
			data: {
				task_id: 't1',
				run_id: null,
				execution_id: 'x1',
				line: n,
				output: text,
				is_stderr: false,
				timestamp: line.ts,
				...(partial ? { partial } : {})
			}
		} as AnyEventEnvelope);
	};
	return { model, follower, print };
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
});
