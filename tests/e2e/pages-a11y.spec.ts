/**
 * Every page at 1280x800 (light) and 390x844 (dark): no serious or critical accessibility
 * violations (axe), nothing scrolls sideways on a phone, screenshots for a person to look at;
 * and the keyboard reaches the controls with a visible focus ring.
 */
import AxeBuilder from '@axe-core/playwright';
import type { Page } from '@playwright/test';
import { expect, pageWidthOverflow, runToEnd, taskOf, test } from './pages-fixture';

async function seriousViolations(page: Page): Promise<string[]> {
	const results = await new AxeBuilder({ page })
		.withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'])
		.exclude('.aco-toaster')
		.analyze();
	return results.violations
		.filter((v) => v.impact === 'serious' || v.impact === 'critical')
		.map(
			(v) =>
				`${v.id} (${v.impact}): ${v.nodes
					.map((n) => n.target.join(' '))
					.slice(0, 3)
					.join(' | ')}`
		);
}

async function pagePaths(pages: Parameters<typeof runToEnd>[0]): Promise<[string, string][]> {
	const failed = await runToEnd(pages, 'failing');
	const pipeline = await runToEnd(pages, 'pipeline');
	const build = taskOf(pipeline.tasks, 'build');
	return [
		['dashboard', '/'],
		['runs', '/runs'],
		['run', `/runs/${pipeline.run.id}`],
		['run-failed', `/runs/${failed.run.id}`],
		['workflows', '/workflows'],
		['workflow', '/workflows/pipeline'],
		['workflow-broken', '/workflows/broken'],
		['task', `/tasks/${build.id}`],
		['not-found', '/no/such/page'],
		['task-not-found', '/tasks/task_missing']
	];
}

async function open(page: Page, url: string): Promise<void> {
	await page.goto(url);
	await expect(page.getByTestId('connection-status')).toHaveText(/Connected/);
	await expect(page.locator('[aria-busy="true"]')).toHaveCount(0);
}

test('every page at 1280x800 in the light theme passes an accessibility scan, with screenshots', async ({
	page,
	pages
}, testInfo) => {
	test.setTimeout(240_000);
	const problems: string[] = [];
	for (const [name, path] of await pagePaths(pages)) {
		await open(page, pages.url + path);
		for (const v of await seriousViolations(page)) problems.push(`${name}: ${v}`);
		await page.screenshot({ path: testInfo.outputPath(`${name}-1280.png`), fullPage: true });
	}
	expect(problems).toEqual([]);
});

test('every page at 390x844 in the dark theme fits the width, with screenshots; the main ones pass a scan', async ({
	page,
	pages
}, testInfo) => {
	test.setTimeout(240_000);
	await page.setViewportSize({ width: 390, height: 844 });
	await page.emulateMedia({ colorScheme: 'dark' });
	const scanned = new Set(['dashboard', 'run-failed', 'workflow-broken', 'task']);
	const problems: string[] = [];
	for (const [name, path] of await pagePaths(pages)) {
		await open(page, pages.url + path);
		const overflow = await pageWidthOverflow(page);
		if (overflow > 0) problems.push(`${name} scrolls sideways by ${overflow}px`);
		if (scanned.has(name)) for (const v of await seriousViolations(page)) problems.push(`${name}: ${v}`);
		await page.screenshot({ path: testInfo.outputPath(`${name}-390.png`), fullPage: true });
	}
	expect(problems).toEqual([]);
});

test('the keyboard reaches the controls in order with a visible focus ring', async ({ page, pages }) => {
	await page.goto(pages.url);
	await expect(page.getByTestId('connection-status')).toHaveText(/Connected/);
	await page.keyboard.press('Tab');
	const skip = page.getByRole('link', { name: 'Skip to content' });
	await expect(skip).toBeFocused();
	await expect(skip).toBeInViewport();
	const ring = () =>
		page.evaluate(() => {
			const el = document.activeElement as HTMLElement;
			const style = getComputedStyle(el);
			return {
				tag: el.tagName,
				outline: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2
			};
		});
	expect((await ring()).outline).toBe(true);
	const reached: string[] = [];
	for (let i = 0; i < 12; i++) {
		await page.keyboard.press('Tab');
		const { tag, outline } = await ring();
		expect(outline).toBe(true);
		reached.push(
			await page.evaluate(
				() => (document.activeElement as HTMLElement).textContent?.trim().slice(0, 20) ?? ''
			)
		);
		expect(['A', 'BUTTON', 'SELECT', 'INPUT', 'SUMMARY', 'DIV']).toContain(tag);
	}
	expect(reached).toEqual(expect.arrayContaining(['Dashboard', 'Runs', 'Workflows', 'Run']));
	// the bell opens with Enter and closes with Escape, focus back on it
	await page.getByTestId('notification-bell').focus();
	await page.keyboard.press('Enter');
	await expect(page.getByTestId('notification-panel')).toBeVisible();
	await page.keyboard.press('Escape');
	await expect(page.getByTestId('notification-bell')).toBeFocused();
});
