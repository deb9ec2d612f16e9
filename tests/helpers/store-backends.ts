/**
 * @module tests/helpers/store-backends
 * Runs a store spec against every Store: SQLite in memory and PostgreSQL (a real server from
 * tests/helpers/postgres.ts, one per spec file, one database, emptied before each test).
 *
 * @example
 * describe.each(STORE_KINDS)('%s store', (kind) => {
 *   const backend = useStoreBackend(kind);
 *   let store: Store;
 *   beforeEach(async () => (store = await backend.open()));
 *   afterEach(() => store.close());
 * });
 */
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import pg from 'pg';
import { createLogger } from '../../src/lib/server/logger';
import { openPgStore } from '../../src/lib/server/store/pg/pg-store';
import { openSqliteStore } from '../../src/lib/server/store/sqlite-store';
import { createStandaloneTask, createTestExecution } from '../../src/lib/server/store/test-records';
import type { Store } from '../../src/lib/server/store/types';
import { startPostgres, type TestPostgres } from './postgres';

export const STORE_KINDS = ['sqlite', 'postgres'] as const;
export type StoreKind = (typeof STORE_KINDS)[number];

export interface StoreBackend {
	/** a store on an empty database */
	open(): Promise<Store>;
	/** the PostgreSQL database's URL (postgres only) */
	readonly url: string;
	/** a new empty database on the same server (postgres only) */
	createDatabase(): Promise<string>;
}

const logger = createLogger('silent');

/** registers the hooks a backend needs in the current describe block */
export function useStoreBackend(kind: StoreKind): StoreBackend {
	if (kind === 'sqlite') {
		return {
			open: async () => openSqliteStore('', { filename: ':memory:' }),
			get url(): string {
				throw new Error('the SQLite backend has no URL');
			},
			createDatabase() {
				throw new Error('the SQLite backend has no server');
			}
		};
	}
	let server: TestPostgres | null = null;
	let admin: pg.Client | null = null;
	let url = '';
	beforeAll(async () => {
		server = await startPostgres();
		url = await server.createDatabase();
		// migrations once, so each test's store only checks them
		await (await openPgStore({ url, node: 'spec', logger })).close();
		admin = new pg.Client({ connectionString: url });
		await admin.connect();
	}, 60_000);
	afterAll(async () => {
		await admin?.end();
		await server?.close();
	});
	beforeEach(async () => {
		// DELETE beats TRUNCATE on tables this small; children first, for the foreign keys
		await admin!.query(
			'DELETE FROM log_lines; DELETE FROM log_marks; DELETE FROM log_progress; DELETE FROM ingest_keys; DELETE FROM executions; DELETE FROM tasks; DELETE FROM runs; DELETE FROM aco_nodes'
		);
	});
	return {
		open: () => openPgStore({ url, node: 'spec', logger }),
		get url() {
			return url;
		},
		createDatabase: () => server!.createDatabase()
	};
}

/**
 * Registers, in the current describe block, a store of `kind` for each test with one execution of
 * a stand-alone task to log into, closed after the test. Read `store` and `executionId` inside the
 * test (each test gets new ones).
 */
export function useExecutionStore(kind: StoreKind): { readonly store: Store; readonly executionId: string } {
	const backend = useStoreBackend(kind);
	const current = { store: null as unknown as Store, executionId: '' };
	beforeEach(async () => {
		current.store = await backend.open();
		const task = await createStandaloneTask(current.store);
		current.executionId = (await createTestExecution(current.store, task.id)).id;
	});
	afterEach(() => current.store.close());
	return current;
}
