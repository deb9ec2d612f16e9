/**
 * The connection layer as a person meets it, against a real server in Chromium: two tabs on one
 * WebSocket, a hung leader taken over and a leader closed mid-stream, with no line lost or
 * repeated; a waiting reconnect
 * skipped when the tab becomes visible or the browser comes online; a graceful restart (1012)
 * back within a couple of seconds; pause and resume; the dashboard's slower rate; a subscription
 * the hub refuses, said on the page; and the /system page, with screenshots of it at 1280x800 and
 * 390x844 in both themes.
 */
import path from 'node:path';
import type { Page, Request } from '@playwright/test';
import type {
	AnyEventEnvelope,
	EventEnvelope,
	RealtimeStatsResponse,
	ServerMessage,
	TaskStatus
} from '../../src/lib/protocol';
import { connect } from '../helpers/ws-client';
import { ROOT } from '../helpers/server';
import { AcoServer, test as base, expect } from './fixtures';
import { expectCompleteLogs, readThrough } from './log-check';

const WORKFLOWS = path.join(ROOT, 'tests/fixtures/e2e-live');
// long enough to outlast any page load on a loaded machine; tests cancel it once they have seen enough
const LINES = 3000;

const test = base.extend<{ aco: AcoServer }>({
	// eslint-disable-next-line no-empty-pattern
	aco: async ({}, use) => {
		const server = new AcoServer({ workflowsDir: WORKFLOWS, env: { E2E_LIVE_LINES: String(LINES) } });
		await server.start();
		await use(server);
		await server.stop();
	}
});

const MISSED_TOAST = /Missed (\d+ )?updates? while disconnected/;

function hubStats(aco: AcoServer): Promise<RealtimeStatsResponse> {
	return aco.api<RealtimeStatsResponse>('GET', '/api/v1/realtime/stats');
}

/** What the page's own sockets receive: events (batches unpacked) and control messages. */
function recordFrames(page: Page) {
	const record = {
		sockets: 0,
		events: [] as (AnyEventEnvelope & { at: number })[],
		controls: [] as ServerMessage[]
	};
	page.on('websocket', (ws) => {
		record.sockets += 1;
		ws.on('framereceived', ({ payload }) => {
			if (typeof payload !== 'string') return;
			const message = JSON.parse(payload) as ServerMessage;
			const at = Date.now();
			if (message.type === 'batch') for (const e of message.events) record.events.push({ ...e, at });
			else if (typeof (message as { seq?: unknown }).seq === 'number') {
				record.events.push({ ...(message as AnyEventEnvelope), at });
			} else record.controls.push(message);
		});
	});
	return record;
}

/** Keeps the page's WebSockets countable and their closes on record. */
async function trackSockets(page: Page): Promise<void> {
	await page.addInitScript(() => {
		const Native = window.WebSocket;
		const log: { opened: number; closed?: number; code?: number }[] = [];
		(window as unknown as { acoSockets: typeof log }).acoSockets = log;
		window.WebSocket = class extends Native {
			constructor(url: string | URL, protocols?: string | string[]) {
				super(url, protocols);
				const entry: (typeof log)[number] = { opened: performance.now() };
				log.push(entry);
				this.addEventListener('close', (ev) => {
					entry.closed = performance.now();
					entry.code = ev.code;
				});
			}
		};
	});
}

function sockets(page: Page) {
	return page.evaluate(
		() =>
			(window as unknown as { acoSockets: { opened: number; closed?: number; code?: number }[] }).acoSockets
	);
}

async function startStream(aco: AcoServer) {
	const { run } = await aco.startRun('stream');
	const [task] = await aco.runTasks(run.id);
	await expect
		.poll(async () => (await aco.task(task!.id)).executions[0]?.line_count ?? 0, { timeout: 30_000 })
		.toBeGreaterThan(5);
	return task!;
}

