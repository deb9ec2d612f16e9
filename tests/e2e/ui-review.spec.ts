/**
 * What a person saw in a review at 1280x800 and 390x844, signed in with a token: a run's card
 * keeps its status and percentage inside it on a phone, the header's controls fit a phone, the
 * first unread notification does not move the page, a log's line numbers are readable and its
 * error and warning list lines up, a workflow graph wider than a phone scrolls from the keyboard,
 * a task page asks for its run once, not on every progress event, and a cancelled run's badge is
 * readable.
 */
import fs from 'node:fs';
import path from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import type { Page } from '@playwright/test';
import { test as base, expect } from '@playwright/test';
import type { RunDetailResponse } from '../../src/lib/protocol';
import { ROOT, tempDir } from '../helpers/server';
import { AcoServer } from './fixtures';
import { runToEnd } from './pages-fixture';

const TOKEN = 'e2e-ui-review-operator-token-0123';
const PHONE = { width: 390, height: 844 };

/** the fixture workflows these tests look at, copied into one folder for one server */
const WORKFLOWS = [
	'e2e-logs/big.yml',
	'e2e-pages/failing.yml',
	'e2e-pages/longline.yml',
	'e2e-pages/pipeline.yml', // only looked at, never run (it waits for a gate)
	'e2e-pages/slow.yml'
];

const test = base.extend<object, { review: AcoServer }>({
	review: [
		// eslint-disable-next-line no-empty-pattern
		async ({}, use) => {
			const dir = tempDir('aco-ui-review-');
			for (const file of WORKFLOWS)
				fs.copyFileSync(path.join(ROOT, 'tests/fixtures', file), path.join(dir, path.basename(file)));
			const review = new AcoServer(
				{ workflowsDir: dir, env: { ACO_TOKEN: TOKEN, E2E_LOG_LINES: '3000' } },
				TOKEN
			);
			await review.start();
			await use(review);
			await review.stop();
			fs.rmSync(dir, { recursive: true, force: true });
		},
		{ scope: 'worker', timeout: 60_000 }
	]
});

async function signIn(page: Page, review: AcoServer, to: string): Promise<void> {
	await page.goto(review.url + to);
	await page.getByLabel('API token').fill(TOKEN);
	await page.getByRole('button', { name: 'Sign in' }).click();
	// signed in (on a phone the user menu is behind the header's Menu)
	await expect(page.getByTestId('user-menu')).toBeAttached();
	await expect(page.getByTestId('connection-status')).toHaveText(/Connected/);
	await expect(page.locator('[aria-busy="true"]')).toHaveCount(0);
}

/** how far each element's content reaches past its own box, by element */
function overflowPastBox(page: Page, selector: string): Promise<number[]> {
	return page.locator(selector).evaluateAll((els) => els.map((el) => el.scrollWidth - el.clientWidth));
}

test('on a phone a run card keeps its status and percentage inside it, and the signed-in header fits', async ({
	page,
	review
}) => {
	await runToEnd(review, 'longline');
	await page.setViewportSize(PHONE);
	await signIn(page, review, '/');
	const card = page.locator('[data-testid="run-row"][data-status="succeeded"]').first();
	await expect(card).toContainText('Workflow longline');
	await expect(card).toContainText('Succeeded');
	for (const overflow of await overflowPastBox(page, '[data-testid="run-row"]')) expect(overflow).toBe(0);

	// operator badge, Sign out (behind the header's Menu on a phone), the bell, Pause and
	// "Connected": none cut off at the screen's edge
	await page.getByRole('button', { name: 'Menu' }).click();
	for (const control of [
		page.getByTestId('user-menu'),
		page.getByTestId('notification-bell'),
		page.getByTestId('connection-status')
	]) {
		const box = (await control.boundingBox())!;
		expect(box.x).toBeGreaterThanOrEqual(0);
		expect(box.x + box.width).toBeLessThanOrEqual(PHONE.width);
	}
});

test('the first unread notification does not make the header taller or move the page', async ({
	page,
	review
}) => {
	await signIn(page, review, '/');
	const bell = page.getByTestId('notification-bell');
	const before = {
		bell: (await bell.boundingBox())!.height,
		main: (await page.locator('main').boundingBox())!.y
	};
	await review.startRun('failing');
	await expect(page.getByTestId('unread-count')).toBeVisible();
	expect((await bell.boundingBox())!.height).toBe(before.bell);
	expect((await page.locator('main').boundingBox())!.y).toBe(before.main);
});

