import { describe, expect, it } from 'vitest';
import { ApiClient } from '$lib/api';
import { ExecutionLog } from '$lib/realtime/execution-log.svelte';
import { MAX_OUTLINE_ENTRIES } from '$lib/protocol';
import { makeLines, settle } from '$lib/realtime/test-fixtures';
import { LogViewer } from './log-viewer.svelte';
import { logServer } from './test-log-server';

function memoryStorage() {
	const items = new Map<string, string>();
	return {
		getItem: (key: string) => items.get(key) ?? null,
		setItem: (key: string, value: string) => void items.set(key, value),
		items
	};
}

function setup(count: number, line: number | null = null) {
	const server = logServer('x1', makeLines(1, count));
	const api = new ApiClient(server.fetch);
	const storage = memoryStorage();
	const log = new ExecutionLog('x1', { api, pageSize: 10 });
	const viewer = new LogViewer(log, { api, storage, line });
	return { server, log, viewer, storage };
}

describe('LogViewer', () => {
	it('follows the end, and counts the lines that arrive after the reader scrolls up', async () => {
		const { log, viewer } = setup(5);
		viewer.start();
		await settle();
		expect(viewer.following).toBe(true);
		viewer.noteScroll(false);
		for (const line of makeLines(6, 9)) log.push(line);
		await settle();
		expect(viewer.following).toBe(false);
		expect(viewer.unseen).toBe(4);
		viewer.follow();
		expect(viewer.unseen).toBe(0);
		expect(viewer.following).toBe(true);
	});

	it('opens at a linked line: not following, highlighted, asking the viewport to scroll there', async () => {
		const { viewer } = setup(100, 42);
		viewer.start();
		await settle();
		expect(viewer.following).toBe(false);
		expect(viewer.highlight).toBe(42);
		expect(viewer.scrollRequest?.row).toBe(41);
	});

	it('folds a group, remembers it per execution, and unfolds it to jump inside', async () => {
		const { server, viewer, storage } = setup(30);
		server.state.outline = {
			groups: [{ name: 'deps', start: 5, end: 15 }],
			annotations: [],
			progress: [],
			truncated: false
		};
		viewer.start();
		await settle();
		viewer.toggleGroup(5);
		expect(viewer.rows).toBe(20);
		expect(viewer.rowToPos(5)).toBe(16);
		expect(JSON.parse(storage.items.get('aco.log.folds.x1')!)).toEqual([5]);

		const again = new LogViewer(viewer.log, { api: new ApiClient(server.fetch), storage });
		expect(again.outline.collapsed.has(5)).toBe(true);

		viewer.jumpTo(10);
		expect(viewer.outline.collapsed.has(5)).toBe(false);
		expect(viewer.scrollRequest?.row).toBe(9);
	});

	it('searches on the server and steps through the matching lines', async () => {
		const { server, viewer } = setup(100);
		server.state.search = (url) => {
			const after = Number(url.searchParams.get('after') ?? 0);
			const all = [7, 50, 90]
				.filter((n) => n > after)
				.map((line) => ({ line, ranges: [[0, 4]] as [number, number][] }));
			return { total: 3, matches: all.slice(0, 2), truncated: all.length > 2 };
		};
		viewer.start();
		await settle();
		await viewer.find('line', false, false);
		expect(viewer.search.total).toBe(3);
		expect(viewer.highlight).toBe(7);
		expect(viewer.search.rangesOn(7)).toEqual([[0, 4]]);
		await viewer.findNext();
		await viewer.findNext();
		// the third match was not in the first answer: it was fetched
		expect(viewer.highlight).toBe(90);
		expect(server.calls.some((c) => c.includes('/search') && c.includes('after=50'))).toBe(true);
		await viewer.findPrevious();
		expect(viewer.highlight).toBe(50);
	});

	it('shows a live progress bar as one row that changes, and a link into it opens that row', async () => {
		const { log, viewer } = setup(5);
		viewer.start();
		await settle();
		const bar = (n: number, text: string, partial: boolean) =>
			({
				n,
				stream: 'stdout',
				ts: '2024-01-01T00:00:00.000Z',
				text,
				...(partial ? { partial } : {})
			}) as const;
		log.push(bar(6, '\r[#   ] 25%', true));
		await settle();
		expect(viewer.rows).toBe(6);
		log.push(bar(7, '\r[##  ] 50%', true));
		log.push(bar(8, '\r[### ] 75%', true));
		await settle();
		expect(viewer.rows).toBe(6);
		expect(viewer.rowToPos(5)).toBe(8);
		log.push(bar(9, '\r[####] 100%', false));
		log.push(bar(10, 'done', false));
		await settle();
		expect(viewer.rows).toBe(7);
		expect([viewer.rowToPos(5), viewer.rowToPos(6)]).toEqual([9, 10]);

		viewer.jumpTo(7);
		expect(viewer.scrollRequest?.row).toBe(5);
		expect(viewer.highlight).toBe(9);
	});

	it('opens no progress run from a snapshot whose previous line is not held (a stream filter)', async () => {
		const { log, viewer } = setup(5);
		viewer.start();
		await settle();
		viewer.setFilter('stdout');
		log.push({ n: 6, stream: 'stdout', ts: '2024-01-01T00:00:00.000Z', text: '\r50%', partial: true });
		log.push({ n: 7, stream: 'stdout', ts: '2024-01-01T00:00:00.000Z', text: '\r60%', partial: true });
		await settle();
		expect(viewer.outline.progress).toEqual([]);
	});

	it('keeps hidden command lines hidden as more arrive past the outline cap, so rows above do not move', async () => {
		const { log, viewer } = setup(0);
		viewer.start();
		await settle();
		const line = (n: number) =>
			({
				n,
				stream: 'stdout',
				ts: '2024-01-01T00:00:00.000Z',
				text: n % 2 ? `::progress value=${n % 100}::step ${n}` : `item ${n}`
			}) as const;
		// every odd line a command of its own: 2,000 more command ranges than an outline lists
		const count = 2 * (MAX_OUTLINE_ENTRIES + 2_000);
		for (let n = 1; n <= count; n++) log.push(line(n));
		await settle();
		// the first 10,000 commands hidden (as the server's outline has them), the 2,000 after shown
		expect(viewer.rows).toBe(count / 2 + 2_000);
		expect([viewer.posToRow(2), viewer.posToRow(4)]).toEqual([0, 1]);
		log.push(line(count + 1));
		await settle();
		expect(viewer.rows).toBe(count / 2 + 2_001);
		expect([viewer.posToRow(2), viewer.posToRow(4)]).toEqual([0, 1]);
	});
});
