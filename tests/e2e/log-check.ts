/**
 * What a person sees of a task's logs, checked against the server's record.
 */
import type { Page } from '@playwright/test';
import { displayText } from '../../src/lib/log/terminal';
import type { LogLinesResponse } from '../../src/lib/protocol';
import { expect, type AcoServer } from './fixtures';

/**
 * Each open step's log on the page is lines 1..line_count of the server's record, each showing
 * its own text: no gap, no repeat. The view is virtualized (only the rows on screen are in the
 * DOM), so it is read a screen at a time from the top.
 */
export async function expectCompleteLogs(page: Page, aco: AcoServer, taskId: string): Promise<void> {
	const { executions } = await aco.task(taskId);
	for (const execution of executions) {
		const panel = page.locator(`[data-testid="execution"][data-execution-id="${execution.id}"]`);
		if ((await panel.count()) === 0) continue; // a closed step renders no log
		// workflow command lines (::progress) are hidden by default: show them, so every line has a row
		const commands = panel.getByTestId('show-commands');
		if (!(await commands.isChecked())) await commands.check();
		const scroller = panel.getByTestId('log-lines');
		await expect(scroller).toHaveAttribute('data-rows', String(execution.line_count));
		const { lines } = await aco.api<LogLinesResponse>(
			'GET',
			`/api/v1/executions/${execution.id}/lines?from=1&limit=${execution.line_count}`
		);
		const expected = lines.map((line) => `${line.n} ${displayText(line.text)}`);
		const seen = new Map<number, string>();
		for (let top = 0; ;) {
			await scroller.evaluate((el, y) => (el.scrollTop = y), top);
			// the rows drawn here (overscan included), once their lines have arrived
			const rows = async () =>
				scroller.evaluate((el) =>
					[...el.querySelectorAll<HTMLElement>('[data-testid="log-line"]')].map((row) => ({
						n: Number(row.dataset.n),
						text: row.querySelector('.text')?.textContent ?? '',
						loading: !!row.querySelector('.loading')
					}))
				);
			// the view redraws on the frame after a scroll: read until two reads agree and none is loading
			let previous = '';
			let drawn: Awaited<ReturnType<typeof rows>> = [];
			await expect
				.poll(async () => {
					drawn = await rows();
					const key = drawn.map((row) => row.n).join(',');
					const settled = key === previous && !drawn.some((row) => row.loading);
					previous = key;
					return settled;
				})
				.toBe(true);
			for (const row of drawn) seen.set(row.n, `${row.n} ${row.text}`);
			const next = await scroller.evaluate((el) =>
				el.scrollTop + el.clientHeight >= el.scrollHeight - 1 ? null : el.scrollTop + el.clientHeight
			);
			if (next === null) break;
			top = next;
		}
		expect([...seen.keys()].sort((a, b) => a - b).map((n) => seen.get(n))).toEqual(expected);
	}
}

/** the line numbers drawn inside the open log's viewport (not the overscan), top to bottom */
export async function visibleNumbers(page: Page): Promise<number[]> {
	return page.getByTestId('log-lines').evaluate((scroller) => {
		const box = scroller.getBoundingClientRect();
		return [...scroller.querySelectorAll<HTMLElement>('[data-testid="log-line"]')]
			.filter((row) => {
				const r = row.getBoundingClientRect();
				return r.top >= box.top - 1 && r.bottom <= box.bottom + 1;
			})
			.map((row) => ({ n: Number(row.dataset.n), top: row.getBoundingClientRect().top }))
			.sort((a, b) => a.top - b.top)
			.map((row) => row.n);
	});
}