test("a log's line numbers pass a contrast check and its errors and warnings line up in columns on a phone", async ({
	page,
	review
}) => {
	const { tasks } = await runToEnd(review, 'big');
	await page.setViewportSize(PHONE);
	await signIn(page, review, `/tasks/${tasks[0].id}`);
	const log = page.getByTestId('log-lines');
	await expect(log.locator('[data-n="3000"]')).toBeVisible();

	// "Deprecated flag --legacy" is longer than "3 tests failed": it must not squeeze its row's columns
	const annotations = page.getByTestId('log-annotations');
	await expect(annotations.locator('li')).toHaveCount(2);
	const lefts = await annotations
		.locator('.message')
		.evaluateAll((els) => els.map((el) => Math.round(el.getBoundingClientRect().left)));
	expect(new Set(lefts).size).toBe(1);

	// 4-digit line numbers on the dark log, the warning's and the error's rows included
	const results = await new AxeBuilder({ page })
		.setLegacyMode()
		.include('[data-testid="log-lines"]')
		.withRules(['color-contrast'])
		.analyze();
	expect(
		results.violations.flatMap((v) => v.nodes.map((n) => `${n.target.join(' ')}: ${n.failureSummary}`))
	).toEqual([]);
});

test('a workflow graph wider than a phone takes focus and scrolls from the keyboard; on a wide screen it is no tab stop', async ({
	page,
	review
}) => {
	await signIn(page, review, '/workflows/pipeline');
	const graph = page.getByTestId('task-graph');
	await expect(graph.getByTestId('graph-node')).toHaveCount(4);
	await expect(graph).toHaveAttribute('tabindex', '-1');

	await page.setViewportSize(PHONE);
	await expect(graph).toHaveAttribute('tabindex', '0');
	const axe = await new AxeBuilder({ page })
		.setLegacyMode()
		.include('[data-testid="task-graph"]')
		.withRules(['scrollable-region-focusable'])
		.analyze();
	expect(axe.violations).toEqual([]);
	// reached with Tab from the Run button above it, then scrolled with the arrow keys
	await page.getByRole('button', { name: 'Run', exact: true }).focus();
	await page.keyboard.press('Tab');
	await page.keyboard.press('Tab');
	await expect(graph).toBeFocused();
	await page.keyboard.press('ArrowRight');
	await expect.poll(() => graph.evaluate((el) => el.scrollLeft)).toBeGreaterThan(0);
});

test('a task page asks for its run once, not again on every progress event', async ({ page, review }) => {
	const { run } = await review.startRun('slow');
	const tasks = await review.runTasks(run.id);
	const runPath = `/api/v1/runs/${run.id}`;
	let fetches = 0;
	page.on('request', (request) => {
		if (new URL(request.url()).pathname === runPath) fetches++;
	});
	await signIn(page, review, `/tasks/${tasks[0].id}`);
	const header = page.getByTestId('task-header');
	await expect(header.getByRole('link', { name: /^slow ·/ })).toBeVisible();
	// the tool reports progress every 0.3 s: wait for five more reports
	const progress = () => header.getByRole('progressbar').getAttribute('aria-valuenow').then(Number);
	const start = await progress();
	await expect.poll(progress).toBeGreaterThanOrEqual(start + 5);
	expect(fetches).toBe(1);
	await review.api('POST', `${runPath}/cancel`);
});

test("a cancelled run's status badge passes a contrast check in the light theme", async ({
	page,
	review
}) => {
	const { run } = await review.startRun('slow');
	await review.api('POST', `/api/v1/runs/${run.id}/cancel`);
	await expect
		.poll(async () => (await review.api<RunDetailResponse>('GET', `/api/v1/runs/${run.id}`)).run.status)
		.toBe('cancelled');
	await signIn(page, review, '/runs?status=cancelled');
	const badge = page.getByTestId('run-row').locator('[data-status="cancelled"]').first();
	await expect(badge).toHaveText(/Cancelled/);
	const results = await new AxeBuilder({ page })
		.setLegacyMode()
		.include('[data-status="cancelled"]')
		.withRules(['color-contrast'])
		.analyze();
	expect(results.violations.flatMap((v) => v.nodes.map((n) => n.failureSummary))).toEqual([]);
});