/** Cancels a task that is still writing and waits until it has stopped. */
async function cancel(aco: AcoServer, taskId: string): Promise<TaskStatus> {
	await aco.api('POST', `/api/v1/tasks/${taskId}/cancel`);
	return finished(aco, taskId);
}

async function finished(aco: AcoServer, taskId: string): Promise<TaskStatus> {
	await expect
		.poll(async () => (await aco.task(taskId)).status, { timeout: 60_000 })
		.toMatch(/succeeded|failed|cancelled|interrupted/);
	return (await aco.task(taskId)).status;
}

test('two tabs share one connection; a hung leader is taken over, a closed one handed over, and no line is lost or repeated', async ({
	context,
	aco
}, testInfo) => {
	const task = await startStream(aco);
	const taskPage = `${aco.url}/tasks/${task.id}`;
	const first = await context.newPage();
	const firstFrames = recordFrames(first);
	const lineReads: string[] = [];
	let pendingReads = 0;
	first.on('request', (req) => {
		if (!req.url().includes('/api/')) return;
		pendingReads += 1;
		if (req.url().includes('/lines')) lineReads.push(req.url());
	});
	const answered = (req: Request) => {
		if (req.url().includes('/api/')) pendingReads -= 1;
	};
	first.on('requestfinished', answered);
	first.on('requestfailed', answered);
	await first.goto(taskPage);
	const status = first.getByTestId('connection-status');
	await expect(status).toHaveAttribute('data-status', 'live');
	await expect(first.getByTestId('log-line').first()).toBeVisible();
	// the tab's own start is over: what it fetched to join the stream (a gap between its first read
	// and the subscription taking effect, lines the server had not stored yet when asked) is in,
	// every line so far held, and it follows the end again
	await readThrough(first.getByTestId('log-lines'));
	await expect.poll(() => pendingReads).toBe(0);
	const readsBefore = lineReads.length;

	const second = await context.newPage();
	const secondFrames = recordFrames(second);
	await second.goto(taskPage);
	await expect(second.getByTestId('connection-status')).toHaveAttribute('data-status', 'live');
	await expect(second.getByTestId('log-line').first()).toBeVisible();
	// two tabs, one connection: the second opened no socket of its own
	await expect.poll(async () => (await hubStats(aco)).connections.active).toBe(1);
	expect([firstFrames.sockets, secondFrames.sockets]).toEqual([1, 0]);
	expect((await hubStats(aco)).connections.total_created).toBe(1);
	const lineCount = async () => (await aco.task(task.id)).executions[0]!.line_count;
	const resumes = (frames: ReturnType<typeof recordFrames>) =>
		frames.controls.filter((c) => c.type === 'resumed' || c.type === 'reset').map((c) => c.type);

	// the leading tab stops running (as a tab stuck in a long task): it keeps its locks and socket,
	// and the other tab takes the connection over, resuming from the last seq it had
	const debug = await context.newCDPSession(first);
	await debug.send('Debugger.enable');
	await debug.send('Debugger.pause');
	const hungAt = Date.now();
	await expect.poll(() => secondFrames.sockets, { intervals: [100], timeout: 30_000 }).toBe(1);
	testInfo.annotations.push({
		type: 'takeover',
		description: `the other tab opened its own socket ${Date.now() - hungAt} ms after the leader hung`
	});
	await expect.poll(() => resumes(secondFrames)).toEqual(['resumed']);
	let mark = await lineCount();
	await expect.poll(lineCount).toBeGreaterThan(mark + 20);

	// the hung tab comes back, sees it was replaced, closes its socket and follows: one connection
	await debug.send('Debugger.resume');
	await debug.send('Debugger.disable');
	await expect
		.poll(async () => (await hubStats(aco)).connections.active, { intervals: [100], timeout: 15_000 })
		.toBe(1);
	expect(firstFrames.sockets).toBe(1);

	// mid-stream, the tab leading now closes: the first takes over at once from the last seq
	mark = await lineCount();
	expect(mark).toBeLessThan(LINES);
	const closedAt = Date.now();
	await second.close();
	await expect.poll(() => firstFrames.sockets, { intervals: [50], timeout: 15_000 }).toBe(2);
	testInfo.annotations.push({
		type: 'handover',
		description: `the other tab opened its socket ${Date.now() - closedAt} ms after the leader closed`
	});
	await expect.poll(() => resumes(firstFrames)).toEqual(['resumed']);
	await expect.poll(lineCount).toBeGreaterThan(mark + 20);
	expect(await cancel(aco, task.id)).toBe('cancelled');
	await expect(first.getByTestId('task-header')).toHaveAttribute('data-status', 'cancelled');
	await expectCompleteLogs(first, aco, task.id);
	// the replays brought what no tab had passed on: no log line was fetched again
	expect(lineReads.slice(readsBefore)).toEqual([]);
	await expect(first.getByText(MISSED_TOAST)).toHaveCount(0);
	await expect(status).toHaveAttribute('data-status', 'live');
	const { connections } = await hubStats(aco);
	expect([connections.active, connections.total_created]).toEqual([1, 3]);
});

