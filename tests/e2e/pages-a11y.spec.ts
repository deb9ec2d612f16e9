/**
 * Every page at 1280x800 (light) and 390x844 (dark): no serious or critical accessibility
 * violations (axe; every page in the light theme, the main ones in the dark one too), nothing
 * scrolls sideways on a phone, screenshots for a person to look at (with ACO_E2E_SCREENSHOTS=1, in
 * test-results/); and the keyboard reaches the
 * controls with a visible focus ring.
 */
import AxeBuilder from '@axe-core/playwright';
import type { Page } from '@playwright/test';
import { expect, pageWidthOverflow, taskOf, test, type FinishedRuns } from './pages-fixture';

async function seriousViolations(page: Page): Promise<string[]> {
	// legacy mode runs axe in the page itself; the default opens a page per scan to merge frames' results (we have none)
	const results = await new AxeBuilder({ page })
		.setLegacyMode()
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

function pagePaths({ pipeline, failing }: FinishedRuns): [string, string][] {
	return [
		['dashboard', '/'],
		['runs', '/runs'],
		['run', `/runs/${pipeline.run.id}`],
		['run-failed', `/runs/${failing.run.id}`],
		['workflows', '/workflows'],
		['workflow', '/workflows/pipeline'],
		['workflow-broken', '/workflows/broken'],
		['task', `/tasks/${taskOf(pipeline.tasks, 'build').id}`],
		['not-found', '/no/such/page'],
		['task-not-found', '/tasks/task_missing']
	];
}

/** the pages also scanned in the dark theme on a phone */
const SCANNED_DARK = new Set(['run-failed', 'task']);

/** screenshots cost seconds a page: taken when a person will look at them (ACO_E2E_SCREENSHOTS=1) */
const SCREENSHOTS = process.env.ACO_E2E_SCREENSHOTS === '1';

test('every page passes an accessibility scan at 1280x800 in the light theme and fits 390x844 in the dark one, with screenshots', async ({
	page,
	pages,
	finished
}, testInfo) => {
	test.setTimeout(240_000);
	const problems: string[] = [];
	for (const [name, path] of pagePaths(finished)) {
		await page.setViewportSize({ width: 1280, height: 800 });
		await page.emulateMedia({ colorScheme: 'light' });
		await page.goto(pages.url + path);
		await expect(page.getByTestId('connection-status')).toHaveText(/Connected/);
		await expect(page.locator('[aria-busy="true"]')).toHaveCount(0);
		for (const v of await seriousViolations(page)) problems.push(`${name}: ${v}`);
		if (SCREENSHOTS) await page.screenshot({ path: testInfo.outputPath(`${name}-1280.png`), fullPage: true });

		// the same page on a phone, dark: laid out again, not loaded again
		await page.setViewportSize({ width: 390, height: 844 });
		await page.emulateMedia({ colorScheme: 'dark' });
		await page.evaluate(
			() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))
		);
		const overflow = await pageWidthOverflow(page);
		if (overflow > 0) problems.push(`${name} scrolls sideways by ${overflow}px at 390px`);
		if (SCANNED_DARK.has(name))
			for (const v of await seriousViolations(page)) problems.push(`${name} (dark): ${v}`);
		if (SCREENSHOTS) await page.screenshot({ path: testInfo.outputPath(`${name}-390.png`), fullPage: true });
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
