/**
 * @module store/pg/pg-db
 * One connection pool to PostgreSQL (node-postgres), with the type parsing aco's records need
 * (bigint as number, timestamps as ISO-8601 strings like SQLite's) and one rule for failures:
 * anything that means "the database cannot be reached" becomes a StoreUnavailableError, so
 * callers can answer 503 and retry instead of reporting an internal error. A database that stops
 * answering (a partition, a firewall dropping packets, a paused VM or server) counts too: a
 * statement with no answer within `queryTimeoutMs` fails that way, and its connection is discarded.
 * A value the database refuses becomes a StoreDataError, which no retry will fix.
 */
import pg from 'pg';
import type { Logger } from '../../logger';
import { StoreDataError, StoreUnavailableError } from '../errors';

export type Queryable = Pick<pg.ClientBase, 'query'>;

export interface PgDbOptions {
	url: string;
	/** connections this node holds at most */
	maxConnections?: number;
	/** how long a query waits for a connection before failing */
	connectTimeoutMs?: number;
	/** longest a statement may run (PostgreSQL's `statement_timeout`, on the server) */
	statementTimeoutMs?: number;
	/**
	 * How long this node waits for the answer to a statement before it counts the database as
	 * unreachable and drops the connection (node-postgres' `query_timeout`). Without it, a database
	 * that stops answering hangs every query for the whole outage instead of failing it.
	 */
	queryTimeoutMs?: number;
	logger: Logger;
}

export const DEFAULT_MAX_CONNECTIONS = 10;
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
export const DEFAULT_STATEMENT_TIMEOUT_MS = 60_000;
/**
 * Below a third of the default lease (15 s, renewed every 5 s): a renewal that gets no answer
 * fails before the next one is due, which, on a fresh connection, still has two thirds of the
 * lease left. A statement that is slow rather than unanswered runs on up to `statement_timeout`
 * on the server, whose locks it holds; the client's transaction never commits it (no COMMIT is
 * sent after a statement without an answer).
 */
export const DEFAULT_QUERY_TIMEOUT_MS = 4_000;
/** probes start after this long idle: a NAT or firewall keeps the pool's connections, and a dead peer is found */
export const KEEP_ALIVE_DELAY_MS = 10_000;

const TIMESTAMPTZ = 1184;
const INT8 = 20;
const parseTimestamp = pg.types.getTypeParser(TIMESTAMPTZ, 'text') as (value: string) => Date;

/** node-postgres' parsers, except bigint → number and timestamptz → ISO string */
export const TYPES = {
	getTypeParser(oid: number, format?: 'text' | 'binary') {
		if (oid === INT8) return (value: string) => Number(value);
		if (oid === TIMESTAMPTZ) return (value: string) => parseTimestamp(value).toISOString();
		return pg.types.getTypeParser(oid, format);
	}
} as pg.CustomTypesConfig;

const UNREACHABLE_CODES = new Set([
	'ECONNREFUSED',
	'ECONNRESET',
	'ETIMEDOUT',
	'EPIPE',
	'ENOTFOUND',
	'EHOSTUNREACH',
	'57P01', // admin_shutdown
	'57P02', // crash_shutdown
	'57P03', // cannot_connect_now (starting up, shutting down)
	'08000',
	'08001',
	'08003',
	'08004',
	'08006'
]);

/**
 * The database is there but cannot serve the statement now, and asking again shortly may pass:
 * too many connections, a standby that is read-only after a failover, a transaction that lost
 * a race (serialization failure, deadlock). Not a statement timeout (57014): the same statement
 * would take as long again.
 */
const NOT_NOW_CODES = new Set(['53300', '25006', '40001', '40P01']);

/**
 * whether an error means the database could not be reached (rather than a bad query): the
 * connection is gone, and one started anew may get through
 */
export function isUnreachable(err: unknown): boolean {
	const e = err as { code?: string; message?: string } | null;
	if (!e) return false;
	if (e.code && UNREACHABLE_CODES.has(e.code)) return true;
	// 'Query read timeout': node-postgres' query_timeout, a statement without an answer in time
	return /Connection terminated|connection error|timeout exceeded when trying to connect|Client was closed|not queryable|Query read timeout/i.test(
		e.message ?? ''
	);
}

/**
 * whether PostgreSQL refused a value (SQLSTATE class 22, data exception: 22021 a NUL or bad
 * UTF-8 in text, 22003 a number out of range, 22P05 a NUL in `jsonb`, …): the same statement
 * fails the same way however often it is sent
 */
