/**
 * What a person sees after the second review at 1280x800 and 390x844, signed in with a token: on
 * a phone the log's controls lie in even rows and the sticky header is one row high with
 * everything still reachable behind its Menu; toasts never cover a log's line numbers; the
 * /system page never ends a line between a number and its unit; a workflow file's line numbers
 * and a log's stay in place while their long lines scroll sideways; the header is one row at
 * tablet widths too; and a log's long errors are listed in full.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Locator, Page } from '@playwright/test';
import { test as base, expect } from '@playwright/test';
import { ROOT, tempDir } from '../helpers/server';
import { AcoServer } from './fixtures';
import { pageWidthOverflow, runToEnd } from './pages-fixture';

const TOKEN = 'e2e-ui-polish-operator-token-01234';
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 800 };
const WORKFLOWS = [
	'e2e-logs/big.yml',
	'e2e-pages/failing.yml',
	'e2e-pages/longline.yml',
	'e2e-pages/longerror.yml'
];

interface Box {
	x: number;
	y: number;
	width: number;
	height: number;
}

const test = base.extend<object, { polish: AcoServer; bigTask: string }>({
	polish: [
		// eslint-disable-next-line no-empty-pattern
		async ({}, use) => {
			const dir = tempDir('aco-ui-polish-');
			for (const file of WORKFLOWS)
				fs.copyFileSync(path.join(ROOT, 'tests/fixtures', file), path.join(dir, path.basename(file)));
			const polish = new AcoServer(
				{ workflowsDir: dir, env: { ACO_TOKEN: TOKEN, E2E_LOG_LINES: '3000' } },
				TOKEN
			);
			await polish.start();
			await use(polish);
			await polish.stop();
			fs.rmSync(dir, { recursive: true, force: true });
		},
		{ scope: 'worker', timeout: 60_000 }
	],
	/** the task of a finished run of `big` (3,000 lines) */
	bigTask: [
		async ({ polish }, use) => {
			const { tasks } = await runToEnd(polish, 'big');
			await use(tasks[0].id);
		},
		{ scope: 'worker', timeout: 60_000 }
	]
});

async function signIn(page: Page, server: AcoServer, to: string): Promise<void> {
	await page.goto(server.url + to);
	await page.getByLabel('API token').fill(TOKEN);
	await page.getByRole('button', { name: 'Sign in' }).click();
	await expect(page.getByTestId('connection-status')).toHaveText(/Connected/);
	await expect(page.locator('[aria-busy="true"]')).toHaveCount(0);
}

async function openLog(page: Page, server: AcoServer, taskId: string): Promise<Locator> {
	await signIn(page, server, `/tasks/${taskId}`);
	const log = page.getByTestId('log-lines');
	await expect(log.locator('[data-n="3000"]')).toBeVisible();
	return log;
}

async function box(locator: Locator): Promise<Box> {
	const found = await locator.boundingBox();
	if (!found) throw new Error(`${locator} is not on the page`);
	return found;
}

