/**
 * What a person sees of a task's logs, checked against the server's record.
 */
import type { Locator, Page } from '@playwright/test';
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
		await readThrough(scroller, (drawn) => {
			for (const row of drawn) seen.set(row.n, `${row.n} ${row.text}`);
		});
		expect([...seen.keys()].sort((a, b) => a - b).map((n) => seen.get(n))).toEqual(expected);
	}
}

interface DrawnRow {
	n: number;
	text: string;
	loading: boolean;
}

/**
 * Scrolls a log view from its top to its end a screen at a time, handing on the rows drawn at
 * each stop once their lines have arrived (the view fetches what it does not hold as it goes).
 * It ends at the end, where a live log follows again.
 */
export async function readThrough(
	scroller: Locator,
	onScreen: (drawn: DrawnRow[]) => void = () => {}
): Promise<void> {
	for (let top = 0; ;) {
		await scroller.evaluate(async (el, y) => {
			el.scrollTop = y;
			// the view redraws on the frame after a scroll: read once that frame is over
			await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
		}, top);
		// the rows drawn here (overscan included), how many of them are in the viewport, and whether
		// it shows the end, once their lines have arrived
		const screen = async () =>
			scroller.evaluate((el) => {
				const box = el.getBoundingClientRect();
				const rows = [...el.querySelectorAll<HTMLElement>('[data-testid="log-line"]')];
				return {
					drawn: rows.map((row) => ({
						n: Number(row.dataset.n),
						text: row.querySelector('.text')?.textContent ?? '',
						loading: !!row.querySelector('.loading')
					})),
					inView: rows.filter((row) => {
						const r = row.getBoundingClientRect();
						return r.bottom > box.top && r.top < box.bottom;
					}).length,
					atEnd: el.scrollTop + el.clientHeight >= el.scrollHeight - 1
				};
			});
		// read until rows fill the viewport, none is loading and two reads agree (at the end of a live
		// log, where lines keep coming, the first read)
		let previous = '';
		let drawn: DrawnRow[] = [];
		await expect
			.poll(async () => {
				const now = await screen();
				drawn = now.drawn;
				const key = drawn.map((row) => row.n).join(',');
				const settled =
					now.inView > 0 && !drawn.some((row) => row.loading) && (key === previous || now.atEnd);
				previous = key;
				return settled;
			})
			.toBe(true);
		onScreen(drawn);
		const next = await scroller.evaluate((el) =>
			el.scrollTop + el.clientHeight >= el.scrollHeight - 1 ? null : el.scrollTop + el.clientHeight
		);
		if (next === null) break;
		top = next;
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

/** waits until the view has come to rest (the same rows twice in a row) and returns its rows */
export async function restingRows(page: Page): Promise<number[]> {
	let previous = '';
	await expect
		.poll(async () => {
			const now = JSON.stringify(await visibleNumbers(page));
			const still = now === previous;
			previous = now;
			return still;
		})
		.toBe(true);
	return JSON.parse(previous) as number[];
}
