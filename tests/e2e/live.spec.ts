/**
 * What a person sees: the dashboard runs the demo workflow live, a task page streams its log
 * with Copy and Download, failures raise toasts, and the page recovers from a server restart.
 */
import fs from 'node:fs';
import { test, expect } from './fixtures';

test('the dashboard runs the demo workflow and shows its progress rise to 100 with a failure toast', async ({
	page,
	aco
}, testInfo) => {
	await page.goto(aco.url);
	await expect(page.getByTestId('connection-status')).toHaveText(/Connected/);
	const demo = page.getByTestId('workflow-row').filter({ has: page.getByText('demo', { exact: true }) });
	await demo.getByRole('button', { name: 'Run' }).click();

	const run = page.getByTestId('run-row').first();
	await expect(run).toHaveAttribute('data-status', 'running');
	const bar = run.getByRole('progressbar');
	const seen = new Set<number>();
	const risesTo100 = expect
		.poll(
			async () => {
				const value = Number(await bar.getAttribute('aria-valuenow'));
				seen.add(value);
				return value;
			},
			{ timeout: 90_000, intervals: [250] }
		)
		.toBe(100);
	// meanwhile the optional lint task fails on purpose: an error toast names it and links to it
	// (checked while it shows: a toast goes away on its own, and a busy machine makes the run long)
	const toast = page.getByRole('status').filter({ hasText: 'Task "Lint (flaky)" failed' });
	const toastLinks = (async () => {
		await expect(toast.first()).toBeVisible({ timeout: 90_000 });
		const lint = (
			await aco.api<{ tasks: { id: string; key: string }[] }>('GET', '/api/v1/tasks?status=failed')
		).tasks.find((t) => t.key === 'flaky-lint')!;
		await expect(toast.first().getByRole('link', { name: 'Open task' })).toHaveAttribute(
			'href',
			`/tasks/${lint.id}`
		);
	})();
	await Promise.all([risesTo100, toastLinks]);
	// it rose through the middle rather than jumping from nothing to done
	expect([...seen].some((v) => v > 0 && v < 100)).toBe(true);
	await expect(run).toHaveAttribute('data-status', 'succeeded');
	await expect(run).toContainText(/succeeded/i);

	await expect(page.getByTestId('task-row').filter({ hasText: 'Lint (flaky)' })).toHaveAttribute(
		'data-status',
		'failed'
	);
	// every column fits: a long result ends in an ellipsis rather than running off the card
	const table = page.getByRole('table').filter({ has: page.getByTestId('task-row') });
	expect(await table.evaluate((el) => el.parentElement!.scrollWidth - el.parentElement!.clientWidth)).toBe(0);
	await page.screenshot({ path: testInfo.outputPath('dashboard-after-run.png'), fullPage: true });
});

