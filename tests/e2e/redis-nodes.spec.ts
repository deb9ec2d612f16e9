/**
 * Two aco nodes on one PostgreSQL and one Redis: a person with the dashboard open on one node
 * watches a run that was started through the other, live, from start to finish.
 */
import { test as base, expect } from '@playwright/test';
import { startCluster } from '../helpers/cluster';
import type { AcoProcess } from '../helpers/server';
import type { RunResponse } from '../../src/lib/protocol';

interface TwoNodes {
	/** starts the run */
	a: AcoProcess;
	/** serves the page */
	c: AcoProcess;
}

const test = base.extend<{ nodes: TwoNodes }>({
	// eslint-disable-next-line no-empty-pattern
	nodes: async ({}, use) => {
		const cluster = await startCluster({ nodes: 2, redis: true, env: { ACO_DEMO_TICK_MS: '80' } });
		try {
			await use({ a: cluster.nodes[0]!, c: cluster.nodes[1]! });
		} finally {
			await cluster.stop();
		}
	}
});

test('the dashboard on one node shows a run started on another live, up to its end', async ({
	page,
	nodes
}) => {
	await page.goto(nodes.c.url);
	await expect(page.getByTestId('connection-status')).toHaveText(/Connected/);

	const res = await fetch(`${nodes.a.url}/api/v1/workflows/demo/runs`, { method: 'POST' });
	expect(res.status).toBe(201);
	const { run } = (await res.json()) as RunResponse;

	const row = page.getByTestId('run-row').first();
	await expect(row).toHaveAttribute('data-status', 'running');
	const bar = row.getByRole('progressbar');
	const seen = new Set<number>();
	await expect
		.poll(
			async () => {
				const value = Number(await bar.getAttribute('aria-valuenow'));
				seen.add(value);
				return value;
			},
			{ timeout: 60_000, intervals: [250] }
		)
		.toBe(100);
	// it rose through the middle, live, rather than appearing finished
	expect([...seen].some((v) => v > 0 && v < 100)).toBe(true);
	await expect(row).toHaveAttribute('data-status', 'succeeded');
	await expect(page.getByTestId('task-row').filter({ hasText: 'Lint (flaky)' })).toHaveAttribute(
		'data-status',
		'failed'
	);
	// the run shown is the one node A started
	await expect(row).toHaveAttribute('data-run-id', run.id);
	// after a reload node C reads the run from the shared database: still there, finished
	await page.reload();
	await expect(page.getByTestId('run-row').first()).toHaveAttribute('data-run-id', run.id);
	await expect(page.getByTestId('run-row').first()).toHaveAttribute('data-status', 'succeeded');
});
