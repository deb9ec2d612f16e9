/**
 * Notifications as a person meets them: a burst of failures is one toast that counts them, at
 * most three toasts show and they move away from a control being reached for, failures stay
 * until dismissed while successes go; the bell counts unread, the centre keeps them across
 * reloads with mark read and a filter; browser notifications (observed through a wrapped
 * `Notification`) come only after opting in by a click, follow the preferences, and a click opens
 * the task.
 */
import type { Page } from '@playwright/test';
import { expect, runToEnd, test } from './pages-fixture';

/** Wraps `Notification`: records what is shown, grants on request, and lets the test hide the tab. */
const NOTIFICATION_SPY = () => {
	const w = window as unknown as {
		shown: { title: string; body?: string }[];
		requests: number;
		hideTab: (hidden: boolean) => void;
		lastNotification: { onclick: null | (() => void) } | null;
	};
	w.shown = [];
	w.requests = 0;
	w.lastNotification = null;
	let permission: NotificationPermission = 'default';
	class SpyNotification {
		static get permission() {
			return permission;
		}
		static async requestPermission() {
			w.requests++;
			permission = 'granted';
			return permission;
		}
		onclick: null | (() => void) = null;
		constructor(title: string, options: { body?: string } = {}) {
			w.shown.push({ title, body: options.body });
			w.lastNotification = this;
		}
		close() {}
	}
	Object.defineProperty(window, 'Notification', { value: SpyNotification, configurable: true });
	let hidden = false;
	Object.defineProperty(document, 'hidden', { get: () => hidden, configurable: true });
	Object.defineProperty(document, 'visibilityState', {
		get: () => (hidden ? 'hidden' : 'visible'),
		configurable: true
	});
	w.hideTab = (value: boolean) => {
		hidden = value;
		document.dispatchEvent(new Event('visibilitychange'));
	};
};

function toasts(page: Page) {
	return page.locator('.aco-toaster .base');
}

test('a burst of failures is one toast that counts them; failures stay, successes go; at most three show', async ({
	page,
	pages
}) => {
	await page.goto(pages.url);
	await expect(page.getByTestId('connection-status')).toHaveText(/Connected/);
	await pages.startRun('burst');
	const burst = toasts(page).filter({ hasText: '5 tasks failed' });
	await expect(burst).toBeVisible({ timeout: 20_000 });
	await expect(toasts(page).filter({ hasText: 'Workflow "burst" failed' })).toBeVisible();
	expect(await toasts(page).count()).toBeLessThanOrEqual(3);
	// not one toast per task
	await expect(toasts(page).filter({ hasText: /Task "[a-e]" failed/ })).toHaveCount(0);

	// a success goes after a moment, the failures stay
	await pages.startRun('quick');
	const success = toasts(page).filter({ hasText: 'Workflow "quick" succeeded' });
	await expect(success).toBeVisible();
	await expect(success).toBeHidden({ timeout: 10_000 });
	await expect(burst).toBeVisible();

	// more than three at once: the oldest goes
	await Promise.all([runToEnd(pages, 'failing'), runToEnd(pages, 'failing')]);
	const failure = toasts(page).filter({ hasText: 'Workflow "failing" failed' });
	// both runs' failures have reached the page (the second's event may come after the first shows)
	await expect(failure).toHaveCount(2);
	await expect.poll(() => toasts(page).count()).toBeLessThanOrEqual(3);
	await expect(burst).toHaveCount(0);

	// a failure goes when dismissed
	await failure
		.first()
		.getByRole('button', { name: /^Dismiss/ })
		.click();
	await expect(failure).toHaveCount(1);
});

test('toasts move away from a control that is focused under them', async ({ page, pages }) => {
	await page.setViewportSize({ width: 390, height: 844 });
	await page.goto(`${pages.url}/runs`);
	await expect(page.getByTestId('connection-status')).toHaveText(/Connected/);
	await runToEnd(pages, 'failing');
	await expect(toasts(page).first()).toBeVisible();
	// find a control under the toasts (the runs list fills the page) and focus it
	const focused = await page.evaluate(() => {
		const area = [...document.querySelectorAll('.aco-toaster .base')].map((el) => el.getBoundingClientRect());
		const under = [...document.querySelectorAll<HTMLElement>('main a[href], main button, main select')].find(
			(el) => {
				const r = el.getBoundingClientRect();
				return area.some((a) => r.left < a.right && a.left < r.right && r.top < a.bottom && a.top < r.bottom);
			}
		);
		under?.focus();
		return under ? under.getBoundingClientRect().toJSON() : null;
	});
	if (focused === null) {
		// nothing under them: then they already cover no control
		return;
	}
	await expect
		.poll(() =>
			page.evaluate((box) => {
				const area = [...document.querySelectorAll('.aco-toaster .base')].map((el) =>
					el.getBoundingClientRect()
				);
				return area.some(
					(a) => box.left < a.right && a.left < box.right && box.top < a.bottom && a.top < box.bottom
				);
			}, focused)
		)
		.toBe(false);
});

