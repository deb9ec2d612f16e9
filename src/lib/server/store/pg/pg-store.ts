/**
 * @module store/pg/pg-store
 * The `Store` on PostgreSQL (node-postgres), for several aco nodes sharing one database. It keeps
 * the SQLite store's behaviour and answers (the store spec runs against both): keyset range
 * reads, per-stream ranks, outline marks and progress runs kept at ingest, idempotency keys in
 * the task's transaction.
 *
 * Log ingest batches: one append is one transaction whatever its size (see pg-append: lock the
 * execution row, then COPY the new lines, or insert a few through `unnest` arrays), and it tells
 * the log pipeline to write a backlog in appends of thousands of lines (`logBatch`), so lines go
 * in at tens of thousands per second (`npm run bench -- log-ingest-pg`).
 */
import type { Execution, LogLine, LogOutlineResponse, Task, WorkflowRun } from '../../../protocol';
import { newId } from '../../ids';
import type { Logger } from '../../logger';
import { redactUrl } from '../../redact-url';
import { MAX_OUTLINE_ENTRIES, MAX_OUTLINE_MARKS, buildOutline, type LogMarkRow } from '../log-marks';
import { LOG_CHUNK_CHARS, readLogPage, rankFrom, type LogPageReads } from '../log-pages';
import { PATCHABLE, TASK_NOT_ENDED } from '../rows';
import type {
	AuthSession,
	ExecutionPatch,
	InterruptedCounts,
	IterateLinesQuery,
	ListRunsQuery,
	ListTasksQuery,
	LogPage,
	LogPageQuery,
	NewExecution,
	NewRun,
	NewTask,
	ReadLinesQuery,
	RunPatch,
	Store,
	TaskOnce,
	TaskPatch,
	ProducerCancel,
	ProducerTask
} from '../types';
import { PG_LOG_BATCH, appendLines } from './pg-append';
import { PgDb, isUnreachable, type Queryable } from './pg-db';
import { migratePg } from './pg-migrations';
import {
	EXECUTION_COLUMNS,
	LOG_COLUMNS,
	RUN_COLUMNS,
	TASK_COLUMNS,
	decodeText,
	patchSet,
	toExecution,
	toLogLine,
	toRun,
	toTask,
	type ExecutionRow,
	type PgLogRow,
	type RunRow,
	type TaskRow
} from './pg-rows';
import { PgQueue } from './pg-queue';

export const DEFAULT_LIST_LIMIT = 100;
export const MAX_LIST_LIMIT = 1_000;
export const DEFAULT_READ_LIMIT = 1_000;
export const MAX_READ_LIMIT = 10_000;
export const DEFAULT_CHUNK = 1_000;

export interface PgStoreOptions {
	url: string;
	/** this node's id, recorded with the migrations it applies */
	node: string;
	logger: Logger;
	maxConnections?: number;
	connectTimeoutMs?: number;
	/** how long a statement may go unanswered before the database counts as unreachable (PgDb) */
	queryTimeoutMs?: number;
	/** attempts to reach the database at start before giving up (default: keep trying) */
	connectAttempts?: number;
}

/**
 * Connects, applies pending migrations under the migration lock, and returns the store.
 * @example const store = await openPgStore({ url: 'postgres://aco@db/aco', node: 'a', logger });
 */
export async function openPgStore(options: PgStoreOptions): Promise<PgStore> {
	const db = new PgDb({
		url: options.url,
		logger: options.logger,
		maxConnections: options.maxConnections,
		connectTimeoutMs: options.connectTimeoutMs,
		queryTimeoutMs: options.queryTimeoutMs
	});
	// a database still starting (or briefly away) is waited for, with backoff; anything else is fatal
	for (let attempt = 1; ; attempt++) {
		try {
			const client = await db.pool.connect();
			const onError = () => {};
			client.on('error', onError);
			try {
				const applied = await migratePg(client, options.node);
				if (applied.length) options.logger.info({ versions: applied }, 'applied database migrations');
			} finally {
				client.off('error', onError);
				client.release(true);
			}
			break;
		} catch (err) {
			if (!isUnreachable(err) || attempt >= (options.connectAttempts ?? Infinity)) {
				await db.close().catch(() => {});
				throw new Error(`could not open the PostgreSQL database: ${(err as Error).message}`, { cause: err });
			}
			const delay = Math.min(5_000, 250 * 2 ** (attempt - 1));
			options.logger.warn(
				{ err: (err as Error).message, attempt, retry_in_ms: delay, database: redactUrl(options.url) },
				'PostgreSQL is not reachable yet; retrying'
			);
			await new Promise((resolve) => setTimeout(resolve, delay));
		}
	}
	return new PgStore(db, options.logger);
}

