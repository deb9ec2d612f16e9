import { describe, expect, it } from 'vitest';
import { parseClientMessage } from './messages';

function error(raw: string) {
	const result = parseClientMessage(raw);
	if (result.ok) throw new Error(`expected a rejection of ${raw}`);
	return result.error;
}

describe('parseClientMessage', () => {
	it('accepts a heartbeat with or without a timestamp', () => {
		expect(parseClientMessage('{"type":"connection.heartbeat"}')).toEqual({
			ok: true,
			message: { type: 'connection.heartbeat' }
		});
		const withTs = parseClientMessage('{"type":"connection.heartbeat","timestamp":"2025-01-15T12:00:00Z"}');
		expect(withTs.ok).toBe(true);
	});

	it('fills in the default subscription id and an empty filter', () => {
		expect(parseClientMessage('{"type":"subscribe"}')).toEqual({
			ok: true,
			message: { type: 'subscribe', sub: 'default', filter: {} }
		});
	});

	it('accepts a full filter with wildcards and statuses', () => {
		const result = parseClientMessage(
			JSON.stringify({
				type: 'subscribe',
				sub: 'task-page',
				filter: { task_ids: ['t1'], run_ids: ['r1'], types: ['task.*', 'tool.lines'], statuses: ['failed'] }
			})
		);
		expect(result.ok).toBe(true);
	});

	it('rejects text that is not JSON with a hint', () => {
		expect(error('{not json')).toMatchObject({ code: 'invalid_json', retryable: false });
	});

	it('rejects JSON that is not an object', () => {
		expect(error('[1,2]').code).toBe('invalid_message');
		expect(error('null').code).toBe('invalid_message');
		expect(error('"hello"').code).toBe('invalid_message');
	});

	it('names an unknown type and the types it expected, echoing the id', () => {
		const e = error('{"type":"explode","id":"q1"}');
		expect(e.code).toBe('unknown_type');
		expect(e.message).toContain('"explode"');
		expect(e.message).toContain('subscribe');
		expect(e.ref).toBe('q1');
	});

	it('names the field that is wrong in a known message', () => {
		const e = error('{"type":"subscribe","filter":{"types":["task.exploded"]}}');
		expect(e.code).toBe('invalid_message');
		expect(e.message).toContain('filter.types.0');
		expect(error('{"type":"resume","epoch":"e","seq":-1}').message).toContain('seq');
		expect(error('{"type":"subscribe","filter":{"colour":"red"}}').message).toContain('filter');
	});

	it("refuses the version 2 event type 'tool.output' as unknown: its lines now come as 'tool.lines'", () => {
		const e = error('{"type":"subscribe","filter":{"types":["task.*","tool.output"]}}');
		expect(e.code).toBe('invalid_message');
		expect(e.message).toContain('filter.types.1');
		expect(e.message).toContain('unknown event type');
		expect(parseClientMessage('{"type":"subscribe","filter":{"types":["tool.lines"]}}').ok).toBe(true);
	});

	it('bounds the size of filters', () => {
		const ids = Array.from({ length: 1001 }, (_, i) => `t${i}`);
		expect(error(JSON.stringify({ type: 'subscribe', filter: { task_ids: ids } })).message).toContain(
			'filter.task_ids'
		);
	});

	it('survives deeply nested JSON without throwing', () => {
		const deep = '{"type":"subscribe","filter":' + '['.repeat(5000) + ']'.repeat(5000) + '}';
		expect(parseClientMessage(deep).ok).toBe(false);
	});
});
