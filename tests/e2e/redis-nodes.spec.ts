/**
 * Two aco nodes on one Redis: a person with the dashboard open on one node watches a run that
 * was started through the other, live, from start to finish.
 */
import { test as base, expect } from '@playwright/test';
import { startRedis, type RedisServer } from '../helpers/redis';
import { startAco, type AcoProcess } from '../helpers/server';
import type { RunResponse } from '../../src/lib/protocol';

interface TwoNodes {
	redis: RedisServer;
	/** runs the workflow */
	a: AcoProcess;
	/** serves the page */
	c: AcoProcess;
}

const test = base.extend<{ nodes: TwoNodes }>({
	// eslint-disable-next-line no-empty-pattern
	nodes: async ({}, use) => {
		const redis = await startRedis();
		const env = { ACO_REDIS_URL: redis.url, ACO_DEMO_TICK_MS: '80' };
		const [a, c] = await Promise.all([
			startAco({ env: { ...env, ACO_NODE_ID: 'node-a' } }),
			startAco({ env: { ...env, ACO_NODE_ID: 'node-c' } })
		]);
		await use({ redis, a, c });
		await Promise.all([a.stop(), c.stop()]);
		await redis.close();
	}
});

test('the dashboard on one node shows a run started on another live, up to its end', async ({
	page,
	nodes
}, testInfo) => {
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

	await page.screenshot({ path: testInfo.outputPath('node-c-dashboard-1280.png'), fullPage: true });
	await page.setViewportSize({ width: 390, height: 844 });
	await page.screenshot({ path: testInfo.outputPath('node-c-dashboard-390.png'), fullPage: true });
});