function clampInt(value: number | undefined, fallback: number, min: number, max: number): number {
	if (value === undefined || !Number.isFinite(value)) return fallback;
	return Math.min(max, Math.max(min, Math.floor(value)));
}

/** WHERE clause and values for the given equality filters */
function where(filters: Record<string, unknown>): { sql: string; values: unknown[] } {
	const values: unknown[] = [];
	const parts: string[] = [];
	for (const [column, value] of Object.entries(filters)) {
		if (value === undefined || value === null) continue;
		values.push(value);
		parts.push(`${column} = $${values.length}`);
	}
	return { sql: parts.length ? ` WHERE ${parts.join(' AND ')}` : '', values };
}

/**
 * Line numbers and ranks are `integer` columns, and PostgreSQL refuses a larger number even to
 * compare with one; no line is numbered past this, so `n > MAX_LINE` matches none (as in SQLite).
 */
const MAX_LINE = 2_147_483_647;
const belowLine = (after: number) => Math.min(after, MAX_LINE);

/**
 * PostgreSQL text cannot hold NUL, and it refuses one even to compare with, so no stored id or
 * name has one: a key with a NUL matches nothing (as in SQLite) without asking.
 */
const hasNul = (key: string | null | undefined) => typeof key === 'string' && key.includes('\0');

function rethrowMissingParent(err: unknown, what: string): never {
	if ((err as { code?: string }).code === '23503') throw new Error(`${what} does not exist`, { cause: err });
	throw err;
}

const now = () => new Date().toISOString();

/** the line columns of `log_lines l` */
const JOINED_LOG_COLUMNS = LOG_COLUMNS.split(', ')
	.map((col) => `l.${col}`)
	.join(', ');

export class PgStore implements Store {
	readonly db: PgDb;
	readonly queue: PgQueue;
	readonly logBatch = PG_LOG_BATCH;
	#closed = false;
	/** the pool for one-statement queries that need its whole result (PgDb.queryable) */
	#pool: Queryable;

	constructor(db: PgDb, logger: Logger) {
		this.db = db;
		this.queue = new PgQueue(db, logger);
		this.#pool = db.queryable;
	}

	#assertOpen(): void {
		if (this.#closed) throw new Error('store is closed');
	}

	async ping(): Promise<void> {
		this.#assertOpen();
		await this.db.query('SELECT 1');
	}

	async createRun(input: NewRun): Promise<WorkflowRun> {
		this.#assertOpen();
		const [row] = await this.db.query<RunRow>(
			`INSERT INTO runs (id, workflow, status, progress, total_weight, finished_weight, created_at)
			 VALUES ($1, $2, 'queued', 0, $3, 0, $4) RETURNING ${RUN_COLUMNS}`,
			[newId('run'), input.workflow, input.total_weight, now()]
		);
		return toRun(row);
	}

