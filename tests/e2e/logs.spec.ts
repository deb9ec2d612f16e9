/**
 * The log view at size, in Chromium against the real server: a 200,000-line log opens at its
 * end fast and scrolls anywhere by range requests; a 10,000 lines/s stream keeps the main thread
 * free; follow mode pauses and resumes, and a paused view of a 600,000-line log (a scaled scroll
 * space) holds still as it grows; search, line links, folding, download and copy work.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Page } from '@playwright/test';
import type { LogOutlineResponse } from '../../src/lib/protocol';
import { ROOT } from '../helpers/server';
import { AcoServer, Gates, test as base, expect } from './fixtures';
import { restingRows, visibleNumbers } from './log-check';

const WORKFLOWS = path.join(ROOT, 'tests/fixtures/e2e-logs');
const BIG_LINES = 200_000;

interface Ran {
	taskId: string;
	executionId: string;
}

async function runOnly(server: AcoServer, workflow: string): Promise<string> {
	const { run } = await server.startRun(workflow);
	const [task] = await server.runTasks(run.id);
	return task.id;
}

async function finished(server: AcoServer, taskId: string): Promise<Ran> {
	await expect
		.poll(async () => (await server.task(taskId)).status, { timeout: 90_000, intervals: [250] })
		.toBe('succeeded');
	const task = await server.task(taskId);
	return { taskId, executionId: task.executions[0].id };
}

const test = base.extend<object, { logs: AcoServer; big: Ran; streamGate: Gates }>({
	// the stream workflow starts when the test opens this gate, once its page shows
	streamGate: [
		// eslint-disable-next-line no-empty-pattern
		async ({}, use) => {
			const gates = new Gates();
			await use(gates);
			gates.remove();
		},
		{ scope: 'worker' }
	],
	logs: [
		async ({ streamGate }, use) => {
			const server = new AcoServer({
				workflowsDir: WORKFLOWS,
				env: { E2E_LOG_LINES: String(BIG_LINES), ACO_E2E_GATES: streamGate.dir }
			});
			await server.start();
			await use(server);
			await server.stop();
		},
		{ scope: 'worker', timeout: 60_000 }
	],
	big: [
		async ({ logs }, use) => use(await finished(logs, await runOnly(logs, 'big'))),
		{ scope: 'worker', timeout: 120_000 }
	]
});

// tall enough that the task header and the log panel are both on screen; no trace, whose
// recorder snapshots the DOM on the page's main thread and would be measured as long tasks
test.use({ viewport: { width: 1280, height: 1100 }, trace: 'off' });

function panel(page: Page) {
	return page.getByTestId('execution').first();
}

test('a 200,000-line log opens at its last line and shows the right lines in the middle', async ({
	page,
	logs,
	big
}, testInfo) => {
	// timed in the page, from the start of navigation to the first frame that shows the last line
	// on screen: what a person sees, without Playwright's polling interval on top
	await page.addInitScript((last) => {
		const w = window as unknown as { lastLineShownAt?: number };
		const check = () => {
			const row = document.querySelector(`[data-testid="log-line"][data-n="${last}"]`);
			const scroller = row?.closest('[data-testid="log-lines"]');
			// drawn with its text, not the placeholder of a line still on its way
			if (row && scroller && !row.querySelector('.loading')) {
				const r = row.getBoundingClientRect();
				const box = scroller.getBoundingClientRect();
				if (r.height > 0 && r.top >= box.top - 1 && r.bottom <= box.bottom + 1 && r.top < innerHeight) {
					w.lastLineShownAt = performance.now();
					return;
				}
			}
			requestAnimationFrame(check);
		};
		requestAnimationFrame(check);
	}, BIG_LINES);
	await page.goto(`${logs.url}/tasks/${big.taskId}`);
	await expect(panel(page).locator(`[data-testid="log-line"][data-n="${BIG_LINES}"]`)).toBeInViewport();
	const shownAt = await page.waitForFunction(
		() => (window as unknown as { lastLineShownAt?: number }).lastLineShownAt
	);
	const openMs = Math.round((await shownAt.jsonValue()) as number);
	// a figure to read, not a bar to pass: a test must not fail because the machine is busy
	testInfo.annotations.push({ type: 'open-ms', description: String(openMs) });
	console.log(`200,000-line log: last line visible after ${openMs} ms`);
	await expect(panel(page).getByTestId('line-count')).toHaveText('200,000');
	// only what is on screen is in the DOM
	expect(await panel(page).getByTestId('log-line').count()).toBeLessThan(200);
	await page.screenshot({ path: testInfo.outputPath('big-log-end.png'), fullPage: true });

	const scroller = page.getByTestId('log-lines');
	await scroller.evaluate((el) => (el.scrollTop = el.scrollHeight / 2));
	await expect(
		panel(page)
			.getByText(/^row 99\d{3} ok/)
			.first()
	).toBeVisible();
	const numbers = await visibleNumbers(page);
	expect(numbers.length).toBeGreaterThan(10);
	// consecutive lines around the middle, each showing its own text
	expect(numbers).toEqual(numbers.map((_, i) => numbers[0] + i));
	expect(Math.abs(numbers[0] - BIG_LINES / 2)).toBeLessThan(100);
	for (const n of numbers.slice(0, 5)) {
		await expect(panel(page).locator(`[data-testid="log-line"][data-n="${n}"]`)).toContainText(`row ${n} `);
	}
	// and the very top is line 1
	await scroller.evaluate((el) => (el.scrollTop = 0));
	await expect(panel(page).locator('[data-testid="log-line"][data-n="1"]')).toContainText('row 1 ok');
	expect((await visibleNumbers(page))[0]).toBe(1);
});

test('the end of the log shows ANSI colours, folds groups and lists errors and warnings', async ({
	page,
	logs,
	big
}, testInfo) => {
	await page.goto(`${logs.url}/tasks/${big.taskId}`);
	const log = panel(page);
	await expect(log.locator(`[data-testid="log-line"][data-n="${BIG_LINES}"]`)).toBeInViewport();
	// colours are classes and spans, never markup from the log
	const lines = log.getByTestId('log-lines');
	await expect(lines.locator('.fg-green', { hasText: 'green' })).toBeVisible();
	await expect(lines.getByText('<script>alert("not html")</script> stays text')).toBeVisible();
	await expect(lines.locator('script')).toHaveCount(0);
	await expect(lines.getByRole('link', { name: 'a safe link' })).toHaveAttribute(
		'rel',
		'noopener noreferrer'
	);
	await expect(lines.getByText('an unsafe one')).toBeVisible();
	await expect(lines.getByRole('link', { name: 'an unsafe one' })).toHaveCount(0);
	// the \r progress line shows its final state only
	await expect(lines.getByText('100%|##########| done')).toBeVisible();
	await expect(lines.getByText(/50%\|#####/)).toHaveCount(0);

	// timestamps on and off
	await log.getByRole('checkbox', { name: 'Timestamps' }).check();
	await expect(lines.locator('.ts').first()).toHaveText(/^\d\d:\d\d:\d\d\.\d{3}$/);
	await log.getByRole('checkbox', { name: 'Timestamps' }).uncheck();
	await expect(lines.locator('.ts')).toHaveCount(0);

	const annotations = log.getByTestId('log-annotations');
	await expect(annotations).toContainText('1 error');
	await expect(annotations).toContainText('1 warning');
	await page.screenshot({ path: testInfo.outputPath('ansi-groups.png'), fullPage: true });

	const group = log.getByTestId('log-group').filter({ hasText: 'Build summary' });
	await expect(lines.getByText(/^app\.js/)).toBeVisible();
	await group.click();
	await expect(group).toHaveAttribute('aria-expanded', 'false');
	await expect(lines.getByText('deploying to staging')).toBeVisible();
	await expect(lines.getByText(/^app\.js/)).toHaveCount(0);
	await page.screenshot({ path: testInfo.outputPath('group-folded.png'), fullPage: true });
	// remembered across a reload
	await page.reload();
	await expect(log.getByTestId('log-group').filter({ hasText: 'Build summary' })).toHaveAttribute(
		'aria-expanded',
		'false'
	);
	await log.getByTestId('log-group').filter({ hasText: 'Build summary' }).click();

	// an annotation jumps to its line
	await annotations.getByRole('button', { name: /3 tests failed/ }).click();
	await expect(log.locator('[aria-current="true"]')).toHaveAttribute('data-n', String(BIG_LINES - 1));
});

test('search counts matches in the whole log, steps through them and highlights them in place', async ({
	page,
	logs,
	big
}, testInfo) => {
	await page.goto(`${logs.url}/tasks/${big.taskId}`);
	const log = panel(page);
	await expect(log.locator(`[data-testid="log-line"][data-n="${BIG_LINES}"]`)).toBeInViewport();
	const search = log.getByTestId('log-search');
	// the option boxes show editor marks (.* and Aa) but are named for what they do
	await expect(log.getByRole('checkbox', { name: 'Regular expression' })).not.toBeChecked();
	await expect(log.getByRole('checkbox', { name: 'Match case' })).not.toBeChecked();
	await search.fill('checkpoint');
	await search.press('Enter');
	// every 1000th line of the 199,986 regular ones
	await expect(log.getByTestId('search-summary')).toHaveText('1 of 199 lines');
	const current = log.locator('[data-testid="log-line"][aria-current="true"]');
	await expect(current).toHaveAttribute('data-n', '1000');
	await expect(current).toBeInViewport();
	await expect(current.locator('mark')).toHaveText('checkpoint');
	await log.getByRole('button', { name: 'Next match' }).click();
	await expect(log.getByTestId('search-summary')).toHaveText('2 of 199 lines');
	await expect(current).toHaveAttribute('data-n', '2000');
	await page.screenshot({ path: testInfo.outputPath('search-highlight.png'), fullPage: true });

	await search.fill('row 123456 ');
	await search.press('Enter');
	await expect(log.getByTestId('search-summary')).toHaveText('1 of 1 lines');
	await expect(current).toHaveAttribute('data-n', '123456');
	await expect(current).toBeInViewport();
});

test('a line link opens the log at that line, highlighted, though it was never loaded', async ({
	page,
	logs,
	big
}) => {
	await page.goto(`${logs.url}/tasks/${big.taskId}`);
	const log = panel(page);
	await expect(log.locator(`[data-testid="log-line"][data-n="${BIG_LINES}"]`)).toBeInViewport();
	// under load the tail can still move by a few rows as the list settles, between Playwright's
	// stability check and the click (once the click landed on the last line's link): click again
	// until the link of the line asked for is the one followed
	await expect(async () => {
		await log.getByRole('link', { name: `Link to line ${BIG_LINES - 5}` }).click();
		await expect(page).toHaveURL(
			`${logs.url}/tasks/${big.taskId}?exec=${big.executionId}#L${BIG_LINES - 5}`,
			{
				timeout: 2_000
			}
		);
	}).toPass({ timeout: 15_000 });

	await page.goto(`${logs.url}/tasks/${big.taskId}?exec=${big.executionId}#L54321`);
	const row = log.locator('[data-testid="log-line"][data-n="54321"]');
	await expect(row).toBeInViewport();
	await expect(row).toHaveAttribute('aria-current', 'true');
	await expect(row).toContainText('row 54321 ok');
});

test('Download gives the whole log as text or NDJSON, and Copy copies all 200,000 lines', async ({
	page,
	context,
	logs,
	big
}) => {
	await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: logs.url });
	await page.goto(`${logs.url}/tasks/${big.taskId}`);
	const log = panel(page);
	await expect(log.locator(`[data-testid="log-line"][data-n="${BIG_LINES}"]`)).toBeInViewport();

	const expected = await (
		await fetch(`${logs.url}/api/v1/executions/${big.executionId}/log?ansi=strip`)
	).text();
	const [text] = await Promise.all([
		page.waitForEvent('download'),
		log.getByRole('link', { name: 'Download' }).click()
	]);
	expect(fs.readFileSync((await text.path())!, 'utf8')).toBe(expected);
	expect(expected.split('\n')).toHaveLength(BIG_LINES + 1);

	const [ndjson] = await Promise.all([
		page.waitForEvent('download'),
		log.getByRole('link', { name: 'NDJSON' }).click()
	]);
	const rows = fs
		.readFileSync((await ndjson.path())!, 'utf8')
		.trimEnd()
		.split('\n');
	expect(rows).toHaveLength(BIG_LINES);
	expect(JSON.parse(rows[41])).toMatchObject({ n: 42, stream: 'stdout', text: 'row 42 ok ............' });

	await log.getByRole('button', { name: 'Copy' }).click();
	await expect(page.getByText('Copied 200,000 lines')).toBeVisible();
	const clipboard = await page.evaluate(() => navigator.clipboard.readText());
	expect(clipboard.split('\n')).toHaveLength(BIG_LINES);
	expect(clipboard.split('\n')[122]).toBe('row 123 ok ...');
});

test('follow mode pauses when the reader scrolls up and resumes from the "new lines" button', async ({
	page,
	logs
}) => {
	const taskId = await runOnly(logs, 'ticker');
	await page.goto(`${logs.url}/tasks/${taskId}`);
	const log = panel(page);
	const lineCount = async () =>
		Number((await log.getByTestId('line-count').textContent())!.replace(/,/g, ''));
	await expect.poll(lineCount, { timeout: 20_000 }).toBeGreaterThan(60);
	const newest = async () => Math.max(...(await visibleNumbers(page)));
	// following: the newest line stays in view as lines arrive
	const first = await newest();
	await expect.poll(newest).toBeGreaterThan(first + 5);

	await page.getByTestId('log-lines').hover();
	await page.mouse.wheel(0, -300);
	const button = log.getByTestId('log-follow');
	await expect(button).toBeVisible();
	// a wheel scroll is animated: wait until it has come to rest
	const held = await restingRows(page);
	await expect(button).toHaveText(/↓ \d+ new lines?/);
	// paused: the view holds still while lines keep coming
	const countWhenPaused = await lineCount();
	await expect.poll(lineCount, { timeout: 20_000 }).toBeGreaterThan(countWhenPaused + 5);
	expect(await visibleNumbers(page)).toEqual(held);
	const unseen = Number((await button.textContent())!.match(/\d+/)![0]);
	expect(unseen).toBeGreaterThan(3);

	await button.click();
	await expect(button).toBeHidden();
	await expect.poll(newest).toBeGreaterThan(Math.max(...held) + unseen - 1);

	// from the keyboard: Home in the log pauses, End goes back to following
	await page.getByTestId('log-lines').focus();
	await page.keyboard.press('Home');
	await expect(button).toBeVisible();
	await expect(log.locator('[data-testid="log-line"][data-n="1"]')).toBeInViewport();
	await page.keyboard.press('End');
	await expect(button).toBeHidden();
	await expect.poll(newest).toBeGreaterThan(Math.max(...held) + unseen);
	await logs.api('POST', `/api/v1/tasks/${taskId}/cancel`);
});

test('a reader paused in a 600,000-line log (past the browser height cap) keeps their line while lines keep coming', async ({
	page,
	logs
}) => {
	// writing 600,000 lines and reading them through takes a while on a loaded machine; the stream
	// goes on until the task is cancelled at the end, so neither runs out before the test does
	test.setTimeout(300_000);
	const taskId = await runOnly(logs, 'huge');
	try {
		// the log is written at once, then grows by a line every 20 ms
		await expect
			.poll(async () => (await logs.task(taskId)).executions[0]?.line_count ?? 0, {
				timeout: 90_000,
				intervals: [500]
			})
			.toBeGreaterThan(600_000);
		const executionId = (await logs.task(taskId)).executions[0].id;
		const scroller = page.getByTestId('log-lines');
		const total = async () => Number(await scroller.getAttribute('data-total'));
		/**
		 * The rows on screen once they hold still: the same in every poll for a second (five times the
		 * view's 200 ms settle time, with a line arriving every 20 ms), so a view that drifts and is put
		 * back after a scroll settles is not taken for one at rest.
		 */
		const resting = async () => {
			let previous = '';
			let since = 0;
			let polls = 0;
			await expect
				.poll(
					async () => {
						const now = JSON.stringify(await visibleNumbers(page));
						if (now !== previous) {
							previous = now;
							since = Date.now();
							polls = 0;
						}
						polls += 1;
						return polls >= 5 && Date.now() - since >= 1_000;
					},
					{ timeout: 30_000, intervals: [100, 250] }
				)
				.toBe(true);
			return JSON.parse(previous) as number[];
		};
		const linesArrive = async (count: number) => {
			const from = await total();
			await expect.poll(total, { timeout: 30_000 }).toBeGreaterThan(from + count);
		};

		// a line link: the jump lands, and stays while 200 lines arrive (each raises the scale)
		await page.goto(`${logs.url}/tasks/${taskId}?exec=${executionId}#L300000`);
		await expect(scroller.locator('[data-n="300000"]')).toBeInViewport({ timeout: 30_000 });
		const landed = await resting();
		expect(landed).toContain(300_000);
		/** px from the top of the log's viewport to the top of line 300,000 */
		const lineTop = () =>
			scroller.evaluate(
				(el) =>
					el.querySelector('[data-n="300000"]')!.getBoundingClientRect().top - el.getBoundingClientRect().top
			);
		const landedTop = await lineTop();
		await linesArrive(200);
		expect(await visibleNumbers(page)).toEqual(landed);
		// to the pixel: the rows do not shift by a fraction of a row with each line either
		expect(Math.abs((await lineTop()) - landedTop)).toBeLessThan(0.5);

		// the reader scrolls on from there: the view stays where the wheel left it, and on its way
		// there moves only the way the wheel turned (it does not slide down with the lines arriving
		// while the scroll settles, to be put back once it has)
		const sampled = await scroller.evaluateHandle((el) => {
			const firsts: number[] = [];
			let on = true;
			const sample = () => {
				if (!on) return;
				const box = el.getBoundingClientRect();
				const shown = [...el.querySelectorAll<HTMLElement>('[data-testid="log-line"]')]
					.filter((row) => row.getBoundingClientRect().top >= box.top - 1)
					.map((row) => Number(row.dataset.n));
				if (shown.length > 0) firsts.push(Math.min(...shown));
				requestAnimationFrame(sample);
			};
			requestAnimationFrame(sample);
			return {
				stop: () => {
					on = false;
					return firsts;
				}
			};
		});
		await scroller.hover();
		await page.mouse.wheel(0, -200);
		const held = await resting();
		expect(held[0]).toBeLessThan(landed[0]);
		const firsts = await sampled.evaluate((s) => s.stop());
		expect(firsts.length).toBeGreaterThan(10);
		expect(firsts.filter((n, i) => i > 0 && n > firsts[i - 1])).toEqual([]);
		expect(firsts.at(-1)).toBe(held[0]);
		await linesArrive(200);
		expect(await visibleNumbers(page)).toEqual(held);

		// following again, the newest line stays in view while lines arrive (the end's offset no
		// longer moves once scaled); a wheel turned up from there starts from the rows shown, not
		// from where following began (200 lines and more back)
		const newest = async () => Math.max(...(await visibleNumbers(page)));
		await scroller.focus();
		await page.keyboard.press('End');
		const resumed = await total();
		await expect.poll(newest, { timeout: 30_000 }).toBeGreaterThanOrEqual(resumed);
		await linesArrive(200);
		await expect.poll(newest, { timeout: 30_000 }).toBeGreaterThan(resumed + 200);
		const followed = await newest();
		await scroller.hover();
		await page.mouse.wheel(0, -100);
		const paused = await resting();
		// a 100 px turn moves about 6 rows in a scaled log of 600,000 rows
		expect(paused.at(-1)).toBeGreaterThan(followed - 40);
		expect(paused.at(-1)).toBeLessThan(await total());
	} finally {
		await logs.api('POST', `/api/v1/tasks/${taskId}/cancel`);
	}
});

