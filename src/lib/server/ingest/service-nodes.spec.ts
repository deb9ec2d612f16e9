/**
 * Two nodes taking the same producer's request at once (a producer that retries on another node
 * while the first still works on it, or two requests racing): each node has its own store
 * connection and ingest service, as in a cluster; one bus records what both publish, as Redis
 * would carry it. A gate holds each node's request right after it read the task's tools, until
 * the other has read them as well, so both decide on the same stored state every run.
 */
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AnyDomainEvent, DomainEvent, IngestEventInput } from '../../protocol';
import { ingestEventSchema } from '../../protocol';
import { MemoryBus } from '../bus/memory-bus';
import type { Store } from '../store/types';
import { STORE_KINDS, useStoreBackend } from '../../../../tests/helpers/store-backends';
import { IngestService } from './service';

const logger = pino({ level: 'silent' });

const events = (list: IngestEventInput[]) => list.map((e) => ingestEventSchema.parse(e));

/**
 * `stores` as nodes whose next requests read a task's tools together: after `meet()`, each one's
 * next `listExecutions` answers only once every store has read, so no request goes on before
 * the others have seen the same tools.
 */
function meetingStores(stores: Store[]) {
	let gate: { arrived: number; met: Promise<void>; open: () => void } | null = null;
	const proxies = stores.map(
		(store) =>
			new Proxy(store, {
				get: (target, prop) => {
					const value = Reflect.get(target, prop);
					if (prop === 'listExecutions') {
						return async (taskId: string) => {
							const list = await target.listExecutions(taskId);
							const meeting = gate;
							if (meeting) {
								if (++meeting.arrived === stores.length) {
									gate = null;
									meeting.open();
								}
								await meeting.met;
							}
							return list;
						};
					}
					return typeof value === 'function' ? value.bind(target) : value;
				}
			})
	);
	return {
		stores: proxies,
		meet() {
			let open!: () => void;
			const met = new Promise<void>((resolve) => (open = resolve));
			gate = { arrived: 0, met, open };
		}
	};
}

describe.each(STORE_KINDS)('two nodes taking one producer’s request at once (%s)', (kind) => {
	const backend = useStoreBackend(kind);
	let stores: Store[];
	let nodes: IngestService[];
	let meet: () => void;
	let published: AnyDomainEvent[];

	beforeEach(async () => {
		const first = await backend.open();
		// SQLite has one node: the same in-memory database behind both services
		const second = kind === 'sqlite' ? first : await backend.open();
		stores = kind === 'sqlite' ? [first] : [first, second];
		const meeting = meetingStores([first, second]);
		meet = meeting.meet;
		const bus = new MemoryBus();
		published = [];
		bus.subscribe((e) => published.push(e));
		nodes = meeting.stores.map((store) => new IngestService({ store, bus, logger }));
	});
	afterEach(async () => {
		for (const node of nodes) node.close();
		await Promise.all(stores.map((store) => store.close()));
	});

	/** the same request applied by both nodes at once */
	function both(taskId: string, list: IngestEventInput[]) {
		meet();
		return Promise.all(nodes.map((node) => node.applyEvents(taskId, events(list))));
	}

	const lineEvents = (taskId: string) =>
		published.filter(
			(e): e is DomainEvent<'tool.lines'> => e.type === 'tool.lines' && e.data.task_id === taskId
		);
	/** `[n, text]` of every line streamed for the task, in the order published */
	const outputLines = (taskId: string) =>
		lineEvents(taskId).flatMap((e) => e.data.lines.map((line) => [line.line, line.output]));

	it('creates one execution for a tool both start, and announces it once', async () => {
		const { task } = await nodes[0].createTask({ name: 'raced', status: 'running' });
		const answers = await both(task.id, [{ type: 'tool.start', step: 0, name: 'build', command: 'make' }]);

		const executions = await stores[0].listExecutions(task.id);
		expect(executions).toHaveLength(1);
		expect(published.filter((e) => e.type === 'tool.started')).toHaveLength(1);
		// one node applied it, the other found it started
		expect(answers.map((a) => [a.applied, a.ignored]).sort()).toEqual([
			[0, 1],
			[1, 0]
		]);
		// both go on with the one execution: lines sent to either land in it
		await nodes[1].applyEvents(
			task.id,
			events([{ type: 'output', step: 0, lines: [{ n: 1, text: 'one' }] }])
		);
		await nodes[0].applyEvents(
			task.id,
			events([{ type: 'output', step: 0, lines: [{ n: 2, text: 'two' }] }])
		);
		expect((await stores[0].readLogLines(executions[0].id)).map((l) => l.text)).toEqual(['one', 'two']);
	});

	it('stores and publishes each line once when both take the same batch', async () => {
		const { task } = await nodes[0].createTask({ name: 'raced', status: 'running' });
		await nodes[0].applyEvents(task.id, events([{ type: 'tool.start', step: 0, name: 'build' }]));
		const batch = [
			{ n: 1, text: 'one' },
			{ n: 2, text: '::progress value=40::half' },
			{ n: 3, text: 'three' }
		];

		const answers = await both(task.id, [{ type: 'output', step: 0, lines: batch }]);

		const [execution] = await stores[0].listExecutions(task.id);
		expect((await stores[0].readLogLines(execution.id)).map((l) => [l.n, l.text])).toEqual(
			batch.map((l) => [l.n, l.text])
		);
		expect(outputLines(task.id)).toEqual(batch.map((l) => [l.n, l.text]));
		// in one event, from the node that stored them: the other, which stored none, sends none
		expect(lineEvents(task.id)).toHaveLength(1);
		// the line's progress command took effect once, on the node that stored it
		expect(published.filter((e) => e.type === 'task.progress')).toHaveLength(1);
		expect((await stores[0].getTask(task.id))?.progress).toBe(40);
		// both answer with the tool's line count; the node that stored nothing counts the lines as sent before
		expect(answers.map((a) => a.line_counts)).toEqual([{ 0: 3 }, { 0: 3 }]);
		expect(answers.map((a) => a.duplicates).sort()).toEqual([0, 3]);
	});

	it('starts one execution and publishes each line once when both take a start with its first lines', async () => {
		const { task } = await nodes[0].createTask({ name: 'raced' });
		const lines = Array.from({ length: 40 }, (_, i) => ({ n: i + 1, text: `line ${i + 1}` }));

		await both(task.id, [
			{ type: 'tool.start', step: 0, name: 'build' },
			{ type: 'output', step: 0, lines },
			{ type: 'tool.end', step: 0, exit_code: 0 }
		]);

		const executions = await stores[0].listExecutions(task.id);
		expect(executions).toMatchObject([{ status: 'succeeded', line_count: 40 }]);
		expect(published.filter((e) => e.type === 'tool.started')).toHaveLength(1);
		expect(outputLines(task.id)).toEqual(lines.map((l) => [l.n, l.text]));
	});
});