test('a page whose subscription the hub refuses says live updates are unavailable, and why, at desktop and phone sizes', async ({
	page,
	aco
}, testInfo) => {
	const task = await startStream(aco);
	const refusal = 'This connection already holds 32 subscriptions, the most allowed.';
	// between the page and the hub: the hub's answer to the task page's subscription becomes the
	// refusal it gives a 33rd (no page of the app makes that many since they are shared)
	await page.routeWebSocket(/\/ws/, (ws) => {
		const server = ws.connectToServer();
		server.onMessage((message) => {
			const parsed = JSON.parse(String(message)) as { type: string; data?: { id?: string; ref?: string } };
			if (parsed.type === 'subscribed' && parsed.data?.id?.startsWith('task:')) {
				ws.send(
					JSON.stringify({
						type: 'error',
						timestamp: new Date().toISOString(),
						data: { code: 'too_many_subscriptions', message: refusal, retryable: false, ref: parsed.data.ref }
					})
				);
				return;
			}
			ws.send(message);
		});
	});
	await page.setViewportSize({ width: 1280, height: 800 });
	await page.goto(`${aco.url}/tasks/${task.id}`);
	const status = page.getByTestId('connection-status');
	await expect(status).toHaveAttribute('data-status', 'unavailable');
	await expect(status).toContainText('Live updates unavailable');
	await expect(status).toContainText(refusal);
	// what the page shows is loaded all the same, just not kept live
	await expect(page.getByTestId('log-line').first()).toBeVisible();
	await page.screenshot({ path: testInfo.outputPath('unavailable-1280x800.png') });
	await page.setViewportSize({ width: 390, height: 844 });
	await expect(status).toBeInViewport();
	await page.screenshot({ path: testInfo.outputPath('unavailable-390x844.png') });
	expect(await cancel(aco, task.id)).toBe('cancelled');
});

test('a waiting reconnect happens at once when the tab becomes visible or the browser comes online', async ({
	page,
	aco
}) => {
	await trackSockets(page);
	await page.clock.install();
	await page.goto(aco.url);
	const status = page.getByTestId('connection-status');
	await expect(status).toHaveAttribute('data-status', 'live');
	// the page's timers stand still from here: no scheduled retry can fire by itself
	await page.clock.pauseAt(Date.now() + 2_000);

	for (const wake of ['visibilitychange', 'online'] as const) {
		await aco.stop('SIGKILL');
		await expect(status).toHaveAttribute('data-status', 'reconnecting');
		await expect(status).toContainText('Reconnecting');
		const before = (await sockets(page)).length;
		await aco.start();
		expect((await sockets(page)).length).toBe(before);
		await page.evaluate((type) => {
			if (type === 'online') window.dispatchEvent(new Event('online'));
			else document.dispatchEvent(new Event('visibilitychange'));
		}, wake);
		await expect(status).toHaveAttribute('data-status', 'live');
		expect((await sockets(page)).length).toBe(before + 1);
	}
});

