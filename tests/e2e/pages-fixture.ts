/**
 * One shared server per worker for the page tests (tests/fixtures/e2e-pages: a pipeline with
 * needs, a failing workflow, a burst of failures, a long line, a broken file), the runs most
 * tests look at once they ended (made once, in parallel), and helpers. Workflows that must be seen
 * while they run wait for a gate the test opens (`pages.gates`), never for the machine's speed.
 */
import path from 'node:path';
import type { Page } from '@playwright/test';
import type { RunDetailResponse, Task, WorkflowRun } from '../../src/lib/protocol';
import { ROOT } from '../helpers/server';
import { AcoServer, Gates, test as base, expect } from './fixtures';

export const PAGES_WORKFLOWS = path.join(ROOT, 'tests/fixtures/e2e-pages');

/** the page tests' server, with the gates its workflows wait for */
export class PagesServer extends AcoServer {
	readonly gates: Gates;

	constructor(gates: Gates) {
		// lines longer than 1,000 characters are stored in pieces (see longline.yml)
		super({ workflowsDir: PAGES_WORKFLOWS, env: { ACO_MAX_LINE_LENGTH: '1000', ACO_E2E_GATES: gates.dir } });
		this.gates = gates;
	}

	/** starts a pipeline run and lets its last step (gate `pack`) through */
	async pipelineToEnd(): Promise<RunDetailResponse> {
		const { run } = await this.startRun('pipeline');
		this.gates.open('pack');
		return waitForRunEnd(this, run);
	}
}

/** runs that ended before the test looks: a pipeline that succeeded, a run that failed, a long line */
export interface FinishedRuns {
	pipeline: RunDetailResponse;
	failing: RunDetailResponse;
	longline: RunDetailResponse;
}

export const test = base.extend<object, { pages: PagesServer; finished: FinishedRuns }>({
	pages: [
		// eslint-disable-next-line no-empty-pattern
		async ({}, use) => {
			const gates = new Gates();
			const server = new PagesServer(gates);
			await server.start();
			await use(server);
			await server.stop();
			gates.remove();
		},
		{ scope: 'worker', timeout: 60_000 }
	],
	finished: [
		async ({ pages }, use) => {
			const [pipeline, failing, longline] = await Promise.all([
				pages.pipelineToEnd(),
				runToEnd(pages, 'failing'),
				runToEnd(pages, 'longline')
			]);
			await use({ pipeline, failing, longline });
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
			{ timeout: 60_000, intervals: [50, 100, 200] }
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
