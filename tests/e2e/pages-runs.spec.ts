/**
 * Runs and workflows as a person sees them: a workflow page with its graph and YAML starts a run;
 * the run page draws the tasks as the graph their needs make, live, with ticking durations and
 * the failing task and its error highlighted; a box opens its task; Cancel and Re-run; /runs
 * filters and pages; a file that does not load shows its error and line; the dashboard links runs.
 */
import { expect, pageWidthOverflow, runToEnd, taskOf, test } from './pages-fixture';

test('a workflow page shows its graph and YAML, and Run opens the run, drawn as a live graph left to right', async ({
	page,
	pages
}) => {
	await page.goto(`${pages.url}/workflows/pipeline`);
	await expect(page.getByRole('heading', { name: 'pipeline', level: 1 })).toBeVisible();
	await expect(page.locator('p.description')).toHaveText(/Set up, then build and test side by side/);
	const yaml = page.getByTestId('yaml-source');
	await expect(yaml).toContainText('needs: [build, test]');
	// highlighted: keys are marked up apart from their values
	expect(await yaml.locator('.hljs-attr').count()).toBeGreaterThan(5);

	await page.getByRole('button', { name: 'Run', exact: true }).click();
	await expect(page).toHaveURL(/\/runs\/run_/);
	const header = page.getByTestId('run-header');
	const graph = page.getByTestId('task-graph');
	const node = (key: string) => graph.locator(`[data-testid="graph-node"][data-key="${key}"]`);
	await expect(graph.getByTestId('graph-node')).toHaveCount(4);
	// left to right by needs: set up, then build and test in one column, then package
	const x = async (key: string) => (await node(key).boundingBox())!.x;
	expect(await x('setup')).toBeLessThan(await x('build'));
	expect(await x('build')).toBe(await x('test'));
	expect(await x('test')).toBeLessThan(await x('package'));
	expect(await graph.locator('path[data-edge="build>package"]').count()).toBe(1);
	// live: package waits for its gate while the rest is done
	await expect(node('build')).toHaveAttribute('data-status', 'succeeded');
	await expect(node('package')).toHaveAttribute('data-status', 'running');
	await expect(header).toHaveAttribute('data-status', 'running');
	// by weight: set up 1, build 2 and test 1 done, package 1 not yet: 4 of 5
	await expect(header.getByRole('progressbar')).toHaveAttribute('aria-valuenow', '80');
	// to the end without a reload
	pages.gates.open('pack');
	await expect(header).toHaveAttribute('data-status', 'succeeded');
	await expect(node('package')).toHaveAttribute('data-status', 'succeeded');
	await expect(node('package')).toContainText('Succeeded');
	await expect(header.getByRole('progressbar')).toHaveAttribute('aria-valuenow', '100');

	// a box opens its task, whose page links back to the run
	const runUrl = page.url();
	await node('build').getByRole('link').click();
	await expect(page.getByRole('heading', { name: 'Build', level: 1 })).toBeVisible();
	await page.getByTestId('task-run-link').click();
	await expect(page).toHaveURL(runUrl);
});

test('a failed run shows how far it got in the failure colour and names the failing task and its error', async ({
	page,
	pages,
	finished
}) => {
	const { run, tasks } = finished.failing;
	expect(run.status).toBe('failed');
	await page.goto(`${pages.url}/runs/${run.id}`);
	const header = page.getByTestId('run-header');
	await expect(header).toHaveAttribute('data-status', 'failed');
	// the compile task got to 40 % of half the weight: not a full red bar
	const bar = header.getByRole('progressbar');
	await expect(bar).toHaveAttribute('aria-valuenow', '20');
	await expect(bar).toHaveAttribute('aria-valuetext', /20%, failed/);
	const fill = await bar.locator('.fill').evaluate((el) => getComputedStyle(el).backgroundColor);
	const red = await page.evaluate(() => {
		const probe = document.createElement('span');
		probe.style.color = 'var(--red)';
		document.body.append(probe);
		const colour = getComputedStyle(probe).color;
		probe.remove();
		return colour;
	});
	expect(fill).toBe(red);
	await expect(page.getByTestId('run-failure')).toContainText('Task Compile failed');
	await expect(page.getByTestId('run-failure')).toContainText('exited with code 2');
	const failing = page.locator('[data-testid="graph-node"][data-failing="true"]');
	await expect(failing).toHaveCount(1);
	await expect(failing).toHaveAttribute('data-key', 'compile');
	await expect(failing).toContainText('exited with code 2');
	await expect(page.getByTestId('run-failure').getByRole('link', { name: 'Compile' })).toHaveAttribute(
		'href',
		`/tasks/${taskOf(tasks, 'compile').id}`
	);

	// Re-run starts a new run of the same workflow and opens it
	await page.getByRole('button', { name: 'Re-run' }).click();
	await expect(page).not.toHaveURL(new RegExp(run.id));
	await expect(page.getByTestId('run-header')).toHaveAttribute('data-status', /running|failed/);
	await expect(page.getByRole('heading', { level: 1 })).toContainText('failing');
});

