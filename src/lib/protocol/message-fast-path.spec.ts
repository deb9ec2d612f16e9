import { describe, expect, it } from 'vitest';
import { EVENT_TYPES } from './events';
import { wellFormedClientMessage } from './message-fast-path';
import { clientMessageSchema } from './messages';
import { TASK_STATUSES } from './models';

const long = (n: number) => 'x'.repeat(n);
const ids = (n: number) => Array.from({ length: n }, (_, i) => `t${i}`);

/** Values each field may take: valid ones, boundaries on both sides, wrong types. */
const FIELD_VALUES: Record<string, unknown[]> = {
	id: [undefined, '', 'q1', long(128), long(129), 7, null],
	sub: [undefined, 'a', long(64), '', long(65), 1, null],
	max_rate: [undefined, 0.1, 1, 100, 0.09, 100.5, '5', null],
	timestamp: [undefined, '2025-01-15T12:00:00Z', long(64), long(65), 0],
	epoch: [undefined, 'e', long(128), '', long(129), 3],
	seq: [undefined, 0, 5, 2 ** 53 - 1, 2 ** 53, -1, 1.5, '3', null],
	filter: [
		undefined,
		{},
		null,
		[],
		'all',
		{ task_ids: ['t1'] },
		{ task_ids: [] },
		{ task_ids: [''] },
		{ task_ids: [long(128)] },
		{ task_ids: [long(129)] },
		{ task_ids: ids(1000) },
		{ task_ids: ids(1001) },
		{ task_ids: [1] },
		{ task_ids: 't1' },
		{ run_ids: ['r1', 'r2'] },
		{ types: ['task.*', 'tool.lines', 'system.stats'] },
		{ types: ['tool.output'] },
		{ types: [...EVENT_TYPES, 'system.stats', 'task.*', 'tool.*', 'workflow.*'] },
		{ types: [...EVENT_TYPES, 'system.stats', 'task.*', 'tool.*', 'workflow.*', 'task.*'] },
		{ types: ['task.exploded'] },
		{ types: ['*'] },
		{ types: ['task.**'] },
		{ statuses: ['failed', 'running'] },
		{ statuses: [...TASK_STATUSES] },
		{ statuses: [...TASK_STATUSES, 'failed'] },
		{ statuses: ['exploded'] },
		{ colour: 'red' },
		{ __proto__: null, task_ids: ['t1'] },
		JSON.parse('{"__proto__":{"task_ids":["t1"]}}'),
		{ statuses: ['failed'], types: ['task.failed'], run_ids: ['r1'], task_ids: ['t1'] }
	]
};

const FIELDS_OF: Record<string, string[]> = {
	subscribe: ['id', 'sub', 'filter', 'max_rate'],
	'connection.heartbeat': ['id', 'timestamp'],
	unsubscribe: ['id', 'sub'],
	resume: ['id', 'epoch', 'seq']
};

/** Every message type with each field varied over its values (the others at their first value). */
function corpus(): Record<string, unknown>[] {
	const out: Record<string, unknown>[] = [];
	for (const [type, fields] of Object.entries(FIELDS_OF)) {
		const base: Record<string, unknown> = { type };
		if (type === 'resume') Object.assign(base, { epoch: 'e', seq: 0 });
		for (const field of fields) {
			for (const value of FIELD_VALUES[field]!) {
				const message = { ...base, [field]: value };
				if (value === undefined) delete message[field];
				out.push(message, { ...message, unknown: 1 }, { extra: true, ...message });
			}
		}
	}
	out.push(
		{ type: 'explode' },
		{ type: 7 },
		{},
		{ type: 'subscribe', filter: { task_ids: ['t1'] }, id: 'q' }
	);
	return out;
}

describe('wellFormedClientMessage', () => {
	it('returns exactly what the schema returns for every message it accepts, and rejects nothing the schema would accept as something else', () => {
		let accepted = 0;
		for (const input of corpus()) {
			const label = JSON.stringify(input).slice(0, 200);
			const json = JSON.parse(JSON.stringify(input)) as Record<string, unknown>;
			const fast = wellFormedClientMessage(json);
			const schema = clientMessageSchema.safeParse(json);
			if (fast === undefined) continue;
			accepted += 1;
			expect(schema.success, label).toBe(true);
			// same fields, same order: the `subscribed` reply echoes the filter as given here
			expect(JSON.stringify(fast), label).toBe(JSON.stringify(schema.data));
		}
		// the common messages take the fast path (a check that accepted nothing would pass above)
		expect(accepted).toBeGreaterThan(100);
	});

	it('accepts the messages the browser and the CLI send', () => {
		for (const raw of [
			'{"type":"subscribe","filter":{}}',
			'{"type":"subscribe","sub":"task-page","filter":{"task_ids":["t1"],"types":["task.*"]},"id":"r1"}',
			'{"type":"subscribe","filter":{"run_ids":["r1"]},"max_rate":2}',
			'{"type":"resume","epoch":"e1","seq":42}',
			'{"type":"connection.heartbeat","timestamp":"2025-01-15T12:00:00Z"}',
			'{"type":"unsubscribe","sub":"task-page"}'
		]) {
			const json = JSON.parse(raw) as Record<string, unknown>;
			expect(wellFormedClientMessage(json), raw).toEqual(clientMessageSchema.parse(json));
		}
	});

	it('leaves every invalid message to the schema, which names what is wrong', () => {
		for (const raw of [
			'{"type":"subscribe","filter":{"colour":"red"}}',
			'{"type":"subscribe","filter":{"types":["task.exploded"]}}',
			'{"type":"subscribe","filter":{"types":["tool.output"]}}',
			'{"type":"subscribe","sub":""}',
			'{"type":"subscribe","max_rate":1000}',
			'{"type":"resume","epoch":"e","seq":-1}',
			'{"type":"explode"}'
		]) {
			expect(wellFormedClientMessage(JSON.parse(raw) as Record<string, unknown>), raw).toBeUndefined();
		}
	});

	it('gives each message its own filter and lists, not the input objects', () => {
		const json = { type: 'subscribe', filter: { task_ids: ['t1'] } };
		const message = wellFormedClientMessage(json);
		if (message?.type !== 'subscribe') throw new Error('expected a subscribe');
		expect(message.filter).not.toBe(json.filter);
		expect(message.filter.task_ids).not.toBe(json.filter.task_ids);
		const a = wellFormedClientMessage({ type: 'subscribe' });
		const b = wellFormedClientMessage({ type: 'subscribe' });
		if (a?.type !== 'subscribe' || b?.type !== 'subscribe') throw new Error('expected a subscribe');
		expect(a.filter).toEqual({});
		expect(a.filter).not.toBe(b.filter);
	});
});
