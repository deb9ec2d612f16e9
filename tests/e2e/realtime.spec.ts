/**
 * The browser's side of "no lost event", against a real server: a restart (new epoch) is
 * answered with `reset`, and the task page says what it missed, reloads and goes on live; a
 * short network loss is answered with `resumed`, and the replay fills the gap without a reload
 * or a toast; a terminal close stays offline and says why until Retry now. Screenshots of the
 * indicator's states go to the test's output folder.
 */
import type { Page, WebSocket as PwWebSocket } from '@playwright/test';
import { AcoServer, Gates, test as base, expect } from './fixtures';
import { expectCompleteLogs } from './log-check';

// the gated workflow: its tool writes output only when the test opens a gate, so the connection
// is cut while the step still runs however slow the machine is
const test = base.extend<{ aco: AcoServer; gates: Gates }>({
	// eslint-disable-next-line no-empty-pattern
	gates: async ({}, use) => {
		const gates = new Gates();
		await use(gates);
		gates.remove();
	},
	aco: async ({ gates }, use) => {
		const server = new AcoServer(gates.options);
		await server.start();
		await use(server);
		await server.stop();
	}
});

const MISSED_TOAST = /Missed (\d+ )?updates? while disconnected — reloaded/;

/** Every control message the page's sockets receive, parsed. */
function recordControls(page: Page): { type: string; data: Record<string, unknown> }[] {
	const controls: { type: string; data: Record<string, unknown> }[] = [];
	page.on('websocket', (ws: PwWebSocket) => {
		ws.on('framereceived', ({ payload }) => {
			if (typeof payload !== 'string') return;
			const message = JSON.parse(payload) as { type: string; seq?: number; data: Record<string, unknown> };
			if (message.type !== 'batch' && typeof message.seq !== 'number') controls.push(message);
		});
	});
	return controls;
}

/** Starts the gated workflow and waits until its task is running with its first 5 lines written. */
async function runningBuild(aco: AcoServer) {
	const { run } = await aco.startRun('gated');
	const [build] = await aco.runTasks(run.id);
	await expect
		.poll(async () => (await aco.task(build.id)).executions[0]?.line_count ?? 0, { timeout: 30_000 })
		.toBe(5);
	return { run, build };
}

test('after a server restart the task page tells what it missed, reloads, and goes on live', async ({
	page,
	aco
}, testInfo) => {
	const controls = recordControls(page);
	const { build } = await runningBuild(aco);
	await page.goto(`${aco.url}/tasks/${build.id}`);
	const status = page.getByTestId('connection-status');
	await expect(status).toHaveAttribute('data-status', 'live');
	await expect(page.getByTestId('log-line').first()).toHaveAttribute('data-n', '1');
	await status.screenshot({ path: testInfo.outputPath('indicator-live.png') });

	await aco.stop();
	await expect(status).toHaveAttribute('data-status', /reconnecting|offline/);
	await expect(status).toHaveText(/Reconnecting|Offline/);
	await page.screenshot({ path: testInfo.outputPath('restart-reconnecting.png') });

	// hold the reload back, to see the indicator say so while the page catches up
	let release!: () => void;
	const held = new Promise<void>((resolve) => (release = resolve));
	await page.route('**/api/v1/tasks/*', async (route) => {
		await held;
		await route.continue();
	});
	await aco.start();
	await expect(status).toHaveAttribute('data-status', 'resyncing', { timeout: 45_000 });
	await expect(status).toContainText('Resyncing');
	await status.screenshot({ path: testInfo.outputPath('indicator-resyncing.png') });
	await expect(page.getByText(MISSED_TOAST)).toHaveCount(0);
	release();

	await expect(page.getByText(MISSED_TOAST)).toBeVisible();
	await expect(page.getByText(MISSED_TOAST)).toHaveCount(1);
	await expect(status).toHaveAttribute('data-status', 'live');
	const reset = controls.find((c) => c.type === 'reset');
	expect(reset?.data.reason).toMatch(/restart/);
	expect(controls.filter((c) => c.type === 'resumed')).toEqual([]);
	await page.screenshot({ path: testInfo.outputPath('restart-reloaded.png') });

	// the state after the reload is the server's: the restart interrupted the task
	const task = await aco.task(build.id);
	await expect(page.getByTestId('task-header')).toHaveAttribute('data-status', task.status);
	await expectCompleteLogs(page, aco, build.id);

	// live again on the same connection: a run started now appears without a page load
	await page.getByRole('link', { name: '← Dashboard' }).click();
	const second = await aco.startRun('gated');
	await expect(page.locator(`[data-testid="run-row"][data-run-id="${second.run.id}"]`)).toBeVisible();
	// one reset, so no second toast (the first may have gone away on its own by now)
	expect(controls.filter((c) => c.type === 'reset')).toHaveLength(1);
	expect(await page.getByText(MISSED_TOAST).count()).toBeLessThanOrEqual(1);
});