test('the bell counts unread notifications, kept across reloads, with mark read, mark all read and a filter', async ({
	page,
	pages
}) => {
	await page.goto(pages.url);
	await expect(page.getByTestId('connection-status')).toHaveText(/Connected/);
	const [{ run }] = await Promise.all([runToEnd(pages, 'failing'), runToEnd(pages, 'quick')]);
	const count = page.getByTestId('unread-count');
	// the compile task failed, its run failed, quick succeeded (the blocked deploy is one entry too)
	await expect(count).toHaveText(/^[34]/);
	const unread = Number((await count.textContent())!.match(/\d+/)![0]);

	await page.reload();
	await expect(count).toHaveText(new RegExp(`^${unread}`));
	await page.getByTestId('notification-bell').click();
	const panel = page.getByTestId('notification-panel');
	const items = panel.getByTestId('notification');
	await expect(items.first()).toBeVisible();
	await expect(panel.getByRole('link', { name: 'Workflow "failing" failed' })).toHaveAttribute(
		'href',
		`/runs/${run.id}`
	);
	await expect(panel.getByRole('link', { name: 'Task "Compile" failed' })).toHaveAttribute(
		'href',
		/^\/tasks\/task_/
	);

	await panel.getByRole('button', { name: /^Mark read\s*: Workflow "quick" succeeded/ }).click();
	await expect(count).toHaveText(new RegExp(`^${unread - 1}`));
	await panel.getByRole('radio', { name: 'Failures' }).click();
	await expect(panel.getByText('Workflow "quick" succeeded')).toHaveCount(0);
	await expect(panel.getByRole('link', { name: 'Task "Compile" failed' })).toBeVisible();
	await panel.getByRole('radio', { name: 'Unread' }).click();
	await expect(panel.getByText('Workflow "quick" succeeded')).toHaveCount(0);
	await panel.getByRole('button', { name: 'Mark all read' }).click();
	await expect(count).toHaveCount(0);
	await expect(panel.getByText('Nothing matches this filter.')).toBeVisible();
	await page.keyboard.press('Escape');
	await expect(panel).toBeHidden();
	await expect(page.getByTestId('notification-bell')).toBeFocused();

	// opening an entry opens its page
	await page.reload();
	await page.getByTestId('notification-bell').click();
	await panel.getByRole('radio', { name: 'All' }).click();
	await panel.getByRole('link', { name: 'Workflow "failing" failed' }).click();
	await expect(page).toHaveURL(new RegExp(`/runs/${run.id}$`));
});

test('browser notifications come after opting in with a click, follow the preferences, and a click opens the task', async ({
	page,
	pages
}) => {
	await page.addInitScript(NOTIFICATION_SPY);
	await page.goto(pages.url);
	await expect(page.getByTestId('connection-status')).toHaveText(/Connected/);
	const spy = () =>
		page.evaluate(() => (window as unknown as { shown: { title: string }[] }).shown.map((n) => n.title));
	// nothing is asked before a click
	expect(await page.evaluate(() => (window as unknown as { requests: number }).requests)).toBe(0);
	await page.getByTestId('notification-bell').click();
	const panel = page.getByTestId('notification-panel');
	await panel.locator('summary').click();
	await panel.getByTestId('enable-notifications').click();
	await expect(panel.getByLabel('a task fails')).toBeChecked();
	expect(await page.evaluate(() => (window as unknown as { requests: number }).requests)).toBe(1);

	// visible tab: toasts only
	await runToEnd(pages, 'quick');
	await expect(toasts(page).filter({ hasText: 'Workflow "quick" succeeded' })).toBeVisible();
	expect(await spy()).toEqual([]);

	// hidden tab: a failing task and the run's end notify
	await panel.getByLabel('a run succeeds').uncheck();
	await page.evaluate(() => (window as unknown as { hideTab: (h: boolean) => void }).hideTab(true));
	await Promise.all([runToEnd(pages, 'failing'), runToEnd(pages, 'quick')]);
	await expect.poll(spy).toEqual(['Task "Compile" failed', 'Workflow "failing" failed']);

	// a muted workflow stays quiet
	await expect(panel.getByLabel('failing', { exact: true })).toBeChecked();
	await panel.getByLabel('failing', { exact: true }).uncheck();
	await Promise.all([runToEnd(pages, 'failing'), runToEnd(pages, 'quick')]);
	await expect.poll(spy).toHaveLength(2);

	// clicking the notification focuses the page on the task
	await page.evaluate(() => (window as unknown as { hideTab: (h: boolean) => void }).hideTab(false));
	await page.evaluate(() => {
		const w = window as unknown as {
			shown: unknown[];
			lastNotification: { onclick: null | (() => void) } | null;
		};
		w.lastNotification = null;
	});
	await panel.getByLabel('failing', { exact: true }).check();
	await page.evaluate(() => (window as unknown as { hideTab: (h: boolean) => void }).hideTab(true));
	await runToEnd(pages, 'failing');
	await expect.poll(spy).toHaveLength(4);
	await page.evaluate(() => {
		const w = window as unknown as {
			shown: { title: string }[];
			lastNotification: { onclick: null | (() => void) };
		};
		w.lastNotification.onclick?.();
	});
	await expect(page).toHaveURL(/\/runs\/run_/);
});
