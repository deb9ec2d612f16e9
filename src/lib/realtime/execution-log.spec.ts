import { describe, expect, it } from 'vitest';
import { ApiClient } from '$lib/api';
import { ExecutionLog } from './execution-log.svelte';
import { deferred, makeLines, ndjson, scriptedFetch, settle } from './test-fixtures';
import type { LogLine } from '$lib/protocol';

/** A server log of `count` lines that can grow, answering `?after=` like the real endpoint. */
function serverLog(count: number) {
	let lines = makeLines(1, count);
	const { fetch, calls } = scriptedFetch({
		'GET /api/v1/executions/x1/log': (url) => {
			const after = Number(url.searchParams.get('after') ?? 0);
			return ndjson(lines.filter((l) => l.n > after));
		}
	});
	return {
		api: new ApiClient(fetch),
		calls,
		grow(to: number) {
			lines = makeLines(1, to);
		}
	};
}

const numbers = (lines: LogLine[]) => lines.map((l) => l.n);

describe('ExecutionLog', () => {
	it('loads the backlog when opened, as NDJSON', async () => {
		const server = serverLog(3);
		const log = new ExecutionLog('x1', { api: server.api, lineCount: 3 });
		log.open();
		await settle();
		expect(numbers(log.lines)).toEqual([1, 2, 3]);
		expect(log.phase).toBe('live');
		expect(server.calls).toEqual(['GET /api/v1/executions/x1/log?format=ndjson']);
	});

	it('merges live lines that arrive during the backlog load without a gap or a duplicate', async () => {
		const held = deferred();
		const { fetch } = scriptedFetch({
			'GET /api/v1/executions/x1/log': async () => {
				await held.promise;
				return ndjson(makeLines(1, 5));
			}
		});
		const log = new ExecutionLog('x1', { api: new ApiClient(fetch) });
		log.open();
		for (const line of makeLines(4, 7)) log.push(line);
		expect(log.lines).toEqual([]);
		held.resolve();
		await settle();
		expect(numbers(log.lines)).toEqual([1, 2, 3, 4, 5, 6, 7]);
	});

	it('ignores repeated live lines', async () => {
		const server = serverLog(2);
		const log = new ExecutionLog('x1', { api: server.api });
		log.open();
		await settle();
		for (const line of [...makeLines(2, 3), ...makeLines(3, 4)]) log.push(line);
		await settle();
		expect(numbers(log.lines)).toEqual([1, 2, 3, 4]);
	});

	it('fetches the missing lines when a live line skips ahead', async () => {
		const server = serverLog(2);
		const log = new ExecutionLog('x1', { api: server.api });
		log.open();
		await settle();
		server.grow(6);
		log.push(makeLines(6, 6)[0]);
		await settle();
		expect(server.calls.at(-1)).toBe('GET /api/v1/executions/x1/log?format=ndjson&after=2');
		expect(numbers(log.lines)).toEqual([1, 2, 3, 4, 5, 6]);
	});

	it('skips a hole the server cannot fill instead of stalling', async () => {
		const server = serverLog(2);
		const log = new ExecutionLog('x1', { api: server.api, gapRetryDelayMs: 0 });
		log.open();
		await settle();
		log.push(makeLines(5, 5)[0]);
		for (let i = 0; i < 10; i++) await settle();
		expect(numbers(log.lines)).toEqual([1, 2, 5]);
		expect(log.phase).toBe('live');
	});

	it('keeps at most maxLines, dropping the oldest, and says how many exist', async () => {
		const server = serverLog(3);
		const log = new ExecutionLog('x1', { api: server.api, maxLines: 4 });
		log.open();
		await settle();
		for (const line of makeLines(4, 10)) log.push(line);
		await settle();
		expect(numbers(log.lines)).toEqual([7, 8, 9, 10]);
		expect(log.total).toBe(10);
		expect(log.dropped).toBe(6);
		expect(log.truncated).toBe(true);
	});

	it('loads only the tail of a log longer than maxLines', async () => {
		const server = serverLog(100);
		const log = new ExecutionLog('x1', { api: server.api, maxLines: 10, lineCount: 100 });
		log.open();
		await settle();
		expect(server.calls).toEqual(['GET /api/v1/executions/x1/log?format=ndjson&after=90']);
		expect(numbers(log.lines)).toEqual([91, 92, 93, 94, 95, 96, 97, 98, 99, 100]);
		expect(log.dropped).toBe(90);
	});

	it('fetches what came after the last line on resync', async () => {
		const server = serverLog(3);
		const log = new ExecutionLog('x1', { api: server.api });
		log.open();
		await settle();
		server.grow(5);
		log.resync();
		await settle();
		expect(server.calls.at(-1)).toBe('GET /api/v1/executions/x1/log?format=ndjson&after=3');
		expect(numbers(log.lines)).toEqual([1, 2, 3, 4, 5]);
	});

	it('fetches lines an execution record says exist but never arrived live', async () => {
		const server = serverLog(2);
		const log = new ExecutionLog('x1', { api: server.api });
		log.open();
		await settle();
		server.grow(4);
		log.noteLineCount(4);
		await settle();
		expect(numbers(log.lines)).toEqual([1, 2, 3, 4]);
	});

	it('fetches lines an execution record names while the backlog is still loading', async () => {
		// the backlog request went out when the server had 3 lines; a newer record says 5, and the
		// lines in between came before this page was subscribed, so no live line will reveal them
		const held = deferred();
		let lines = makeLines(1, 3);
		const { fetch } = scriptedFetch({
			'GET /api/v1/executions/x1/log': async (url) => {
				const after = Number(url.searchParams.get('after') ?? 0);
				const answer = lines.filter((l) => l.n > after);
				await held.promise;
				return ndjson(answer);
			}
		});
		const log = new ExecutionLog('x1', { api: new ApiClient(fetch), lineCount: 3 });
		log.open();
		lines = makeLines(1, 5);
		log.noteLineCount(5);
		held.resolve();
		await settle();
		await settle();
		expect(numbers(log.lines)).toEqual([1, 2, 3, 4, 5]);
	});

	it('holds no lines before it is opened, but counts them', async () => {
		const server = serverLog(0);
		const log = new ExecutionLog('x1', { api: server.api });
		for (const line of makeLines(1, 3)) log.push(line);
		await settle();
		expect(log.lines).toEqual([]);
		expect(log.total).toBe(3);
		expect(server.calls).toEqual([]);
	});

	it('copies the held lines as text', async () => {
		const server = serverLog(2);
		const log = new ExecutionLog('x1', { api: server.api });
		log.open();
		await settle();
		expect(log.text()).toBe('line 1\nline 2');
	});

	it('reports a failed load and can retry', async () => {
		let fail = true;
		const { fetch } = scriptedFetch({
			'GET /api/v1/executions/x1/log': () =>
				fail
					? new Response('{"error":{"code":"internal","message":"db down"}}', { status: 500 })
					: ndjson(makeLines(1, 1))
		});
		const log = new ExecutionLog('x1', { api: new ApiClient(fetch) });
		log.open();
		await settle();
		expect(log.phase).toBe('error');
		expect(log.error).toBe('db down');
		fail = false;
		log.retry();
		await settle();
		expect(log.phase).toBe('live');
		expect(numbers(log.lines)).toEqual([1]);
	});
});