export function isDataError(err: unknown): boolean {
	const code = (err as { code?: unknown } | null)?.code;
	return typeof code === 'string' && code.length === 5 && code.startsWith('22');
}

/** whether the database could not serve the statement now, its connection still good (NOT_NOW_CODES) */
export function isNotNow(err: unknown): boolean {
	const code = (err as { code?: unknown } | null)?.code;
	return typeof code === 'string' && NOT_NOW_CODES.has(code);
}

/** unreachable or not now: a 503 store_unavailable, retryable; a bad value: a StoreDataError */
export function classify(err: unknown): unknown {
	if (isUnreachable(err) || isNotNow(err)) return new StoreUnavailableError(err);
	return isDataError(err) ? new StoreDataError(err) : err;
}

export class PgDb {
	readonly pool: pg.Pool;
	readonly url: string;
	/** how long opening a connection may take (the pool's, and the signal connection's in pg-queue) */
	readonly connectTimeoutMs: number;
	/** how long a statement's answer is waited for (see PgDbOptions.queryTimeoutMs) */
	readonly queryTimeoutMs: number;
	/**
	 * The pool for one statement whose whole result the caller reads (`.rows`, `.rowCount`), its
	 * errors classified as {@link query}'s: a database that cannot be reached is a
	 * StoreUnavailableError (503 store_unavailable), not an unexpected error.
	 */
	readonly queryable: Queryable;

	constructor(options: PgDbOptions) {
		this.url = options.url;
		this.connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
		this.queryTimeoutMs = options.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS;
		this.pool = new pg.Pool({
			connectionString: options.url,
			max: options.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
			connectionTimeoutMillis: this.connectTimeoutMs,
			idleTimeoutMillis: 30_000,
			statement_timeout: options.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS,
			// the pool discards a connection released with an error (pool.query, tx below), and ending
			// one whose statement has no answer destroys its socket: nothing asked later waits on it
			query_timeout: this.queryTimeoutMs,
			keepAlive: true,
			keepAliveInitialDelayMillis: KEEP_ALIVE_DELAY_MS,
			application_name: 'aco',
			types: TYPES
		});
		// an idle connection dropped by the server (a restart) must not take the process down
		this.pool.on('error', (err) =>
			options.logger.warn({ err: err.message }, 'an idle database connection failed')
		);
		const pool = this.pool;
		this.queryable = {
			async query(text: string, values?: unknown[]) {
				try {
					return await pool.query(text, values);
				} catch (err) {
					throw classify(err);
				}
			}
		} as Queryable;
	}

	/**
	 * One statement's rows. `timeoutMs`: its answer is waited for this long at most (never longer
	 * than `queryTimeoutMs`), then it fails as unanswered and its connection is dropped, as any
	 * statement's is at `queryTimeoutMs`. (Waiting for a connection is bounded by `connectTimeoutMs`.)
	 */
	async query<R extends pg.QueryResultRow>(
		text: string,
		values?: unknown[],
		{ timeoutMs }: { timeoutMs?: number } = {}
	): Promise<R[]> {
		if (timeoutMs === undefined) return (await this.queryable.query<R>(text, values)).rows;
		// node-postgres' per-statement query_timeout (the pool's is the default), missing from its types
		const query_timeout = Math.max(1, Math.min(timeoutMs, this.queryTimeoutMs));
		try {
			return (await this.pool.query<R>({ text, values, query_timeout } as pg.QueryConfig)).rows;
		} catch (err) {
			throw classify(err);
		}
	}

	/** runs `fn` in one transaction on one connection; rolls back when it throws */
	async tx<T>(fn: (client: pg.PoolClient) => Promise<T>, begin = 'BEGIN'): Promise<T> {
		let client: pg.PoolClient;
		try {
			client = await this.pool.connect();
		} catch (err) {
			throw classify(err);
		}
		let broken = false;
		// a connection that drops between two statements emits 'error' on the client, which
		// would end the process without a listener; the next statement reports it instead
		const onError = () => (broken = true);
		client.on('error', onError);
		try {
			await client.query(begin);
			const result = await fn(client);
			await client.query('COMMIT');
			return result;
		} catch (err) {
			broken = isUnreachable(err);
			if (!broken) await client.query('ROLLBACK').catch(() => (broken = true));
			throw classify(err);
		} finally {
			client.off('error', onError);
			// a connection that failed mid-transaction is not given to the next caller
			client.release(broken ? true : undefined);
		}
	}

	async close(): Promise<void> {
		await this.pool.end();
	}
}
