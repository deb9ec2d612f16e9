/**
 * One shared server per spec file for the page tests (tests/fixtures/e2e-pages: a pipeline with
 * needs, a failing workflow, a burst of failures, a long line, a broken file), and helpers.
 */
import path from 'node:path';
import type { Page } from '@playwright/test';
import type { RunDetailResponse, Task, WorkflowRun } from '../../src/lib/protocol';
import { ROOT } from '../helpers/server';
import { AcoServer, test as base, expect } from './fixtures';

export const PAGES_WORKFLOWS = path.join(ROOT, 'tests/fixtures/e2e-pages');

export const test = base.extend<object, { pages: AcoServer }>({
	pages: [
		// eslint-disable-next-line no-empty-pattern
		async ({}, use) => {
			// lines longer than 1,000 characters are stored in pieces (see longline.yml)
			const server = new AcoServer({ workflowsDir: PAGES_WORKFLOWS, env: { ACO_MAX_LINE_LENGTH: '1000' } });
			await server.start();
			await use(server);
			await server.stop();
		},
		{ scope: 'worker', timeout: 60_000 }
	]
});

export { expect };

/** Starts a run and waits for it to end; returns the run and its tasks. */
export async function runToEnd(server: AcoServer, workflow: string): Promise<RunDetailResponse> {
	const { run } = await server.startRun(workflow);
	return waitForRunEnd(server, run);
}

export async function waitForRunEnd(server: AcoServer, run: WorkflowRun): Promise<RunDetailResponse> {
	let detail!: RunDetailResponse;
	await expect
		.poll(
			async () => {
				detail = await server.api<RunDetailResponse>('GET', `/api/v1/runs/${run.id}`);
				return detail.run.finished_at !== null;
			},
			{ timeout: 60_000, intervals: [100, 200, 250] }
		)
		.toBe(true);
	return detail;
}

export function taskOf(tasks: Task[], key: string): Task {
	const task = tasks.find((t) => t.key === key);
	if (!task) throw new Error(`no task ${key}`);
	return task;
}

/** The page is no wider than the viewport (nothing scrolls sideways). */
export async function pageWidthOverflow(page: Page): Promise<number> {
	return page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
}
