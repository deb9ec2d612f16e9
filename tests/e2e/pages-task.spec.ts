/**
 * The task page, log first: steps beside a log that fills the viewport, the running step
 * selected and followed (unless the reader picked one), workflow command lines hidden behind a
 * toggle, a split long line shown and copied as one line, downloads named for what they hold.
 */
import fs from 'node:fs';
import type { Page } from '@playwright/test';
import { expect, pageWidthOverflow, taskOf, test } from './pages-fixture';

function rowTexts(page: Page): Promise<{ n: string | null; text: string; cont: boolean }[]> {
	return page.getByTestId('log-line').evaluateAll((els) =>
		els
			.map((el) => ({
				y: el.getBoundingClientRect().top,
				n: el.getAttribute('data-n'),
				text: el.querySelector('.text')?.textContent ?? '',
				cont: el.getAttribute('data-continuation') === 'true'
			}))
			.sort((a, b) => a.y - b.y)
			.map(({ n, text, cont }) => ({ n, text, cont }))
	);
}

test('the log fills the viewport beside the steps, and the view moves to each step as it starts unless one was picked', async ({
	page,
	pages
}) => {
	const { run } = await pages.startRun('steps');
	const [task] = await pages.runTasks(run.id);
	await page.goto(`${pages.url}/tasks/${task.id}`);
	const steps = page.getByTestId('step');
	const log = page.getByTestId('log-lines');
	await expect(steps.first()).toBeVisible();

	// log first: beside the steps, down to the bottom of the window
	const logBox = (await log.boundingBox())!;
	const stepsBox = (await steps.first().boundingBox())!;
	expect(stepsBox.x + stepsBox.width).toBeLessThanOrEqual(logBox.x);
	expect(logBox.y + logBox.height).toBeLessThanOrEqual(800);
	expect(logBox.y + logBox.height).toBeGreaterThan(700);
	expect(logBox.height).toBeGreaterThan(350);

	// the running step is the one shown, and the view follows to the next when it starts
	await expect(page.getByRole('heading', { name: /^Step 1: First/ })).toBeVisible();
	pages.gates.open('steps-1');
	await expect(page.getByRole('heading', { name: /^Step 2: Second/ })).toBeVisible();
	await expect(steps.nth(1)).toHaveAttribute('aria-current', 'step');
	// it follows its newest lines: the last of 60 is in view, no "Follow" button
	await expect(log.getByText('second 60', { exact: true })).toBeInViewport();
	await expect(page.getByTestId('log-follow')).toHaveCount(0);

	// picked: the first step stays on screen when the third starts
	await steps.first().click();
	await expect(page.getByRole('heading', { name: /^Step 1: First/ })).toBeVisible();
	pages.gates.open('steps-2');
	await expect(steps.nth(2)).toHaveAttribute('data-status', 'running');
	await expect(page.getByRole('heading', { name: /^Step 1: First/ })).toBeVisible();
	await expect(steps.first()).toHaveAttribute('aria-current', 'step');
	await page.getByTestId('follow-running').click();
	await expect(page.getByRole('heading', { name: /^Step 3: Third/ })).toBeVisible();
	pages.gates.open('steps-3');
	await expect(steps.nth(2)).toHaveAttribute('data-status', 'succeeded');
});