	async updateRun(id: string, patch: RunPatch): Promise<WorkflowRun> {
		return toRun(await this.#patch<RunRow>('runs', RUN_COLUMNS, id, patch, 'run'));
	}

	async getRun(id: string): Promise<WorkflowRun | null> {
		this.#assertOpen();
		if (hasNul(id)) return null;
		const [row] = await this.db.query<RunRow>(`SELECT ${RUN_COLUMNS} FROM runs WHERE id = $1`, [id]);
		return row ? toRun(row) : null;
	}

	async listRuns(query: ListRunsQuery = {}): Promise<WorkflowRun[]> {
		this.#assertOpen();
		if (hasNul(query.workflow)) return [];
		const { sql, values } = where({ status: query.status, workflow: query.workflow });
		values.push(clampInt(query.limit, DEFAULT_LIST_LIMIT, 0, MAX_LIST_LIMIT));
		const rows = await this.db.query<RunRow>(
			`SELECT ${RUN_COLUMNS} FROM runs${sql} ORDER BY created_at DESC, id DESC LIMIT $${values.length}`,
			values
		);
		return rows.map(toRun);
	}

	async createTask(input: NewTask): Promise<Task> {
		this.#assertOpen();
		return this.#insertTask(this.#pool, input);
	}

	async #insertTask(db: Queryable, input: NewTask): Promise<Task> {
		try {
			const { rows } = await db.query<TaskRow>(
				`INSERT INTO tasks (id, run_id, key, name, status, progress, needs, weight, optional, step_count, created_at)
				 VALUES ($1, $2, $3, $4, 'queued', 0, $5, $6, $7, $8, $9) RETURNING ${TASK_COLUMNS}`,
				[
					newId('task'),
					input.run_id,
					input.key,
					input.name,
					JSON.stringify(input.needs),
					input.weight,
					input.optional,
					input.step_count,
					now()
				]
			);
			return toTask(rows[0]);
		} catch (err) {
			rethrowMissingParent(err, `cannot create task "${input.key}": run ${input.run_id}`);
		}
	}

