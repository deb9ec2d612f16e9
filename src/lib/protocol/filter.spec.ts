import { describe, expect, it } from 'vitest';
import type { AnyDomainEvent } from './events';
import { matchesFilter, typeMatches } from './filter';

const ts = '2025-01-15T12:00:00.000Z';
const output = {
	type: 'tool.lines',
	timestamp: ts,
	data: {
		task_id: 't1',
		run_id: 'r1',
		execution_id: 'e1',
		lines: [{ line: 1, output: 'x', is_stderr: false, timestamp: ts }]
	}
} as AnyDomainEvent;
const failed = {
	type: 'task.failed',
	timestamp: ts,
	data: { task_id: 't2', run_id: 'r2', status: 'failed', error: 'boom', duration_ms: 1 }
} as unknown as AnyDomainEvent;
const standalone = {
	type: 'task.progress',
	timestamp: ts,
	data: { task_id: 't3', run_id: null, progress: 5, message: null }
} as AnyDomainEvent;

describe('event filters', () => {
	it('matches everything when empty', () => {
		expect(matchesFilter({}, output)).toBe(true);
		expect(matchesFilter({ task_ids: [], types: [] }, failed)).toBe(true);
	});

	it('matches exact types and family wildcards', () => {
		expect(typeMatches(['task.*'], 'task.failed')).toBe(true);
		expect(typeMatches(['task.*'], 'tool.lines')).toBe(false);
		expect(typeMatches(['tool.*'], 'tool.lines')).toBe(true);
		expect(typeMatches(['tool.lines'], 'tool.lines')).toBe(true);
		expect(typeMatches(['tool.started'], 'tool.lines')).toBe(false);
		// the version 2 name matches no event a version 3 server sends (the hub refuses it, see messages.spec)
		expect(typeMatches(['tool.output'], 'tool.lines')).toBe(false);
	});

	it('scopes by task ids or run ids, either one sufficing', () => {
		expect(matchesFilter({ task_ids: ['t1'] }, output)).toBe(true);
		expect(matchesFilter({ task_ids: ['t2'] }, output)).toBe(false);
		expect(matchesFilter({ run_ids: ['r1'] }, output)).toBe(true);
		expect(matchesFilter({ task_ids: ['t9'], run_ids: ['r2'] }, failed)).toBe(true);
		expect(matchesFilter({ run_ids: ['r1'] }, standalone)).toBe(false);
	});

	it('narrows by status, leaving out events that carry none', () => {
		expect(matchesFilter({ statuses: ['failed'] }, failed)).toBe(true);
		expect(matchesFilter({ statuses: ['succeeded'] }, failed)).toBe(false);
		expect(matchesFilter({ statuses: ['failed'] }, output)).toBe(false);
	});

	it('requires every given criterion', () => {
		expect(matchesFilter({ task_ids: ['t2'], types: ['task.*'], statuses: ['failed'] }, failed)).toBe(true);
		expect(matchesFilter({ task_ids: ['t2'], types: ['tool.*'] }, failed)).toBe(false);
	});
});
