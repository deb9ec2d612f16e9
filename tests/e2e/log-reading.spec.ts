/**
 * A reader scrolled up in a live log keeps their place: a slow touch drag on a phone stops
 * following (it is not undone by the next line), and the next step starting does not take the
 * page away from the step being read. The `reading` workflow (tests/fixtures/e2e-pages) streams a
 * line every 50 ms in each step until the test opens the step's gate.
 */
import type { Page } from '@playwright/test';
import { expect, test, type PagesServer } from './pages-fixture';
import { restingRows, visibleNumbers } from './log-check';

/** lines the open log holds (its `data-total`) */
async function total(page: Page): Promise<number> {
	return Number(await page.getByTestId('log-lines').getAttribute('data-total'));
}

/** waits until the log has had `count` more lines than it has now */
async function linesArrive(page: Page, count: number): Promise<void> {
	const from = await total(page);
	await expect
		.poll(() => total(page), { timeout: 20_000, intervals: [20, 50, 100] })
		.toBeGreaterThanOrEqual(from + count);
}

/** opens a `reading` run's task page and waits until its first step streams, followed */
async function openStreaming(page: Page, pages: PagesServer): Promise<string> {
	const { run } = await pages.startRun('reading');
	const [task] = await pages.runTasks(run.id);
	await page.goto(`${pages.url}/tasks/${task.id}`);
	await expect(page.getByRole('heading', { name: /^Step 1: Stream/ })).toBeVisible();
	await expect.poll(() => total(page), { timeout: 20_000 }).toBeGreaterThan(90);
	await expect(page.getByTestId('log-follow')).toHaveCount(0);
	return task.id;
}

test.describe('on a phone', () => {
	test.use({ hasTouch: true, viewport: { width: 390, height: 844 } });

	test('a slow drag up stops following and the view stays where the finger left it', async ({
		page,
		pages
	}) => {
		const taskId = await openStreaming(page, pages);
		const log = page.getByTestId('log-lines');
		await log.scrollIntoViewIfNeeded();
		const box = (await log.boundingBox())!;
		const x = Math.round(box.x + box.width / 2);
		let y = Math.round(box.y + box.height / 3);
		const cdp = await page.context().newCDPSession(page);
		const touch = (type: 'touchStart' | 'touchMove' | 'touchEnd') =>
			cdp.send('Input.dispatchTouchEvent', { type, touchPoints: type === 'touchEnd' ? [] : [{ x, y }] });

		// a finger moving down a few pixels per line that arrives: each step alone ends within the
		// slack of the bottom, where a scroll event alone reads as "still at the end"
		await touch('touchStart');
		for (let i = 0; i < 30; i++) {
			y += 4;
			await touch('touchMove');
			await linesArrive(page, 1);
		}
		await touch('touchEnd');

		const follow = page.getByTestId('log-follow');
		await expect(follow).toBeVisible();
		const held = await restingRows(page);
		const atRelease = await log.evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight);
		expect(atRelease).toBeGreaterThan(40);
		// paused: lines keep coming, the rows under the finger stay, the button counts them
		await linesArrive(page, 10);
		expect(await visibleNumbers(page)).toEqual(held);
		await expect(follow).toHaveText(/↓ \d+ new lines/);
		await page.screenshot({ path: test.info().outputPath('touch-paused-390.png') });

		await follow.click();
		await expect(follow).toHaveCount(0);
		await pages.api('POST', `/api/v1/tasks/${taskId}/cancel`);
	});
});

test('a reader scrolled up in the running step keeps it on screen when the next step starts', async ({
	page,
	pages
}) => {
	await openStreaming(page, pages);
	const log = page.getByTestId('log-lines');
	await log.hover();
	await page.mouse.wheel(0, -400);
	await expect(page.getByTestId('log-follow')).toBeVisible();
	const held = await restingRows(page);
	expect(Math.max(...held)).toBeLessThan(await total(page));

	pages.gates.open('reading-1');
	const steps = page.getByTestId('step');
	await expect(steps.nth(1)).toHaveAttribute('data-status', 'running');
	await expect(steps.first()).toHaveAttribute('data-status', 'succeeded');
	// the second step streams, the page still shows the first where the reader left it
	await expect(page.getByRole('heading', { name: /^Step 1: Stream/ })).toBeVisible();
	await expect(steps.first()).toHaveAttribute('aria-current', 'step');
	expect(await visibleNumbers(page)).toEqual(held);
	const followRunning = page.getByTestId('follow-running');
	await expect(followRunning).toBeVisible();
	await page.screenshot({ path: test.info().outputPath('reading-pinned-1280.png') });
	await page.setViewportSize({ width: 390, height: 844 });
	await expect(page.getByRole('heading', { name: /^Step 1: Stream/ })).toBeVisible();
	await page.screenshot({ path: test.info().outputPath('reading-pinned-390.png'), fullPage: true });
	await page.setViewportSize({ width: 1280, height: 800 });

	// at the end of the finished step (its result, its error: what the reader came for) the page
	// stays on it; only a running step lets go when its end is reached
	await log.focus();
	await page.keyboard.press('End');
	await expect(page.getByTestId('log-follow')).toHaveCount(0);
	await expect(page.getByRole('heading', { name: /^Step 1: Stream/ })).toBeVisible();
	await expect(steps.first()).toHaveAttribute('aria-current', 'step');
	await expect(log.getByTestId('log-line').last()).toBeInViewport();

	// back to the running step, and on to the next as it starts
	await followRunning.click();
	await expect(page.getByRole('heading', { name: /^Step 2: Next/ })).toBeVisible();
	await expect(page.getByTestId('log-follow')).toHaveCount(0);
	pages.gates.open('reading-2');
	await expect(steps.nth(1)).toHaveAttribute('data-status', 'succeeded');
});

test('a search jumps to its match in each step picked in turn', async ({ page, pages }) => {
	// both gates open (as the test above leaves them): each step prints its 80 lines and ends
	pages.gates.open('reading-1');
	pages.gates.open('reading-2');
	const { run } = await pages.startRun('reading');
	const [task] = await pages.runTasks(run.id);
	await page.goto(`${pages.url}/tasks/${task.id}`);
	const steps = page.getByTestId('step');
	await expect(steps.nth(1)).toHaveAttribute('data-status', 'succeeded');
	const search = page.getByTestId('log-search');
	const current = page.locator('[data-testid="log-line"][aria-current="true"]');

	await steps.first().click();
	await expect(page.getByRole('heading', { name: /^Step 1: Stream/ })).toBeVisible();
	await search.fill('first 3');
	await search.press('Enter');
	await expect(current).toHaveAttribute('data-n', '3');
	await expect(current).toBeInViewport();

	// the next step's log numbers its jumps afresh: its first is not taken for one already made
	await steps.nth(1).click();
	await expect(page.getByRole('heading', { name: /^Step 2: Next/ })).toBeVisible();
	await search.fill('next 3');
	await search.press('Enter');
	await expect(current).toHaveAttribute('data-n', '3');
	await expect(current).toBeInViewport();
});
