/**
 * A PostgreSQL that stops answering (a partition, a firewall dropping packets, a paused VM) rather
 * than refusing connections, through tests/helpers/pausable-proxy.ts: a query on a pooled
 * connection fails as "unreachable" within the query timeout instead of hanging for the outage,
 * the connection it was on is discarded, and the store works again once the database answers.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startPausableProxy, type PausableProxy } from '../../../../../tests/helpers/pausable-proxy';
import { startPostgres, type TestPostgres } from '../../../../../tests/helpers/postgres';
import { createLogger } from '../../logger';
import { isStoreUnavailable } from '../errors';
import { DEFAULT_QUERY_TIMEOUT_MS, PgDb, classify, isUnreachable } from './pg-db';
import { migratePg } from './pg-migrations';
import { openPgStore } from './pg-store';

const logger = createLogger('silent');
/** what a test's own PgDb waits for an answer: short, yet far above a query's time on a loaded machine */
const QUERY_TIMEOUT_MS = 1_000;
/** how late past its timeout a query may fail (timers on a loaded 2-core machine) */
const SLACK_MS = 4_000;

type Outcome = { error: unknown; afterMs: number } | 'answered' | 'no answer';

/** whether `promise` fails within `ms` (with what, how soon), is answered, or neither */
async function outcomeWithin(promise: Promise<unknown>, ms: number): Promise<Outcome> {
	const started = Date.now();
	let timer: NodeJS.Timeout | undefined;
	const late = new Promise<'no answer'>((resolve) => (timer = setTimeout(() => resolve('no answer'), ms)));
	try {
		return await Promise.race([
			promise.then(
				(): Outcome => 'answered',
				(error: unknown): Outcome => ({ error, afterMs: Date.now() - started })
			),
			late
		]);
	} finally {
		clearTimeout(timer);
	}
}

function expectUnavailableWithin(outcome: Outcome, timeoutMs: number): void {
	expect(outcome).toMatchObject({ error: expect.anything() });
	const { error, afterMs } = outcome as { error: unknown; afterMs: number };
	expect(isStoreUnavailable(error), String(error)).toBe(true);
	expect(afterMs).toBeGreaterThanOrEqual(timeoutMs - 50);
}