test('after a graceful restart (1012) the page is back within a couple of seconds of the server', async ({
	page,
	aco
}, testInfo) => {
	await trackSockets(page);
	await page.goto(aco.url);
	const status = page.getByTestId('connection-status');
	await expect(status).toHaveAttribute('data-status', 'live');

	await aco.stop();
	await expect(status).toHaveAttribute('data-status', 'reconnecting');
	// the countdown shows the scheduled wait: after a restart it is never more than 2 s
	await expect(status).toContainText(/Reconnecting( in [12]s|…)/);
	await aco.start();
	const upAt = Date.now();
	await expect(status).toHaveAttribute('data-status', /live|resyncing/);
	const backMs = Date.now() - upAt;
	testInfo.annotations.push({
		type: 'restart',
		description: `back ${backMs} ms after the server listened again`
	});
	const log = await sockets(page);
	expect(log[0]!.code).toBe(1012);
	// every retry while the server was down followed the failure before it within the 2 s window
	// (plus what a loaded machine adds to a timer)
	const gaps = log.slice(1).map((socket, i) => socket.opened - log[i]!.closed!);
	expect(Math.max(...gaps)).toBeLessThan(3_500);
	expect(backMs).toBeLessThan(10_000);
});

test('pausing holds the page still and counts the updates; resuming applies them in order', async ({
	page,
	aco
}, testInfo) => {
	const task = await startStream(aco);
	const lineReads: string[] = [];
	page.on('request', (req) => {
		if (req.url().includes('/lines')) lineReads.push(req.url());
	});
	await page.goto(`${aco.url}/tasks/${task.id}`);
	await expect(page.getByTestId('connection-status')).toHaveAttribute('data-status', 'live');
	const rows = page.getByTestId('execution').first().getByTestId('log-lines');
	await expect(rows).toHaveAttribute('data-rows', /\d+/);

	await page.getByRole('button', { name: 'Pause live updates' }).click();
	const bar = page.getByTestId('paused-bar');
	await expect(bar).toBeVisible();
	const held = Number(await rows.getAttribute('data-rows'));
	await expect
		.poll(async () => (await aco.task(task.id)).executions[0]!.line_count, { timeout: 30_000 })
		.toBeGreaterThan(held + 20);
	await expect(page.getByTestId('paused-count')).toHaveText(/^([2-9]\d|\d{3,}) updates while paused$/);
	expect(Number(await rows.getAttribute('data-rows'))).toBe(held);
	await page.screenshot({ path: testInfo.outputPath('paused-task-page.png') });

	const readsBefore = lineReads.length;
	await bar.getByRole('button', { name: 'Resume' }).click();
	await expect(bar).toBeHidden();
	await expect.poll(async () => Number(await rows.getAttribute('data-rows'))).toBeGreaterThan(held + 20);
	expect(await cancel(aco, task.id)).toBe('cancelled');
	await expect(page.getByTestId('task-header')).toHaveAttribute('data-status', 'cancelled');
	await expectCompleteLogs(page, aco, task.id);
	// applied from what was held, in order: nothing had to be fetched again
	expect(lineReads.slice(readsBefore)).toEqual([]);
});

