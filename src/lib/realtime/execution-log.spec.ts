import { describe, expect, it } from 'vitest';
import { ApiClient } from '$lib/api';
import { heldNumbers, logServer } from '$lib/logview/test-log-server';
import { ExecutionLog, type ExecutionLogOptions } from './execution-log.svelte';
import { deferred, makeLines, settle } from './test-fixtures';

function setup(count: number, options: ExecutionLogOptions = {}) {
	const server = logServer('x1', makeLines(1, count));
	const log = new ExecutionLog('x1', {
		api: new ApiClient(server.fetch),
		pageSize: 10,
		refetchDelayMs: 0,
		...options
	});
	return { server, log };
}

/** a log of `count` lines on a server that answers 500 while `outage.down` */
function failingAtFirst(count: number) {
	const outage = { down: true };
	const server = logServer('x1', makeLines(1, count));
	const failing: typeof fetch = async (input, init) =>
		outage.down
			? new Response('{"error":{"code":"internal","message":"db down"}}', { status: 500 })
			: server.fetch(input, init);
	return { log: new ExecutionLog('x1', { api: new ApiClient(failing) }), outage };
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('ExecutionLog', () => {
	it('opens with the last page and knows how many lines there are', async () => {
		const { server, log } = setup(95);
		log.open();
		await settle();
		expect(server.calls).toEqual(['GET /api/v1/executions/x1/lines?tail=10&limit=10&stream=both']);
		expect(log.phase).toBe('live');
		expect(log.total).toBe(95);
		expect(log.lastLine).toBe(95);
		expect(heldNumbers(log).slice(-10)).toEqual(range(86, 95));
		expect(log.line(1)).toBeUndefined();
	});

	it('fetches the pages the view shows, once, wherever they are', async () => {
		const { server, log } = setup(95);
		log.open();
		await settle();
		log.ensure(range(41, 55));
		log.ensure(range(41, 55));
		await settle();
		const pageCalls = server.calls.filter((c) => c.includes('from='));
		expect(pageCalls).toEqual([
			'GET /api/v1/executions/x1/lines?from=41&limit=10&stream=both',
			'GET /api/v1/executions/x1/lines?from=51&limit=10&stream=both'
		]);
		expect(range(41, 55).map((n) => log.line(n)?.text)).toEqual(range(41, 55).map((n) => `line ${n}`));
	});

	it('keeps a bounded window, dropping the pages farthest from the view', async () => {
		const { log } = setup(1000, { maxLines: 50 });
		log.open();
		await settle();
		for (let from = 1; from <= 991; from += 10) {
			log.ensure(range(from, from + 9));
			await settle();
		}
		expect(log.held).toBeLessThanOrEqual(50);
		// what the reader looks at now is held
		expect(log.line(995)?.n).toBe(995);
		expect(log.line(5)).toBeUndefined();
	});

	it('merges live lines that arrive while the first page loads, without a gap or a duplicate', async () => {
		const { server, log } = setup(5);
		const held = deferred();
		server.state.hold = held.promise;
		log.open();
		log.pushLines(makeLines(4, 5));
		log.pushLines(makeLines(6, 7));
		held.resolve();
		await settle();
		expect(heldNumbers(log)).toEqual(range(1, 7));
	});

	it('holds a line once however often it comes', async () => {
		const { log } = setup(3);
		log.open();
		await settle();
		log.pushLines(makeLines(2, 4));
		log.pushLines(makeLines(3, 5));
		await settle();
		expect(log.total).toBe(5);
		expect(heldNumbers(log)).toEqual(range(1, 5));
		expect(log.held).toBe(5);
	});

	it('stores every line of an event in order, each told to the listeners with the line before it', async () => {
		const { server, log } = setup(3);
		const seen: [number, number | undefined][] = [];
		log.onLiveLine((line, previous) => seen.push([line.n, previous?.n]));
		log.open();
		await settle();
		log.pushLines([...makeLines(4, 5), ...makeLines(6, 7, 'stderr')]);
		await settle();
		expect(heldNumbers(log)).toEqual(range(1, 7));
		expect(range(4, 7).map((n) => log.line(n)?.stream)).toEqual(['stdout', 'stdout', 'stderr', 'stderr']);
		expect(seen).toEqual([
			[4, 3],
			[5, 4],
			[6, 5],
			[7, 6]
		]);
		// nothing was missing: nothing is asked after the first page
		expect(server.calls).toHaveLength(1);
	});

	it('fetches the lines between two events when an event between them never came', async () => {
		const { server, log } = setup(3);
		log.open();
		await settle();
		log.pushLines(makeLines(4, 5));
		server.state.lines = makeLines(1, 10);
		// the event with lines 6–8 was dropped
		log.pushLines(makeLines(9, 10));
		await settle();
		expect(server.calls.slice(1)).toEqual(['GET /api/v1/executions/x1/lines?from=6&limit=3&stream=both']);
		expect(heldNumbers(log)).toEqual(range(1, 10));
	});

	it('fetches each hole an event skips by its line numbers, inside the event as well', async () => {
		const { server, log } = setup(3);
		log.open();
		await settle();
		server.state.lines = makeLines(1, 9);
		log.pushLines([...makeLines(5, 6), ...makeLines(9, 9)]);
		await settle();
		expect(server.calls.slice(1)).toEqual([
			'GET /api/v1/executions/x1/lines?from=4&limit=1&stream=both',
			'GET /api/v1/executions/x1/lines?from=7&limit=2&stream=both'
		]);
		expect(heldNumbers(log)).toEqual(range(1, 9));
	});

	it('fetches the missing lines when a live line skips ahead', async () => {
		const { server, log } = setup(3);
		log.open();
		await settle();
		server.state.lines = makeLines(1, 8);
		log.pushLines(makeLines(8, 8));
		await settle();
		expect(server.calls.at(-1)).toBe('GET /api/v1/executions/x1/lines?from=4&limit=4&stream=both');
		expect(heldNumbers(log)).toEqual(range(1, 8));
	});

	it('tells the outline when lines fetched to fill a gap carry a command, and not for plain ones', async () => {
		const { server, log } = setup(3);
		let changes = 0;
		log.onOutlineChange(() => changes++);
		log.open();
		await settle();
		server.state.lines = [
			...makeLines(1, 5),
			{ n: 6, stream: 'stdout', ts: '', text: '::group::Build' },
			...makeLines(7, 8)
		];
		log.pushLines([server.state.lines[7]!]);
		await settle();
		expect(heldNumbers(log)).toEqual(range(1, 8));
		expect(changes).toBe(1);
		server.state.lines = makeLines(1, 12);
		log.pushLines([server.state.lines[11]!]);
		await settle();
		expect(heldNumbers(log)).toEqual(range(1, 12));
		expect(changes).toBe(1);
	});

	it('asks again for lines the server had not stored yet when asked', async () => {
		const { server, log } = setup(3);
		log.open();
		await settle();
		log.pushLines(makeLines(6, 6));
		await settle();
		expect(heldNumbers(log)).toEqual([1, 2, 3, null, null, 6]);
		server.state.lines = makeLines(1, 6);
		log.ensure(range(1, 6));
		await settle();
		await settle();
		expect(heldNumbers(log)).toEqual(range(1, 6));
	});

	it('fetches lines an execution record says exist but never arrived live', async () => {
		const { server, log } = setup(2);
		log.open();
		await settle();
		server.state.lines = makeLines(1, 4);
		log.noteLineCount(4);
		await settle();
		expect(heldNumbers(log)).toEqual(range(1, 4));
	});

	it('reads lines again from a given line on refetchFrom', async () => {
		const { server, log } = setup(3);
		log.open();
		await settle();
		server.state.lines = makeLines(1, 6);
		log.refetchFrom(2);
		await settle();
		expect(server.calls.at(-1)).toBe('GET /api/v1/executions/x1/lines?from=2&limit=10&stream=both');
		expect(heldNumbers(log)).toEqual(range(1, 6));
	});

	it('publishes many live lines as one change per frame', async () => {
		const frames: (() => void)[] = [];
		const { log } = setup(0, { frame: (cb) => frames.push(cb) });
		log.open();
		await settle();
		frames.splice(0).forEach((cb) => cb());
		const before = log.version;
		// ten events of a thousand lines each
		for (let from = 1; from <= 10_000; from += 1_000) log.pushLines(makeLines(from, from + 999));
		expect(log.total).toBe(0);
		expect(frames).toHaveLength(1);
		frames.splice(0).forEach((cb) => cb());
		expect(log.total).toBe(10_000);
		expect(log.version).toBe(before + 1);
		// and memory stays bounded while they stream
		expect(log.held).toBeLessThanOrEqual(20_000);
	});

	it('addresses one stream by its own positions when filtered', async () => {
		const lines = makeLines(1, 30).map((l) => (l.n % 3 === 0 ? { ...l, stream: 'stderr' as const } : l));
		const server = logServer('x1', lines);
		const log = new ExecutionLog('x1', { api: new ApiClient(server.fetch), pageSize: 4 });
		log.open();
		await settle();
		log.setFilter('stderr');
		await settle();
		expect(server.calls.at(-1)).toBe('GET /api/v1/executions/x1/lines?tail=4&limit=4&stream=stderr');
		expect(log.total).toBe(10);
		log.ensure([1, 2]);
		await settle();
		expect(server.calls.at(-1)).toBe('GET /api/v1/executions/x1/lines?index=0&limit=4&stream=stderr');
		// the first page of stderr and its last page (the tail it opened with); the middle is not asked for
		expect(heldNumbers(log)).toEqual([3, 6, 9, 12, null, null, 21, 24, 27, 30]);
	});

	it('copies a small log from memory and a large one from the server', async () => {
		const { server, log } = setup(3);
		log.open();
		await settle();
		expect(await log.wholeText()).toEqual({ text: 'line 1\nline 2\nline 3', lines: 3 });
		expect(server.calls.some((c) => c.includes('/log'))).toBe(false);

		const big = setup(25);
		big.log.open();
		await settle();
		expect(await big.log.wholeText()).toMatchObject({ lines: 25 });
		expect(big.server.calls.at(-1)).toBe('GET /api/v1/executions/x1/log?ansi=strip');
	});

	it('holds no lines before it is opened, but counts them', async () => {
		const { server, log } = setup(0);
		log.pushLines(makeLines(1, 3));
		await settle();
		expect(log.held).toBe(0);
		expect(server.calls).toEqual([]);
	});

	it('reports a failed load and can retry', async () => {
		const { log, outage } = failingAtFirst(1);
		log.open();
		await settle();
		expect(log.phase).toBe('error');
		expect(log.error).toBe('db down');
		outage.down = false;
		log.retry();
		await settle();
		expect(log.phase).toBe('live');
		expect(heldNumbers(log)).toEqual([1]);
	});

	it('loads again on resync after its first load failed (the server was going down)', async () => {
		const { log, outage } = failingAtFirst(2);
		log.open();
		await settle();
		expect(log.phase).toBe('error');
		outage.down = false;
		log.resync();
		await settle();
		expect([log.phase, log.error]).toEqual(['live', null]);
		expect(heldNumbers(log)).toEqual([1, 2]);
	});
});