describe('PostgreSQL that stops answering', () => {
	let server: TestPostgres;
	let url: string;
	let proxy: PausableProxy;

	beforeAll(async () => {
		server = await startPostgres();
		url = await server.createDatabase();
	}, 60_000);
	afterAll(() => server?.close());
	beforeEach(async () => (proxy = await startPausableProxy(server.port)));
	afterEach(async () => {
		proxy.resume();
		await proxy.close();
	});

	it('fails a store query on a pooled connection as unavailable within the default timeout, then works again', async () => {
		const store = await openPgStore({ url: proxy.url(url), node: 'spec', logger });
		try {
			await store.listRuns(); // a pooled connection to hang
			proxy.pause();
			const outcome = await outcomeWithin(store.listRuns(), DEFAULT_QUERY_TIMEOUT_MS + SLACK_MS);
			expectUnavailableWithin(outcome, DEFAULT_QUERY_TIMEOUT_MS);
			proxy.resume();
			expect(await outcomeWithin(store.listRuns(), 10_000)).toBe('answered');
		} finally {
			proxy.resume();
			await store.close();
		}
	});

	it('discards the connection a query got no answer on, and answers again on a new one', async () => {
		const db = new PgDb({ url: proxy.url(url), logger, queryTimeoutMs: QUERY_TIMEOUT_MS });
		try {
			await db.query('SELECT 1');
			expect(db.pool.totalCount).toBe(1);
			const before = proxy.accepted;
			proxy.pause();
			expectUnavailableWithin(
				await outcomeWithin(db.query('SELECT 1'), QUERY_TIMEOUT_MS + SLACK_MS),
				QUERY_TIMEOUT_MS
			);
			expect(db.pool.totalCount).toBe(0);
			proxy.resume();
			// the abandoned connection is closed, not answered late
			await expect.poll(() => proxy.connections, { timeout: 5_000 }).toBe(0);
			expect(await db.query<{ n: number }>('SELECT 2 AS n')).toEqual([{ n: 2 }]);
			expect(proxy.accepted).toBe(before + 1);
		} finally {
			proxy.resume();
			await db.close();
		}
	});

	it('fails a transaction whose statement gets no answer, without giving its connection to the next caller', async () => {
		const db = new PgDb({ url: proxy.url(url), logger, queryTimeoutMs: QUERY_TIMEOUT_MS });
		try {
			await db.query('CREATE TABLE IF NOT EXISTS outage_probe (n int)');
			await db.tx((client) => client.query('SELECT 1'));
			proxy.pause();
			const insert = db.tx((client) => client.query('INSERT INTO outage_probe VALUES (1)'));
			expectUnavailableWithin(await outcomeWithin(insert, QUERY_TIMEOUT_MS + SLACK_MS), QUERY_TIMEOUT_MS);
			expect(db.pool.totalCount).toBe(0);
			proxy.resume();
			// nothing of the abandoned transaction is stored, and the next one works
			await db.tx((client) => client.query('INSERT INTO outage_probe VALUES (2)'));
			expect(await db.query<{ n: number }>('SELECT n FROM outage_probe ORDER BY n')).toEqual([{ n: 2 }]);
		} finally {
			proxy.resume();
			await db.close();
		}
	});

	it("fails a renewal that gets no answer within its own shorter timeout, never waiting past any statement's", async () => {
		const store = await openPgStore({ url: proxy.url(url), node: 'spec', logger });
		const db = new PgDb({ url: proxy.url(url), logger, queryTimeoutMs: QUERY_TIMEOUT_MS });
		const claims = [{ id: 'task_probe', attempt: 1 }];
		try {
			await store.queue.renew('spec', 15_000, claims); // a pooled connection to hang
			await db.query('SELECT 1');
			proxy.pause();
			const renewal = store.queue.renew('spec', 15_000, claims, { timeoutMs: QUERY_TIMEOUT_MS / 2 });
			const outcome = await outcomeWithin(renewal, QUERY_TIMEOUT_MS / 2 + SLACK_MS);
			expectUnavailableWithin(outcome, QUERY_TIMEOUT_MS / 2);
			expect((outcome as { afterMs: number }).afterMs).toBeLessThan(DEFAULT_QUERY_TIMEOUT_MS);
			const capped = db.query('SELECT 1', [], { timeoutMs: 60_000 });
			expectUnavailableWithin(await outcomeWithin(capped, QUERY_TIMEOUT_MS + SLACK_MS), QUERY_TIMEOUT_MS);
			proxy.resume();
			expect(
				await outcomeWithin(store.queue.renew('spec', 15_000, claims, { timeoutMs: 1_000 }), 10_000)
			).toBe('answered');
		} finally {
			proxy.resume();
			await Promise.all([store.close(), db.close()]);
		}
	});

	it('keeps a slow query that is answered within the timeout', async () => {
		const db = new PgDb({ url: proxy.url(url), logger, queryTimeoutMs: QUERY_TIMEOUT_MS });
		try {
			expect(await db.query('SELECT pg_sleep(0.2)')).toHaveLength(1);
		} finally {
			await db.close();
		}
	});

	it('lets a migration run longer than the query timeout (the server limits it, not the pool)', async () => {
		const db = new PgDb({ url: await server.createDatabase(), logger, queryTimeoutMs: QUERY_TIMEOUT_MS / 4 });
		const client = await db.pool.connect();
		try {
			const slow = [{ version: 1, name: 'slow', up: `SELECT pg_sleep(${QUERY_TIMEOUT_MS / 1000})` }];
			expect(await migratePg(client, 'spec', slow)).toEqual([1]);
		} finally {
			client.release();
			await db.close();
		}
	});

	it('counts a query read timeout as unreachable', () => {
		expect(isUnreachable(new Error('Query read timeout'))).toBe(true);
		// there, but not able to serve it now: asking again shortly may pass (its connection is still good)
		for (const code of ['53300', '25006', '40001', '40P01']) {
			const err = Object.assign(new Error('not now'), { code });
			expect([isUnreachable(err), isStoreUnavailable(classify(err))], code).toEqual([false, true]);
		}
		expect(
			isUnreachable(
				Object.assign(new Error('canceling statement due to statement timeout'), { code: '57014' })
			)
		).toBe(false);
	});
});