test('the dashboard asks the hub for at most 4 progress updates a second per task and still shows the last', async ({
	page,
	aco
}) => {
	const frames = recordFrames(page);
	await page.goto(aco.url);
	await expect(page.getByTestId('connection-status')).toHaveAttribute('data-status', 'live');
	// a client at full rate, for comparison
	const full = await connect(aco.url.replace(/^http/, 'ws') + '/ws');
	full.send({ type: 'subscribe', sub: 'all', filter: { types: ['task.*'] } });
	await full.nextOfType('subscribed');

	const { run } = await aco.startRun('fast-progress');
	const [task] = await aco.runTasks(run.id);
	expect(await finished(aco, task!.id)).toBe('succeeded');
	await full.next((m) => m.type === 'task.completed', 10_000);
	await expect.poll(() => frames.events.some((e) => e.type === 'task.completed')).toBe(true);
	const detail = await aco.task(task!.id);
	const seconds = (Date.parse(detail.finished_at!) - Date.parse(detail.started_at!)) / 1000;

	const progressOf = (events: ServerMessage[]) =>
		events.filter(
			(e): e is EventEnvelope<'task.progress'> =>
				e.type === 'task.progress' && (e as EventEnvelope<'task.progress'>).data.task_id === task!.id
		);
	const shown = progressOf(frames.events);
	const all = progressOf(full.messages);
	expect(all.length).toBeGreaterThan(30);
	expect(shown.length).toBeGreaterThanOrEqual(2);
	expect(shown.length).toBeLessThanOrEqual(Math.ceil(seconds * 4) + 2);
	// in seq order on the wire, and the task's last state is what the page shows
	const seqs = frames.events.map((e) => e.seq);
	expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
	await expect(page.locator(`[data-testid="task-row"][data-task-id="${task!.id}"]`)).toHaveAttribute(
		'data-status',
		'succeeded'
	);
	full.terminate();
});

test('the system page shows live figures with charts of the last ten minutes, at desktop and phone sizes', async ({
	page,
	aco
}, testInfo) => {
	await startStream(aco);
	await page.goto(`${aco.url}/system`);
	await expect(page.getByRole('heading', { name: 'System', level: 1 })).toBeVisible();
	const updated = page.getByTestId('system-updated');
	await expect(updated).toContainText(/Sample \d+/);
	const sample = async () => Number(/Sample (\d+)/.exec((await updated.textContent()) ?? '')?.[1] ?? 0);
	const first = await sample();
	// live: a new sample arrives over the hub, and the page holds a few for its charts
	await expect.poll(sample, { timeout: 15_000 }).toBeGreaterThan(first + 1);
	await expect(page.getByTestId('connections-value')).toHaveText(/^[1-9]\d*$/);
	await expect(page.getByTestId('messages-value')).toContainText('/s out');
	const charts = page.getByRole('img', { name: /, last \d+ (s|min)\./ });
	await expect(charts).toHaveCount(10);
	await expect(charts.first()).toHaveAttribute(
		'aria-label',
		/Live connections, last \d+ (s|min)\. connections: low \d+, high \d+, now \d+/
	);
	await expect(page.getByRole('link', { name: 'Prometheus metrics' })).toHaveAttribute('href', '/metrics');
	// the only tab holds the connection it would share with others
	await expect(page.getByTestId('tab-sharing')).toHaveAttribute('data-sharing', 'leader');

	// the keyboard reaches the links, with a visible focus ring
	await page.getByRole('link', { name: 'samples as JSON' }).focus();
	await expect(page.getByRole('link', { name: 'samples as JSON' })).toBeFocused();

	const noSidewaysScroll = () =>
		page.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth);
	await page.screenshot({ path: testInfo.outputPath('system-1280x800.png') });
	await page.setViewportSize({ width: 390, height: 844 });
	expect(await noSidewaysScroll()).toBe(true);
	await page.screenshot({ path: testInfo.outputPath('system-390x844.png') });
	await page.screenshot({ path: testInfo.outputPath('system-390x844-full.png'), fullPage: true });
	await page.emulateMedia({ colorScheme: 'dark' });
	await page.screenshot({ path: testInfo.outputPath('system-390x844-dark.png') });
	await page.setViewportSize({ width: 1280, height: 800 });
	await page.screenshot({ path: testInfo.outputPath('system-1280x800-dark.png') });
});