test('a running run moves live from the dashboard to its page: links, ticking durations, progress before any task ends; Cancel stops it', async ({
	page,
	pages
}) => {
	await page.goto(pages.url);
	await expect(page.getByTestId('connection-status')).toHaveText(/Connected/);
	const { run } = await pages.startRun('slow');
	// the dashboard links the run and its workflow, and a running task's duration ticks
	const card = page.locator(`[data-testid="run-row"][data-run-id="${run.id}"]`);
	await expect(card.getByRole('link', { name: 'slow', exact: true })).toHaveAttribute(
		'href',
		'/workflows/slow'
	);
	const running = page.getByTestId('running-task').first();
	const taskDuration = running.getByTestId('task-duration');
	await expect(taskDuration).toHaveText(/\d/);
	const firstShown = await taskDuration.textContent();
	await expect(taskDuration).not.toHaveText(firstShown!);
	// it counts on in seconds, never stuck at "0 ms"
	await expect(taskDuration).toHaveText(/^\d+(\.\d)? s$/);
	// recent tasks say which run and workflow they belong to
	const row = page.getByTestId('task-row').filter({ hasText: 'Wait' }).first();
	await expect(row.getByRole('link', { name: 'slow', exact: true })).toBeVisible();
	await expect(row.getByRole('link', { name: /^run / })).toHaveAttribute('href', `/runs/${run.id}`);

	await card.getByRole('link', { name: /^run / }).click();
	await expect(page).toHaveURL(new RegExp(`/runs/${run.id}$`));
	const header = page.getByTestId('run-header');
	const node = page.locator('[data-testid="graph-node"][data-key="wait"]');
	await expect(node).toHaveAttribute('data-status', 'running');
	await expect(node).toContainText('Running');
	const duration = node.getByTestId('graph-duration');
	const first = await duration.textContent();
	await expect(duration).not.toHaveText(first!);
	const runDuration = header.getByTestId('run-duration');
	const shown = await runDuration.textContent();
	await expect(runDuration).not.toHaveText(shown!);
	// the run's bar follows its only task's own progress
	await expect
		.poll(async () => Number(await header.getByRole('progressbar').getAttribute('aria-valuenow')))
		.toBeGreaterThan(0);
	await header.getByRole('button', { name: 'Cancel' }).click();
	await expect(header).toHaveAttribute('data-status', 'cancelled', { timeout: 20_000 });
	await expect(header.getByRole('button', { name: 'Cancel' })).toHaveCount(0);
	await expect(node).toHaveAttribute('data-status', 'cancelled');

	// not-found pages keep the app's layout and offer a way back
	await page.goto(`${pages.url}/runs/run_does_not_exist`);
	await expect(page.getByRole('heading', { name: 'Run not found' })).toBeVisible();
	await expect(page.getByRole('navigation', { name: 'Main' })).toBeVisible();
	await page.goto(`${pages.url}/no/such/page`);
	await expect(page.getByTestId('error-page')).toContainText('Page not found');
	await expect(page.getByRole('navigation', { name: 'Main' })).toBeVisible();
	await page.getByTestId('error-page').getByRole('link', { name: 'Runs' }).click();
	await expect(page).toHaveURL(/\/runs$/);
});

test('/runs lists every run, filters by workflow and status, pages, and shows new runs live', async ({
	page,
	pages,
	finished
}) => {
	expect(finished.failing.run.status).toBe('failed');
	await Promise.all([runToEnd(pages, 'quick'), runToEnd(pages, 'quick')]);
	await runToEnd(pages, 'quick');
	await page.goto(`${pages.url}/runs?workflow=quick&per_page=2`);
	const rows = page.getByTestId('run-row');
	await expect(rows).toHaveCount(2);
	await expect(page.getByTestId('filter-workflow')).toHaveValue('quick');
	const firstPage = await rows.evaluateAll((els) => els.map((el) => el.getAttribute('data-run-id')));
	await page.getByRole('button', { name: 'Older →' }).click();
	await expect(page.getByTestId('page-number')).toHaveText('Page 2');
	await expect(page).toHaveURL(/page=2/);
	await expect(rows.first()).not.toHaveAttribute('data-run-id', firstPage[0]!);
	const secondPage = await rows.evaluateAll((els) => els.map((el) => el.getAttribute('data-run-id')));
	expect(secondPage.some((id) => firstPage.includes(id))).toBe(false);
	await page.getByRole('button', { name: '← Newer' }).click();
	await expect(page.getByTestId('page-number')).toHaveText('Page 1');

	// live: a new run of the filtered workflow appears at the top
	const { run } = await pages.startRun('quick');
	await expect(rows.first()).toHaveAttribute('data-run-id', run.id);

	await page.getByTestId('filter-status').selectOption('failed');
	await expect(page).toHaveURL(/status=failed/);
	await expect(page.getByText('No runs match these filters.')).toBeVisible();
	await page.getByTestId('filter-workflow').selectOption('');
	await page.getByTestId('filter-status').selectOption('failed');
	await expect(rows.first()).toHaveAttribute('data-status', 'failed');
	for (const status of await rows.evaluateAll((els) => els.map((el) => el.getAttribute('data-status'))))
		expect(status).toBe('failed');
});

test('a workflow file that does not load shows its error with the line, and the box fits a phone', async ({
	page,
	pages
}) => {
	await page.setViewportSize({ width: 390, height: 844 });
	await page.goto(`${pages.url}/workflows`);
	const error = page.getByTestId('workflow-error');
	await expect(error).toContainText("unknown task 'does-not-exist-anywhere-in-this-workflow-file'");
	await error.getByRole('link').click();
	const box = page.getByTestId('workflow-load-error');
	await expect(box).toContainText('line 7');
	// the reason names the line already: the heading does not say it again
	await expect(box.locator('strong')).toHaveText('This workflow file does not load:');
	await expect(box).toContainText('broken-with-a-rather-long-file-name');
	const marked = page.locator('[data-testid="yaml-source"] li.error-line');
	await expect(marked).toHaveAttribute('data-line', '7');
	await expect(page.getByTestId('yaml-error-line')).toContainText('unknown task');
	// no Run for a file that does not load; the long path wraps inside the box
	await expect(page.getByRole('button', { name: 'Run', exact: true })).toHaveCount(0);
	const boxWidth = await box.evaluate((el) => el.scrollWidth - el.clientWidth);
	expect(boxWidth).toBe(0);
	expect(await pageWidthOverflow(page)).toBe(0);
});