test('a task page streams the log live from line 1, and Download and Copy give the whole log', async ({
	page,
	context,
	gated: { aco, gates }
}, testInfo) => {
	// the gated tool: 5 lines, then 10 per opened gate, so the page opens on a log of known length
	await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: aco.url });
	const { run } = await aco.startRun('gated');
	const [build] = await aco.runTasks(run.id);
	// join while the task is running: the output so far comes over REST, the rest live
	await expect
		.poll(async () => (await aco.task(build.id)).executions[0]?.line_count ?? 0, { timeout: 30_000 })
		.toBe(5);
	await page.goto(`${aco.url}/tasks/${build.id}`);
	await expect(page.getByRole('heading', { name: 'Build', level: 1 })).toBeVisible();

	const panel = page.getByTestId('execution').first();
	const lines = panel.getByTestId('log-line');
	await expect(lines.first()).toHaveAttribute('data-n', '1');
	await expect(panel.locator('[data-testid="log-line"][data-n="5"]')).toBeVisible();
	// the view is virtualized (the rows in the DOM stay bounded): watch the newest line drawn
	const newestDrawn = async () =>
		Math.max(...(await lines.evaluateAll((els) => els.map((el) => Number(el.getAttribute('data-n'))))));
	gates.open(1);
	await expect.poll(newestDrawn, { timeout: 20_000 }).toBe(15);
	await page.screenshot({ path: testInfo.outputPath('task-live.png'), fullPage: true });
	gates.open(2);

	await expect(page.getByTestId('task-header')).toHaveAttribute('data-status', 'succeeded', {
		timeout: 60_000
	});
	const task = await aco.task(build.id);
	const execution = task.executions[0];
	const expected = await aco.logText(execution.id);
	expect(expected.split('\n').length - 1).toBe(execution.line_count);

	// no gap and no duplicate: the (virtualized) view has N rows, 1..N in order from top to bottom
	const scroller = panel.getByTestId('log-lines');
	await expect(scroller).toHaveAttribute('data-rows', String(execution.line_count));
	const drawn = () =>
		panel.getByTestId('log-line').evaluateAll((els) =>
			els
				.map((el) => ({ n: Number(el.getAttribute('data-n')), y: el.getBoundingClientRect().top }))
				.sort((a, b) => a.y - b.y)
				.map((row) => row.n)
		);
	const consecutive = (numbers: number[]) => numbers.map((_, i) => numbers[0] + i);
	const bottom = await drawn();
	expect(bottom).toEqual(consecutive(bottom));
	expect(bottom.at(-1)).toBe(execution.line_count);
	await scroller.evaluate((el) => (el.scrollTop = 0));
	await expect(panel.locator('[data-testid="log-line"][data-n="1"]')).toBeInViewport();
	const top = await drawn();
	expect(top).toEqual(consecutive(top));
	expect(top[0]).toBe(1);
	await expect(panel.getByTestId('log-line').filter({ hasText: 'compile' }).first()).toBeVisible();

	const [download] = await Promise.all([
		page.waitForEvent('download'),
		panel.getByRole('link', { name: 'Download' }).click()
	]);
	const file = fs.readFileSync((await download.path())!, 'utf8');
	expect(file).toBe(expected);

	await panel.getByRole('button', { name: 'Copy' }).click();
	await expect(page.getByText(`Copied ${execution.line_count} lines`)).toBeVisible();
	const clipboard = await page.evaluate(() => navigator.clipboard.readText());
	expect(clipboard.replace(/\n$/, '')).toBe(expected.replace(/\n$/, ''));
	await page.screenshot({ path: testInfo.outputPath('task-done.png'), fullPage: true });
});

test('the page reconnects on its own after a server restart and shows what changed meanwhile', async ({
	page,
	aco
}, testInfo) => {
	await page.goto(aco.url);
	const status = page.getByTestId('connection-status');
	await expect(status).toHaveText(/Connected/);
	const { run } = await aco.startRun('demo');
	const runRow = page.locator(`[data-testid="run-row"][data-run-id="${run.id}"]`);
	await expect(runRow).toHaveAttribute('data-status', 'running');
	await expect(page.getByTestId('task-row').filter({ hasText: 'Set up' })).toHaveAttribute(
		'data-status',
		/running|succeeded/
	);

	await aco.stop();
	await expect(status).toHaveText(/Reconnecting|Offline/);
	await expect(page.getByText(/Connection lost/).first()).toBeVisible();
	await page.screenshot({ path: testInfo.outputPath('reconnecting.png'), fullPage: true });

	// the stop interrupted the run; the page learns that only after it reconnects
	await aco.start();
	await expect(status).toHaveText(/Connected/, { timeout: 45_000 });
	await expect(page.getByText('Connection restored').first()).toBeVisible();
	await expect(runRow).toHaveAttribute('data-status', 'interrupted');
	await expect(page.getByTestId('task-row').filter({ hasText: 'Set up' }).first()).toHaveAttribute(
		'data-status',
		/succeeded|interrupted/
	);

	// and it is live again: a new run started now shows up without a refresh
	const second = await aco.startRun('demo');
	await expect(page.locator(`[data-testid="run-row"][data-run-id="${second.run.id}"]`)).toBeVisible();
	await page.screenshot({ path: testInfo.outputPath('reconnected.png'), fullPage: true });
});