test('a \\r progress bar shows as one row that changes, ending at 100 % above "done"', async ({
	page,
	logs,
	streamGate
}) => {
	const taskId = await runOnly(logs, 'progress');
	await page.goto(`${logs.url}/tasks/${taskId}`);
	const log = panel(page);
	// the bar starts once the page shows the line before it, so the page sees it move however
	// long the page took to load
	await expect(log.locator('[data-testid="log-line"]', { hasText: /\bstart\b/ })).toHaveCount(1);
	streamGate.open('progress');
	const bars = log.locator('[data-testid="log-line"]', { hasText: /\[[# ]{10}\] \d+%/ });
	// live: one bar row at any time, whose state moves on. Counted from the bar's first change: a
	// page that opens mid-bar may show the snapshot it got live beside the one it loaded until the
	// log's outline (which says where the bar began) has loaded
	const seen = new Set<string>();
	let most = 0;
	await expect
		.poll(
			async () => {
				const texts = await bars.allTextContents();
				if (seen.size >= 2) most = Math.max(most, texts.length);
				if (texts[0]) seen.add(texts[0].match(/\d+%/)![0]);
				return seen.size;
			},
			{ timeout: 15_000, intervals: [100] }
		)
		.toBeGreaterThanOrEqual(4);
	expect(most).toBe(1);
	const ran = await finished(logs, taskId);
	await expect(log.locator('[data-testid="log-line"]', { hasText: /\bdone\b/ })).toHaveCount(1);
	await expect(bars).toHaveCount(1);
	await expect(bars).toContainText('[##########] 100%');
	await page.screenshot({ path: test.info().outputPath('progress-bar.png') });

	const frames = Array.from({ length: 35 }, (_, k) => {
		const i = k + 1;
		return `\r[${'#'.repeat(Math.round((i / 35) * 10)).padEnd(10)}] ${Math.round((i / 35) * 100)}%`;
	});
	expect(await logs.logText(ran.executionId)).toBe(`start\n${frames.join('')}\ndone\n`);
	// the gutter shows the run's last line, the one that finished the bar
	const outline = await logs.api<LogOutlineResponse>('GET', `/api/v1/executions/${ran.executionId}/outline`);
	expect(outline.progress).toEqual([{ start: 2, end: expect.any(Number) }]);
	await expect(bars).toHaveAttribute('data-n', String(outline.progress[0].end));
});

test('the stream filter shows only stderr or only stdout, and all again', async ({ page, logs }) => {
	const taskId = await runOnly(logs, 'ticker');
	await page.goto(`${logs.url}/tasks/${taskId}`);
	const log = panel(page);
	const rows = log.getByTestId('log-line');
	const lineCount = async () =>
		Number((await log.getByTestId('line-count').textContent())!.replace(/,/g, ''));
	await expect.poll(lineCount, { timeout: 20_000 }).toBeGreaterThan(60);
	const streams = () =>
		rows.evaluateAll((els) => [...new Set(els.map((el) => el.getAttribute('data-stream')))]);

	await log.getByRole('radio', { name: 'stderr' }).click();
	await expect(rows.first()).toContainText('warn');
	expect(await streams()).toEqual(['stderr']);
	await log.getByRole('radio', { name: 'stdout' }).click();
	await expect(rows.first()).toContainText('tick');
	expect(await streams()).toEqual(['stdout']);
	await log.getByRole('radio', { name: 'All' }).click();
	await expect.poll(async () => (await streams()).sort()).toEqual(['stderr', 'stdout']);
	await logs.api('POST', `/api/v1/tasks/${taskId}/cancel`);
});

test.describe('under a fast stream', () => {
	test('a live stream of 10,000 lines/s for 10 s follows to the end with every line, and reports its long tasks', async ({
		page,
		logs,
		streamGate
	}, testInfo) => {
		await page.addInitScript(() => {
			const w = window as unknown as { longTasks: number[] };
			w.longTasks = [];
			new PerformanceObserver((list) => {
				for (const entry of list.getEntries()) w.longTasks.push(entry.duration);
			}).observe({ type: 'longtask', buffered: true });
		});
		const taskId = await runOnly(logs, 'stream');
		await page.goto(`${logs.url}/tasks/${taskId}`);
		const log = panel(page);
		// the tool waits for its gate before it streams: the page is up before the first line
		await expect(log.getByTestId('line-count')).toHaveText('0', { timeout: 20_000 });
		streamGate.open('stream');
		await expect(log.getByTestId('line-count')).not.toHaveText('0', { timeout: 20_000 });
		// measure the streaming until the tool ends, asking the server, not the page: Playwright's
		// own probes in the page would be measured too
		await page.evaluate(() => ((window as unknown as { longTasks: number[] }).longTasks = []));
		await expect
			.poll(async () => (await logs.task(taskId)).status, { timeout: 90_000, intervals: [1_000] })
			.toBe('succeeded');
		const longTasks = await page.evaluate(() => (window as unknown as { longTasks: number[] }).longTasks);
		const longest = Math.max(0, ...longTasks);
		// a figure to read, not a bar to pass: a test must not fail because the machine is busy
		testInfo.annotations.push({ type: 'longest-task-ms', description: String(Math.round(longest)) });
		console.log(`10,000 lines/s: ${longTasks.length} long tasks, longest ${Math.round(longest)} ms`);
		// it followed to the end and shows every line, with no gap and no duplicate
		await expect(page.getByTestId('task-header')).toHaveAttribute('data-status', 'succeeded', {
			timeout: 30_000
		});
		await expect(log.getByTestId('line-count')).toHaveText('100,000');
		await expect(log.locator('[data-testid="log-line"][data-n="100000"]')).toBeInViewport();
		const numbers = await visibleNumbers(page);
		expect(numbers).toEqual(numbers.map((_, i) => numbers[0] + i));
		for (const n of numbers.slice(-3)) {
			await expect(log.locator(`[data-testid="log-line"][data-n="${n}"]`)).toContainText(`tick ${n} `);
		}
	});
});