test('workflow command lines are hidden until the Commands toggle shows them, and the download keeps them', async ({
	page,
	pages,
	finished
}) => {
	const { tasks } = finished.pipeline;
	const build = await pages.task(taskOf(tasks, 'build').id);
	const compile = build.executions[0];
	await page.goto(`${pages.url}/tasks/${build.id}?exec=${compile.id}`);
	const log = page.getByTestId('log-lines');
	await expect(log.getByText('compiled module 10')).toBeVisible();
	// 20 lines: 10 output lines shown, 10 ::progress lines left out
	await expect(log).toHaveAttribute('data-rows', '10');
	expect((await rowTexts(page)).some((row) => row.text.includes('::progress'))).toBe(false);

	await page.getByTestId('show-commands').check();
	await expect(log).toHaveAttribute('data-rows', '20');
	await expect(log.getByText('::progress value=10::compiling 1', { exact: true })).toBeVisible();
	await page.getByTestId('show-commands').uncheck();
	await expect(log).toHaveAttribute('data-rows', '10');

	// the download is what the tool printed, command lines and all
	const [download] = await Promise.all([
		page.waitForEvent('download'),
		page.getByRole('link', { name: 'Download', exact: true }).click()
	]);
	expect(download.suggestedFilename()).toBe('pipeline-build-compile.log');
	const file = fs.readFileSync((await download.path())!, 'utf8');
	expect(file).toBe(await pages.logText(compile.id));
	expect(file).toContain('::progress value=10::compiling 1\n');

	// the next step: a group is a fold, its ::endgroup:: takes no row
	await page.getByTestId('step').nth(1).click();
	await expect(page.getByTestId('log-group')).toHaveText(/Linker/);
	const texts = (await rowTexts(page)).map((row) => row.text);
	expect(texts).toContain('linking b');
	expect(texts.some((t) => t.includes('endgroup'))).toBe(false);
});

test('a line split for length is one line with a continuation mark, and Copy joins it without newlines', async ({
	page,
	context,
	pages,
	finished
}) => {
	await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: pages.url });
	const { run, tasks } = finished.longline;
	const task = await pages.task(taskOf(tasks, 'print').id);
	const execution = task.executions[0];
	await page.goto(`${pages.url}/tasks/${task.id}`);
	const log = page.getByTestId('log-lines');
	await expect(log.getByText('after', { exact: true })).toBeVisible();
	const rows = await rowTexts(page);
	// stored as 5 lines (before, three pieces, after): numbered 1, 2, 5 with two continuations
	expect(rows.map((row) => (row.cont ? '↪' : row.n))).toEqual(['1', '2', '↪', '↪', '5']);
	expect(rows[1].text).toBe('x'.repeat(1000));

	await page.getByRole('button', { name: 'Copy' }).click();
	await expect(page.getByText('Copied 3 lines')).toBeVisible();
	const clipboard = await page.evaluate(() => navigator.clipboard.readText());
	expect(clipboard).toBe(`before\n${'x'.repeat(1000)}${'y'.repeat(1000)}${'z'.repeat(500)}\nafter`);

	// downloads named for what they hold
	const names: string[] = [];
	for (const name of ['with ANSI', 'NDJSON']) {
		const [download] = await Promise.all([
			page.waitForEvent('download'),
			page.getByRole('link', { name }).click()
		]);
		names.push(download.suggestedFilename());
	}
	expect(names).toEqual(['longline-print-long-line.ansi.log', 'longline-print-long-line.ndjson']);
	const [all] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-all').click()]);
	expect(all.suggestedFilename()).toBe('longline-print.log');
	const text = fs.readFileSync((await all.path())!, 'utf8');
	expect(text).toBe(
		`=== Print › Step 1/1: Long line · succeeded, exit code 0 ===\n${await pages.logText(execution.id)}`
	);

	await page.goto(`${pages.url}/runs/${run.id}`);
	const [runLog] = await Promise.all([
		page.waitForEvent('download'),
		page.getByRole('link', { name: 'Download all logs' }).click()
	]);
	expect(runLog.suggestedFilename()).toMatch(/^longline-run-[a-z0-9_-]+\.log$/);

	// on a phone the long line scrolls inside the log, never the page
	await page.setViewportSize({ width: 390, height: 844 });
	await page.goto(`${pages.url}/tasks/${task.id}`);
	await expect(log.getByText('after', { exact: true })).toBeVisible();
	expect(await log.evaluate((el) => el.scrollWidth > el.clientWidth)).toBe(true);
	expect(await pageWidthOverflow(page)).toBe(0);
});