function overlaps(a: Box, b: Box): boolean {
	return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

test("on a phone the log's controls lie in even rows: streams, options, actions, then the search field on its own", async ({
	page,
	polish,
	bigTask
}) => {
	await page.setViewportSize(PHONE);
	await openLog(page, polish, bigTask);
	const execution = page.getByTestId('execution');
	const all = execution.getByRole('radio', { name: 'All' });
	await all.scrollIntoViewIfNeeded();
	const section = await box(execution);

	// the three streams share the first row and together span the log's width
	const streams = await Promise.all(
		['All', 'stdout', 'stderr'].map((name) => box(execution.getByRole('radio', { name })))
	);
	expect(new Set(streams.map((b) => Math.round(b.y))).size).toBe(1);
	const group = await box(execution.getByRole('radiogroup', { name: 'Streams' }));
	expect(group.x).toBeCloseTo(section.x, 0);
	expect(group.x + group.width).toBeCloseTo(section.x + section.width, 0);

	// the two options share the next row
	const options = await Promise.all(
		[execution.getByLabel('Timestamps'), execution.getByTestId('show-commands')].map(box)
	);
	expect(Math.round(options[0].y)).toBe(Math.round(options[1].y));
	expect(options[0].y).toBeGreaterThan(streams[0].y + streams[0].height);

	// Copy and the downloads share the row after, all of them on the screen
	const actions = await Promise.all([
		box(execution.getByRole('button', { name: 'Copy', exact: true })),
		...['Download', 'with ANSI', 'NDJSON'].map((name) =>
			box(execution.getByRole('link', { name, exact: true }))
		)
	]);
	expect(new Set(actions.map((b) => Math.round(b.y))).size).toBe(1);
	expect(actions[0].y).toBeGreaterThan(options[0].y + options[0].height);
	for (const action of actions) expect(action.x + action.width).toBeLessThanOrEqual(PHONE.width);

	// the search field is as wide as its form, with its options on the row below
	const form = await box(execution.getByRole('search'));
	const field = await box(execution.getByTestId('log-search'));
	expect(field.width).toBeCloseTo(form.width, 0);
	const find = await box(execution.getByRole('button', { name: 'Find', exact: true }));
	expect(find.y).toBeGreaterThanOrEqual(field.y + field.height);
});

test('on a phone the sticky header is one row, and its links and Sign out are reached by touch and keyboard', async ({
	page,
	polish,
	bigTask
}) => {
	await page.setViewportSize(PHONE);
	await openLog(page, polish, bigTask);
	const header = page.locator('header.top');
	expect((await box(header)).height).toBeLessThanOrEqual(64);

	// the keyboard: Tab from the brand to Menu, Enter opens it, Tab reaches the links, Escape closes
	const toggle = page.getByRole('button', { name: 'Menu' });
	const nav = page.getByRole('navigation', { name: 'Main' });
	await page.getByRole('link', { name: 'aco', exact: true }).focus();
	await page.keyboard.press('Tab');
	await expect(toggle).toBeFocused();
	await page.keyboard.press('Enter');
	await expect(toggle).toHaveAttribute('aria-expanded', 'true');
	await page.keyboard.press('Tab');
	await expect(nav.getByRole('link', { name: 'Dashboard' })).toBeFocused();
	for (const control of [nav, page.getByTestId('user-menu')]) {
		const b = await box(control);
		expect(b.x).toBeGreaterThanOrEqual(0);
		expect(b.x + b.width).toBeLessThanOrEqual(PHONE.width);
	}
	await expect(page.getByRole('button', { name: 'Sign out' })).toBeVisible();
	await page.keyboard.press('Escape');
	await expect(nav).toBeHidden();
	await expect(toggle).toBeFocused();

	// touch: tap Menu, tap Runs; the menu is closed on the new page
	await toggle.click();
	await nav.getByRole('link', { name: 'Runs' }).click();
	await expect(page).toHaveURL(/\/runs$/);
	await expect(nav).toBeHidden();
	expect((await box(header)).height).toBeLessThanOrEqual(64);

	// on a wide screen the links are in the header's one row, no Menu
	await page.setViewportSize(DESKTOP);
	await expect(nav.getByRole('link', { name: 'Dashboard' })).toBeVisible();
	await expect(toggle).toBeHidden();
	expect((await box(header)).height).toBeLessThanOrEqual(64);
});

test("toasts do not cover a log's line numbers, on a wide screen and on a phone", async ({
	page,
	polish,
	bigTask
}) => {
	const log = await openLog(page, polish, bigTask);
	await runToEnd(polish, 'failing');
	const toasts = page.locator('.aco-toaster .base');
	await expect(toasts.filter({ hasText: 'Workflow "failing" failed' })).toBeVisible();

	/** the line numbers' column, as far as the log shows on screen */
	async function gutter(): Promise<Box> {
		const lines = await box(log);
		const number = await box(log.locator('a.n').first());
		return { x: lines.x, y: lines.y, width: number.x + number.width - lines.x, height: lines.height };
	}
	async function coveredGutter(): Promise<string[]> {
		// toasts slide and grow in: measure where they come to rest
		await toasts.first().evaluate((el) =>
			Promise.all(
				el
					.closest('.aco-toaster')!
					.getAnimations({ subtree: true })
					.filter((a) => a.effect?.getComputedTiming().endTime !== Infinity)
					.map((a) => a.finished)
			)
		);
		const column = await gutter();
		const covering: string[] = [];
		for (const toast of await toasts.all()) {
			const b = await box(toast);
			if (overlaps(b, column)) covering.push(`${await toast.innerText()} at ${JSON.stringify(b)}`);
		}
		return covering;
	}

	expect(await coveredGutter()).toEqual([]);

	await page.setViewportSize(PHONE);
	// the log's last rows at the bottom of the screen, where the toasts are
	await log.evaluate((el) => el.scrollIntoView({ block: 'end' }));
	await expect(log.locator('[data-n="3000"]')).toBeInViewport();
	expect(await coveredGutter()).toEqual([]);
});

test('the system page keeps every number with its unit on one line, at any width', async ({
	page,
	polish
}) => {
	await signIn(page, polish, '/system');
	await expect(page.getByTestId('compression-value')).toBeVisible();
	await expect(page.getByTestId('memory-value')).toContainText('RSS');

	/** the figures ("125 %", "4.2 ms", "129 MB") whose number and unit are on different lines */
	const brokenFigures = () =>
		page.evaluate(() => {
			const FIGURE = /\d[\d,.]*[ \u00a0](?:%|ms|[kMGT]?B|s|min)(?![\w])/g;
			const broken: string[] = [];
			const root = document.querySelector('main')!;
			const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
			for (let node = walker.nextNode(); node; node = walker.nextNode()) {
				for (const match of node.textContent!.matchAll(FIGURE)) {
					const range = document.createRange();
					range.setStart(node, match.index);
					range.setEnd(node, match.index + match[0].length);
					const tops = new Set([...range.getClientRects()].map((r) => Math.round(r.bottom)));
					if (tops.size > 1) broken.push(match[0]);
				}
			}
			return broken;
		});

	// the cards' width follows the window's: try every few pixels, as a person resizing would
	const broken = new Set<string>();
	for (let width = DESKTOP.width; width >= 1100; width -= 4) {
		await page.setViewportSize({ width, height: DESKTOP.height });
		for (const figure of await brokenFigures()) broken.add(`${figure} at ${width}px`);
	}
	for (let width = 430; width >= 320; width -= 5) {
		await page.setViewportSize({ width, height: PHONE.height });
		for (const figure of await brokenFigures()) broken.add(`${figure} at ${width}px`);
	}
	expect([...broken]).toEqual([]);
});

test("a workflow file's line numbers stay in place while its long lines scroll sideways, and a copy leaves them out", async ({
	page,
	polish
}) => {
	await page.setViewportSize(PHONE);
	await signIn(page, polish, '/workflows/longline');
	const source = page.getByTestId('yaml-source');
	await source.scrollIntoViewIfNeeded();
	const line = source.locator('li[data-line="2"]');
	const number = line.locator('.ln');
	await expect(number).toHaveText('2');
	const before = { number: await box(number), code: await box(line.locator('code')) };

	await source.evaluate((el) => el.scrollBy({ left: 120, behavior: 'instant' }));
	await expect
		.poll(async () => Math.round((await box(line.locator('code'))).x))
		.toBe(Math.round(before.code.x - 120));
	const after = await box(number);
	expect(after.x).toBe(before.number.x);
	// drawn over the code that slid under it, not under it
	const onTop = await page.evaluate(
		({ x, y }) => document.elementFromPoint(x, y)?.closest('.ln')?.textContent ?? null,
		{ x: after.x + after.width - 20, y: after.y + after.height / 2 }
	);
	expect(onTop).toBe('2');

	// selecting the whole file copies the YAML without the numbers
	const copied = await source.evaluate((el) => {
		const selection = window.getSelection()!;
		selection.selectAllChildren(el);
		return selection.toString();
	});
	expect(copied.trimStart().startsWith('name: longline')).toBe(true);
	expect(copied).not.toMatch(/^\s*\d+\s/m);
});

test("a log's line numbers stay in place while its long lines scroll sideways, the short lines' too", async ({
	page,
	polish
}) => {
	const { tasks } = await runToEnd(polish, 'longline');
	await page.setViewportSize(PHONE);
	await signIn(page, polish, `/tasks/${tasks[0].id}`);
	const log = page.getByTestId('log-lines');
	// "before", 2,500 characters, "after"
	const numbers = [1, 2, 3].map((n) => log.locator(`[data-n="${n}"] .n`));
	await expect(numbers[2]).toHaveText('3');
	const long = log.locator('[data-n="2"] .text');
	const before = { numbers: await Promise.all(numbers.map(box)), text: await box(long) };

	// further than the log is wide: the short lines' own text is scrolled past too
	const by = Math.round((await box(log)).width * 1.5);
	await log.evaluate((el, left) => el.scrollBy({ left, behavior: 'instant' }), by);
	await expect
		.poll(async () => ({
			text: Math.round((await box(long)).x),
			numbers: await Promise.all(numbers.map(async (n) => Math.round((await box(n)).x)))
		}))
		.toEqual({
			text: Math.round(before.text.x - by),
			numbers: before.numbers.map((b) => Math.round(b.x))
		});
	// drawn over the text that slid under them, not under it
	for (const [i, number] of numbers.entries()) {
		const b = await box(number);
		const onTop = await page.evaluate(
			({ x, y }) => document.elementFromPoint(x, y)?.closest('.n')?.textContent ?? null,
			{ x: b.x + b.width - 12, y: b.y + b.height / 2 }
		);
		expect(onTop).toBe(String(i + 1));
	}
});

test('from 601 to 1,000 px wide the signed-in header is one row, and its links and Sign out are reached by keyboard and pointer', async ({
	page,
	polish
}) => {
	await page.setViewportSize({ width: 1000, height: DESKTOP.height });
	await signIn(page, polish, '/');
	const header = page.locator('header.top');
	const toggle = page.getByRole('button', { name: 'Menu' });
	const nav = page.getByRole('navigation', { name: 'Main' });

	// a person narrowing the window: every few pixels, down to the widest phone's
	const widths = [...Array.from({ length: 45 }, (_, i) => 1000 - 9 * i), 601];
	const tall: string[] = [];
	for (const width of widths) {
		await page.setViewportSize({ width, height: DESKTOP.height });
		const height = (await box(header)).height;
		if (height > 64) tall.push(`${Math.round(height)} px at ${width} px`);
	}
	expect(tall).toEqual([]);

	for (const width of [1000, 700]) {
		await page.setViewportSize({ width, height: DESKTOP.height });
		// the keyboard: Tab from the brand to Menu, Enter opens it, Tab goes through every link to Sign out
		await page.getByRole('link', { name: 'aco', exact: true }).focus();
		await page.keyboard.press('Tab');
		await expect(toggle).toBeFocused();
		await page.keyboard.press('Enter');
		await expect(toggle).toHaveAttribute('aria-expanded', 'true');
		for (const name of ['Dashboard', 'Runs', 'Workflows', 'System']) {
			await page.keyboard.press('Tab');
			await expect(nav.getByRole('link', { name })).toBeFocused();
		}
		await page.keyboard.press('Tab');
		await expect(page.getByRole('button', { name: 'Sign out' })).toBeFocused();
		for (const control of [nav, page.getByTestId('user-menu')]) {
			const b = await box(control);
			expect(b.x).toBeGreaterThanOrEqual(0);
			expect(b.x + b.width).toBeLessThanOrEqual(width);
		}
		await page.keyboard.press('Escape');
		await expect(nav).toBeHidden();
		await expect(toggle).toBeFocused();

		// the pointer: Menu, then a link; the menu is closed on the new page
		await toggle.click();
		await nav.getByRole('link', { name: width === 700 ? 'Runs' : 'Workflows' }).click();
		await expect(page).toHaveURL(width === 700 ? /\/runs$/ : /\/workflows$/);
		await expect(nav).toBeHidden();
		expect((await box(header)).height).toBeLessThanOrEqual(64);
	}
});

test("a log's long errors are listed in full, wrapped, on a phone and on a wide screen", async ({
	page,
	polish
}) => {
	const { tasks } = await runToEnd(polish, 'longerror');
	const word = 'ImportError:' + 'x'.repeat(288);
	const sentence = 'the configuration value for the deployment target could not be read because '
		.repeat(4)
		.slice(0, 300);

	await page.setViewportSize(PHONE);
	await signIn(page, polish, `/tasks/${tasks[0].id}`);
	const annotations = page.getByTestId('log-annotations');
	await expect(annotations).toContainText('2 errors');
	const list = annotations.locator('ul');
	const messages = annotations.locator('.message');
	await expect(messages).toHaveText([word, sentence]);

	for (const viewport of [PHONE, DESKTOP]) {
		await page.setViewportSize(viewport);
		for (const message of await messages.all()) {
			await message.scrollIntoViewIfNeeded();
			// nothing of it hidden in its box: no ellipsis, no clipped end
			const hidden = await message.evaluate((el) => ({
				x: el.scrollWidth - el.clientWidth,
				y: el.scrollHeight - el.clientHeight
			}));
			expect(hidden).toEqual({ x: 0, y: 0 });
			const b = await box(message);
			expect(b.x).toBeGreaterThanOrEqual(0);
			expect(b.x + b.width).toBeLessThanOrEqual(viewport.width);
			// and seen whole in the list, which scrolls only when there are many
			expect(b.height).toBeLessThanOrEqual((await box(list)).height);
		}
		expect(await pageWidthOverflow(page)).toBe(0);
	}
});