	async createTaskOnce(idempotencyKey: string, input: NewTask): Promise<TaskOnce> {
		this.#assertOpen();
		return this.db.tx(async (client) => {
			// serialises callers of one key across nodes; released with the transaction
			await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [idempotencyKey]);
			const found = await client.query<TaskRow>(
				`SELECT ${TASK_COLUMNS.replace(/(\w+)/g, 't.$1')} FROM ingest_keys k JOIN tasks t ON t.id = k.task_id WHERE k.key = $1`,
				[idempotencyKey]
			);
			if (found.rows.length) return { task: toTask(found.rows[0]), existing: true };
			const task = await this.#insertTask(client, input);
			await client.query('INSERT INTO ingest_keys (key, task_id, created_at) VALUES ($1, $2, $3)', [
				idempotencyKey,
				task.id,
				task.created_at
			]);
			return { task, existing: false };
		});
	}

	async importIdempotencyKeys(keys: ReadonlyArray<readonly [string, string]>): Promise<number> {
		this.#assertOpen();
		if (keys.length === 0) return 0;
		const rows = await this.db.query(
			`INSERT INTO ingest_keys (key, task_id, created_at)
			 SELECT k.key, t.id, now() FROM unnest($1::text[], $2::text[]) AS k (key, task_id)
			 JOIN tasks t ON t.id = k.task_id
			 ON CONFLICT (key) DO NOTHING RETURNING key`,
			[keys.map(([key]) => key), keys.map(([, task]) => task)]
		);
		return rows.length;
	}

	async updateTask(id: string, patch: TaskPatch): Promise<Task> {
		return toTask(await this.#patch<TaskRow>('tasks', TASK_COLUMNS, id, patch, 'task'));
	}

	async getTask(id: string): Promise<Task | null> {
		this.#assertOpen();
		if (hasNul(id)) return null;
		const [row] = await this.db.query<TaskRow>(`SELECT ${TASK_COLUMNS} FROM tasks WHERE id = $1`, [id]);
		return row ? toTask(row) : null;
	}

	async listTasks(query: ListTasksQuery = {}): Promise<Task[]> {
		this.#assertOpen();
		if (hasNul(query.run_id)) return [];
		const { sql, values } = where({ status: query.status, run_id: query.run_id });
		values.push(clampInt(query.limit, DEFAULT_LIST_LIMIT, 0, MAX_LIST_LIMIT));
		const rows = await this.db.query<TaskRow>(
			`SELECT ${TASK_COLUMNS} FROM tasks${sql} ORDER BY created_at DESC, id DESC LIMIT $${values.length}`,
			values
		);
		return rows.map(toTask);
	}

	async runTasks(runId: string): Promise<Task[]> {
		this.#assertOpen();
		if (hasNul(runId)) return [];
		const rows = await this.db.query<TaskRow>(
			`SELECT ${TASK_COLUMNS} FROM tasks WHERE run_id = $1 ORDER BY created_at, id`,
			[runId]
		);
		return rows.map(toTask);
	}

	async createExecution(input: NewExecution): Promise<Execution> {
		this.#assertOpen();
		const id = input.id ?? newId('exec');
		let created: ExecutionRow | undefined;
		try {
			// no target: a `one_per_step` step the task has already conflicts too (on its unique index,
			// waiting for another node's insert to commit or roll back), and is read below
			[created] = await this.db.query<ExecutionRow>(
				`INSERT INTO executions (id, task_id, step, name, command, args, cwd, status, started_at, line_count, one_per_step)
				 VALUES ($1, $2, $3, $4, $5, $6, $7, 'running', $8, 0, $9)
				 ON CONFLICT DO NOTHING RETURNING ${EXECUTION_COLUMNS}`,
				[
					id,
					input.task_id,
					input.step,
					input.name,
					input.command,
					JSON.stringify(input.args),
					input.cwd,
					now(),
					input.one_per_step === true
				]
			);
		} catch (err) {
			rethrowMissingParent(err, `cannot create execution "${input.name}": task ${input.task_id}`);
		}
		if (created) return toExecution(created);
		// sent again after a lost reply (the first attempt stored it), or a producer's tool another
		// request or node started first: the task keeps that one
		const [stored] = await this.db.query<ExecutionRow & { mine: boolean }>(
			`SELECT ${EXECUTION_COLUMNS}, id = $1 AS mine FROM executions
			 WHERE id = $1 OR (task_id = $2 AND step = $3 AND one_per_step AND $4)
			 ORDER BY id = $1 DESC LIMIT 1`,
			[id, input.task_id, input.step, input.one_per_step === true]
		);
		if (!stored || (stored.mine && stored.task_id !== input.task_id)) {
			throw new Error(`cannot create execution ${id}: that id belongs to another task`);
		}
		return toExecution(stored);
	}

	async updateExecution(id: string, patch: ExecutionPatch): Promise<Execution> {
		return toExecution(
			await this.#patch<ExecutionRow>('executions', EXECUTION_COLUMNS, id, patch, 'execution')
		);
	}

	async endExecution(id: string, patch: ExecutionPatch): Promise<Execution | null> {
		this.#assertOpen();
		if (hasNul(id)) return null;
		const change = patchSet(PATCHABLE.executions, patch);
		if (!change) throw new Error('ending an execution needs a patch');
		// or ended by this very patch: a try whose answer was lost committed it already
		const own = change.values.length + 2;
		const [row] = await this.db.query<ExecutionRow>(
			`UPDATE executions SET ${change.set}
			 WHERE id = $1 AND (status = 'running' OR (status = $${own} AND finished_at = $${own + 1}))
			 RETURNING ${EXECUTION_COLUMNS}`,
			[id, ...change.values, patch.status ?? null, patch.finished_at ?? null]
		);
		return row ? toExecution(row) : null;
	}

	async getExecution(id: string): Promise<Execution | null> {
		this.#assertOpen();
		if (hasNul(id)) return null;
		const [row] = await this.db.query<ExecutionRow>(
			`SELECT ${EXECUTION_COLUMNS} FROM executions WHERE id = $1`,
			[id]
		);
		return row ? toExecution(row) : null;
	}

	async listExecutions(taskId: string): Promise<Execution[]> {
		this.#assertOpen();
		if (hasNul(taskId)) return [];
		const rows = await this.db.query<ExecutionRow>(
			`SELECT ${EXECUTION_COLUMNS} FROM executions WHERE task_id = $1 ORDER BY step, started_at, id`,
			[taskId]
		);
		return rows.map(toExecution);
	}

	async #patch<Row extends object>(
		table: keyof typeof PATCHABLE,
		columns: string,
		id: string,
		patch: object,
		what: string
	): Promise<Row> {
		this.#assertOpen();
		if (hasNul(id)) throw new Error(`${what} ${id} not found`);
		const change = patchSet(PATCHABLE[table], patch);
		const rows = change
			? await this.db.query<Row & Record<string, unknown>>(
					`UPDATE ${table} SET ${change.set} WHERE id = $1 RETURNING ${columns}`,
					[id, ...change.values]
				)
			: await this.db.query<Row & Record<string, unknown>>(`SELECT ${columns} FROM ${table} WHERE id = $1`, [
					id
				]);
		if (!rows[0]) throw new Error(`${what} ${id} not found`);
		return rows[0];
	}

	async appendLogLines(executionId: string, lines: LogLine[]): Promise<LogLine[]> {
		this.#assertOpen();
		if (lines.length === 0) return [];
		return this.db.tx((client) => appendLines(client, executionId, lines));
	}

	async readLogLines(executionId: string, query: ReadLinesQuery = {}): Promise<LogLine[]> {
		this.#assertOpen();
		const limit = clampInt(query.limit, DEFAULT_READ_LIMIT, 0, MAX_READ_LIMIT);
		return pageReads(this.#pool).readLines(executionId, query.after ?? 0, limit);
	}

	/** keyset pages, each its own short query, so lines appended meanwhile show up (as in SQLite) */
	async *iterateLogLines(
		executionId: string,
		query: IterateLinesQuery = {}
	): AsyncGenerator<LogLine[], void, undefined> {
		for await (const rows of this.#pages(executionId, query)) yield rows.map(toLogLine);
	}

	async *scanLogText(
		executionId: string,
		query: IterateLinesQuery = {}
	): AsyncGenerator<[number, string][], void, undefined> {
		for await (const rows of this.#pages(executionId, query)) {
			yield rows.map((row): [number, string] => [row.n, decodeText(row.text, row.enc)]);
		}
	}

	async *#pages(
		executionId: string,
		query: IterateLinesQuery
	): AsyncGenerator<(PgLogRow & { sn: number })[]> {
		const chunk = clampInt(query.chunk, DEFAULT_CHUNK, 1, MAX_READ_LIMIT);
		const { stream } = query;
		let last = belowLine(query.after ?? 0);
		const first = stream ? await rankFrom(pageReads(this.#pool), executionId, stream, last + 1) : 0;
		if (first === null) return;
		let rank = first;
		for (;;) {
			this.#assertOpen();
			// of the next `chunk` lines, those that start within the budget (one at least): 2,000 lines
			// of 64 KiB would otherwise come over at once, held whole by the driver. The cut is found
			// from the stored sizes alone (octet_length reads no text); only the lines kept are read
			const [where, order, params] = stream
				? ['stream = $2 AND sn >= $3', 'sn', [executionId, stream, rank]]
				: ['n > $2', 'n', [executionId, last]];
			const rows = await this.db.query<PgLogRow & { sn: number; fetched: number }>(
				`SELECT ${JOINED_LOG_COLUMNS}, l.sn, b.fetched FROM (
					SELECT n, sum(bytes) OVER (ORDER BY ${order}) - bytes AS before, count(*) OVER () AS fetched
					FROM (SELECT n, sn, octet_length(text) AS bytes FROM log_lines
						WHERE execution_id = $1 AND ${where} ORDER BY ${order} LIMIT $${params.length + 1}) page
				) b JOIN log_lines l ON l.execution_id = $1 AND l.n = b.n
				WHERE b.before < $${params.length + 2} ORDER BY l.${order}`,
				[...params, chunk, LOG_CHUNK_CHARS]
			);
			if (rows.length === 0) return;
			last = rows[rows.length - 1].n;
			rank = rows[rows.length - 1].sn + 1;
			yield rows;
			if (rows.length === Number(rows[0].fetched) && rows.length < chunk) return;
		}
	}

	async readLogPage(executionId: string, query: LogPageQuery = {}): Promise<LogPage> {
		this.#assertOpen();
		// one snapshot, so the counts and the lines of a page agree while lines are appended
		return this.db.tx(
			(client) => readLogPage(pageReads(client), executionId, query),
			'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY'
		);
	}

	async readLogLinesAt(executionId: string, lines: readonly number[]): Promise<LogLine[]> {
		this.#assertOpen();
		if (lines.length === 0) return [];
		const rows = await this.db.query<PgLogRow>(
			`SELECT ${LOG_COLUMNS} FROM log_lines WHERE execution_id = $1 AND n = ANY($2::int[])`,
			[executionId, lines]
		);
		const byN = new Map(rows.map((row) => [row.n, row]));
		const found: LogLine[] = [];
		for (const n of lines) {
			const row = byN.get(n);
			if (row) found.push(toLogLine(row));
		}
		return found;
	}

	async readLogOutline(executionId: string): Promise<LogOutlineResponse> {
		this.#assertOpen();
		const marks = await this.db.query<LogMarkRow>(
			'SELECT n, kind, text, file, file_line FROM log_marks WHERE execution_id = $1 ORDER BY n LIMIT $2',
			[executionId, MAX_OUTLINE_MARKS + 1]
		);
		const outline = buildOutline(marks);
		const runs = await this.db.query<{ start: number; end_n: number | null }>(
			'SELECT start, end_n FROM log_progress WHERE execution_id = $1 ORDER BY start LIMIT $2',
			[executionId, MAX_OUTLINE_ENTRIES + 1]
		);
		if (runs.length > MAX_OUTLINE_ENTRIES) outline.truncated = true;
		outline.progress = runs.slice(0, MAX_OUTLINE_ENTRIES).map((r) => ({ start: r.start, end: r.end_n }));
		return outline;
	}

	async createSession(session: AuthSession): Promise<void> {
		this.#assertOpen();
		await this.db.query(
			`INSERT INTO sessions (id, role, token_id, created_at, last_seen_at, expires_at)
			 VALUES ($1, $2, $3, $4, $5, $6)`,
			[
				session.id,
				session.role,
				session.token_id,
				session.created_at,
				session.last_seen_at,
				session.expires_at
			]
		);
	}

	async getSession(id: string): Promise<AuthSession | null> {
		this.#assertOpen();
		const [row] = await this.db.query<AuthSession>(
			'SELECT id, role, token_id, created_at, last_seen_at, expires_at FROM sessions WHERE id = $1',
			[id]
		);
		return row ?? null;
	}

	async touchSession(id: string, lastSeenAt: string, expiresAt: string): Promise<boolean> {
		this.#assertOpen();
		const rows = await this.db.query(
			'UPDATE sessions SET last_seen_at = $2, expires_at = $3 WHERE id = $1 RETURNING id',
			[id, lastSeenAt, expiresAt]
		);
		return rows.length > 0;
	}

	async deleteSession(id: string): Promise<boolean> {
		this.#assertOpen();
		return (await this.db.query('DELETE FROM sessions WHERE id = $1 RETURNING id', [id])).length > 0;
	}

	async expireSessions(now: string): Promise<number> {
		this.#assertOpen();
		return (await this.db.query('DELETE FROM sessions WHERE expires_at <= $1 RETURNING id', [now])).length;
	}

	async endTask(id: string, patch: TaskPatch): Promise<Task | null> {
		this.#assertOpen();
		if (hasNul(id)) return null;
		const change = patchSet(PATCHABLE.tasks, patch);
		if (!change) throw new Error('ending a task needs a patch');
		const [row] = await this.db.query<TaskRow>(
			`UPDATE tasks SET ${change.set} WHERE id = $1 AND ${TASK_NOT_ENDED} RETURNING ${TASK_COLUMNS}`,
			[id, ...change.values]
		);
		return row ? toTask(row) : null;
	}

	// Heard times are the database's clock (as leases are): the nodes' clocks need not agree.

	async noteHeard(id: string): Promise<void> {
		this.#assertOpen();
		if (hasNul(id)) return;
		await this.db.query(
			`UPDATE tasks SET heard_at = GREATEST(heard_at, now())
			 WHERE id = $1 AND status = 'running' AND run_id IS NULL`,
			[id]
		);
	}

	async listSilentTasks(silentForMs: number, limit: number): Promise<string[]> {
		this.#assertOpen();
		const rows = await this.db.query<{ id: string }>(
			`SELECT id FROM tasks WHERE status = 'running' AND run_id IS NULL
			 AND COALESCE(heard_at, started_at, created_at) <= now() - $1 * interval '1 millisecond'
			 ORDER BY COALESCE(heard_at, started_at, created_at) LIMIT $2`,
			[silentForMs, limit]
		);
		return rows.map((row) => row.id);
	}

	async claimSilentTask(id: string, silentForMs: number): Promise<boolean> {
		this.#assertOpen();
		if (hasNul(id)) return false;
		const rows = await this.db.query(
			`UPDATE tasks SET heard_at = now() WHERE id = $1 AND status = 'running' AND run_id IS NULL
			 AND COALESCE(heard_at, started_at, created_at) <= now() - $2 * interval '1 millisecond' RETURNING id`,
			[id, silentForMs]
		);
		return rows.length > 0;
	}

	async askProducerCancel(id: string): Promise<ProducerCancel> {
		this.#assertOpen();
		if (hasNul(id)) return null;
		const asked = await this.db.query(
			`UPDATE tasks SET stopping = 'cancelled'
			 WHERE id = $1 AND status = 'running' AND run_id IS NULL AND stopping IS NULL RETURNING id`,
			[id]
		);
		if (asked.length > 0) return 'asked';
		const [row] = await this.db.query<{ status: string; stopping: string | null }>(
			'SELECT status, stopping FROM tasks WHERE id = $1 AND run_id IS NULL',
			[id]
		);
		return row?.status === 'running' && row.stopping === 'cancelled' ? 'already' : null;
	}

	async getProducerTask(id: string): Promise<ProducerTask | null> {
		this.#assertOpen();
		if (hasNul(id)) return null;
		const [row] = await this.db.query<TaskRow & { cancel_asked: boolean | null }>(
			`SELECT ${TASK_COLUMNS}, run_id IS NULL AND stopping = 'cancelled' AS cancel_asked FROM tasks WHERE id = $1`,
			[id]
		);
		return row ? { task: toTask(row), cancelAsked: row.cancel_asked === true } : null;
	}

	async markInterrupted(reason: string): Promise<InterruptedCounts> {
		this.#assertOpen();
		const at = now();
		return this.db.tx(async (client) => {
			const runs = await client.query(
				`UPDATE runs SET status = 'interrupted', finished_at = $1, error = $2 WHERE status IN ('running', 'queued')`,
				[at, reason]
			);
			const tasks = await client.query(
				`UPDATE tasks SET status = 'interrupted', finished_at = $1, error = $2, ready_at = NULL, node = NULL, lease_until = NULL
				 WHERE status IN ('running', 'queued')`,
				[at, reason]
			);
			const executions = await client.query(
				`UPDATE executions SET status = 'interrupted', finished_at = $1, error = $2 WHERE status = 'running'`,
				[at, reason]
			);
			return { runs: runs.rowCount ?? 0, tasks: tasks.rowCount ?? 0, executions: executions.rowCount ?? 0 };
		});
	}

	async close(): Promise<void> {
		if (this.#closed) return;
		this.#closed = true;
		await this.queue.close();
		await this.db.close();
	}
}

/** the page reads on one connection (or the pool) */
function pageReads(db: Queryable): LogPageReads {
	const lines = async (sql: string, values: unknown[]) =>
		(await db.query<PgLogRow>(sql, values)).rows.map(toLogLine);
	return {
		lastLine: async (id) =>
			(
				await db.query<{ n: number | null }>('SELECT MAX(n) AS n FROM log_lines WHERE execution_id = $1', [
					id
				])
			).rows[0].n ?? 0,
		streamCount: async (id, stream) =>
			(
				await db.query<{ sn: number | null }>(
					'SELECT MAX(sn) AS sn FROM log_lines WHERE execution_id = $1 AND stream = $2',
					[id, stream]
				)
			).rows[0].sn ?? 0,
		firstLineFrom: async (id, n) =>
			(
				await db.query<{ n: number; stream: string; sn: number }>(
					'SELECT n, stream, sn FROM log_lines WHERE execution_id = $1 AND n > $2 ORDER BY n LIMIT 1',
					[id, belowLine(n - 1)]
				)
			).rows[0],
		readLines: (id, after, limit) =>
			lines(`SELECT ${LOG_COLUMNS} FROM log_lines WHERE execution_id = $1 AND n > $2 ORDER BY n LIMIT $3`, [
				id,
				belowLine(after),
				limit
			]),
		readStreamLines: (id, stream, rank, limit) =>
			lines(
				`SELECT ${LOG_COLUMNS} FROM log_lines WHERE execution_id = $1 AND stream = $2 AND sn >= $3 ORDER BY sn LIMIT $4`,
				[id, stream, rank, limit]
			)
	};
}