test('a short network loss resumes with a replay: every line once, no reload, no missed toast', async ({
	page,
	context,
	aco,
	gates
}, testInfo) => {
	const controls = recordControls(page);
	const { build } = await runningBuild(aco);
	const logFetches: string[] = [];
	page.on('request', (req) => {
		if (req.url().includes('/log')) logFetches.push(req.url());
	});
	await page.goto(`${aco.url}/tasks/${build.id}`);
	const status = page.getByTestId('connection-status');
	await expect(status).toHaveAttribute('data-status', 'live');
	const lines = page.getByTestId('execution').first().getByTestId('log-line');
	await expect(lines.first()).toHaveAttribute('data-n', '1');

	// the browser says it is offline: the client closes the socket and waits for `online`
	await context.setOffline(true);
	await expect(status).toHaveAttribute('data-status', 'offline');
	await expect(status).toContainText('no network');
	await status.screenshot({ path: testInfo.outputPath('indicator-offline-network.png') });
	// the tool writes 10 lines while the page is offline
	gates.open(1);
	await expect
		.poll(async () => (await aco.task(build.id)).executions[0].line_count, { timeout: 30_000 })
		.toBe(15);
	const fetchesBefore = logFetches.length;
	await context.setOffline(false);

	await expect(status).toHaveAttribute('data-status', 'live');
	await expect.poll(() => controls.some((c) => c.type === 'resumed' || c.type === 'reset')).toBe(true);
	const answer = controls.find((c) => c.type === 'resumed' || c.type === 'reset')!;
	expect(answer.type, `the hub answered the resume with ${JSON.stringify(answer)}`).toBe('resumed');
	expect(answer.data.replayed).toBeGreaterThan(0);
	// the replay brought the lines written meanwhile: nothing was fetched over REST for them
	expect(logFetches.slice(fetchesBefore)).toEqual([]);
	gates.open(2);

	await expect(page.getByTestId('task-header')).toHaveAttribute('data-status', 'succeeded', {
		timeout: 60_000
	});
	await expectCompleteLogs(page, aco, build.id);
	await expect(page.getByText(MISSED_TOAST)).toHaveCount(0);
	expect(controls.filter((c) => c.type === 'reset')).toEqual([]);
	await page.screenshot({ path: testInfo.outputPath('resumed-done.png'), fullPage: true });
});

test('a terminal close stays offline and says why; Retry now reconnects', async ({ page, aco }, testInfo) => {
	// keep the page's sockets reachable, to close one with a code from the "do not reconnect" range
	await page.addInitScript(() => {
		const Native = window.WebSocket;
		const sockets: WebSocket[] = [];
		(window as unknown as { acoSockets: WebSocket[] }).acoSockets = sockets;
		window.WebSocket = class extends Native {
			constructor(url: string | URL, protocols?: string | string[]) {
				super(url, protocols);
				sockets.push(this);
			}
		};
	});
	await page.goto(aco.url);
	const status = page.getByTestId('connection-status');
	await expect(status).toHaveAttribute('data-status', 'live');

	await page.evaluate(() =>
		(window as unknown as { acoSockets: WebSocket[] }).acoSockets.at(-1)!.close(4501)
	);
	await expect(status).toHaveAttribute('data-status', 'offline');
	await expect(status).toContainText('The page origin is not allowed. (code 4501)');
	await expect(page.getByText(/The server closed the connection/)).toBeVisible();
	await status.screenshot({ path: testInfo.outputPath('indicator-offline-closed.png') });
	await page.waitForTimeout(1500);
	expect(
		await page.evaluate(() => (window as unknown as { acoSockets: WebSocket[] }).acoSockets.length)
	).toBe(1);

	await status.getByRole('button', { name: 'Retry now' }).click();
	await expect(status).toHaveAttribute('data-status', 'live');
	expect(
		await page.evaluate(() => (window as unknown as { acoSockets: WebSocket[] }).acoSockets.length)
	).toBe(2);
});
