/**
 * @module store/pg/pg-migrations
 * The PostgreSQL schema as an ordered list of migrations, kept in step with the SQLite list
 * (store/migrations.ts) but written for PostgreSQL: timestamps are `timestamptz`, lists `jsonb`,
 * flags `boolean`. Append new migrations with the next version; never edit one that has shipped.
 *
 * Several nodes may start at once on an empty database: `migrate` holds a session advisory lock
 * while it looks and applies, so exactly one node applies each migration and the others wait,
 * then find nothing left to do. `aco_migrations` records who applied what, and when.
 */
import type pg from 'pg';
import { DEFAULT_STATEMENT_TIMEOUT_MS } from './pg-db';

export interface PgMigration {
	version: number;
	name: string;
	up: string;
}

/** the advisory lock key of migrations (any constant; "aco" in ASCII) */
export const MIGRATION_LOCK_KEY = 0x61636f;
/** a migration's statements wait for their answer past the server's own limit on them */
const MIGRATION_QUERY_TIMEOUT_MS = DEFAULT_STATEMENT_TIMEOUT_MS + 10_000;

export const PG_MIGRATIONS: readonly PgMigration[] = [
	{
		version: 1,
		name: 'runs, tasks, executions, log lines, marks, progress runs, ingest keys and the task queue',
		up: `
			CREATE TABLE runs (
				id text PRIMARY KEY,
				workflow text NOT NULL,
				status text NOT NULL,
				progress double precision NOT NULL DEFAULT 0,
				total_weight double precision NOT NULL,
				finished_weight double precision NOT NULL DEFAULT 0,
				created_at timestamptz NOT NULL,
				started_at timestamptz,
				finished_at timestamptz,
				duration_ms bigint,
				error text,
				-- cancelled | interrupted while the run winds down; null otherwise
				stopping text
			);
			CREATE INDEX runs_created ON runs (created_at, id);
			CREATE INDEX runs_status_created ON runs (status, created_at, id);
			CREATE INDEX runs_workflow_created ON runs (workflow, created_at, id);

			CREATE TABLE tasks (
				id text PRIMARY KEY,
				run_id text REFERENCES runs (id) ON DELETE CASCADE,
				key text NOT NULL,
				name text NOT NULL,
				status text NOT NULL,
				progress double precision NOT NULL DEFAULT 0,
				message text,
				needs jsonb NOT NULL DEFAULT '[]',
				weight double precision NOT NULL DEFAULT 1,
				optional boolean NOT NULL DEFAULT false,
				step_count integer NOT NULL DEFAULT 0,
				created_at timestamptz NOT NULL,
				started_at timestamptz,
				finished_at timestamptz,
				duration_ms bigint,
				error text,
				-- the queue: what to run (a workflow's task definition), its place in the workflow,
				-- when it became claimable, who holds it until when, and how often it may start again
				spec jsonb,
				ord integer NOT NULL DEFAULT 0,
				ready_at timestamptz,
				node text,
				lease_until timestamptz,
				attempt integer NOT NULL DEFAULT 0,
				retries integer NOT NULL DEFAULT 0
			);
			CREATE INDEX tasks_created ON tasks (created_at, id);
			CREATE INDEX tasks_run_created ON tasks (run_id, created_at, id);
			CREATE INDEX tasks_status_created ON tasks (status, created_at, id);
			-- claimable tasks, oldest first: the only rows a claim looks at
			CREATE INDEX tasks_ready ON tasks (ready_at, ord, id) WHERE status = 'queued' AND ready_at IS NOT NULL;
			CREATE INDEX tasks_held ON tasks (node) WHERE status = 'running' AND node IS NOT NULL;

			CREATE TABLE executions (
				id text PRIMARY KEY,
				task_id text NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
				step integer NOT NULL,
				name text NOT NULL,
				command text NOT NULL,
				args jsonb NOT NULL DEFAULT '[]',
				cwd text,
				status text NOT NULL,
				exit_code integer,
				signal text,
				started_at timestamptz NOT NULL,
				finished_at timestamptz,
				duration_ms bigint,
				line_count integer NOT NULL DEFAULT 0,
				error text
			);
			CREATE INDEX executions_task_step ON executions (task_id, step, started_at, id);
			CREATE INDEX executions_status ON executions (status) WHERE status = 'running';

			-- sn: the line's 1-based rank within its own stream (see store/log-pages);
			-- enc 1: text is JSON-encoded because it holds characters PostgreSQL text cannot (NUL).
			-- No foreign key: its check per row cost 40 % of ingest, and every append locks its
			-- execution row first and refuses an unknown one, which guards the same thing.
			CREATE TABLE log_lines (
				execution_id text NOT NULL,
				n integer NOT NULL,
				stream text NOT NULL,
				ts text NOT NULL,
				text text NOT NULL,
				sn integer NOT NULL,
				partial boolean NOT NULL DEFAULT false,
				enc smallint NOT NULL DEFAULT 0,
				PRIMARY KEY (execution_id, n)
			);
			CREATE INDEX log_lines_stream ON log_lines (execution_id, stream, sn);

			CREATE TABLE log_marks (
				execution_id text NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
				n integer NOT NULL,
				kind text NOT NULL,
				text text NOT NULL,
				file text,
				file_line integer,
				PRIMARY KEY (execution_id, n)
			);

			CREATE TABLE log_progress (
				execution_id text NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
				start integer NOT NULL,
				end_n integer,
				PRIMARY KEY (execution_id, start)
			);

			CREATE TABLE ingest_keys (
				key text PRIMARY KEY,
				task_id text NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
				created_at timestamptz NOT NULL
			);
			CREATE INDEX ingest_keys_task ON ingest_keys (task_id);

			-- the nodes of a cluster: who is alive (seen_at), for leases, stats and operators
			CREATE TABLE aco_nodes (
				id text PRIMARY KEY,
				url text,
				started_at timestamptz NOT NULL,
				seen_at timestamptz NOT NULL,
				figures jsonb
			);
		`
	},
	{
		version: 2,
		name: 'output dropped past the output limit',
		// what a tool printed past its execution's output limit: counted, never stored (bigint:
		// a tool may go on printing gigabytes past the limit)
		up: `
			ALTER TABLE executions ADD COLUMN output_dropped_lines bigint NOT NULL DEFAULT 0;
			ALTER TABLE executions ADD COLUMN output_dropped_bytes bigint NOT NULL DEFAULT 0;
		`
	},
	{
		version: 3,
		name: 'browser sign-in sessions',
		// id is the SHA-256 of the cookie value: the database never holds a usable session
		up: `
			CREATE TABLE sessions (
				id text PRIMARY KEY,
				role text NOT NULL,
				token_id text NOT NULL,
				created_at timestamptz NOT NULL,
				last_seen_at timestamptz NOT NULL,
				expires_at timestamptz NOT NULL
			);
			CREATE INDEX sessions_expires ON sessions (expires_at);
		`
	},
	{
		version: 4,
		name: 'lines per stream on the execution',
		// what an append ranks its lines from (log_lines.sn continues them), read with the
		// execution row it locks: always the latest, where MAX(sn) read in the same statement
		// could miss an append that committed while the lock was awaited
		up: `
			ALTER TABLE executions ADD COLUMN stdout_lines integer NOT NULL DEFAULT 0;
			ALTER TABLE executions ADD COLUMN stderr_lines integer NOT NULL DEFAULT 0;
			UPDATE executions e SET
				stdout_lines = COALESCE((SELECT MAX(sn) FROM log_lines WHERE execution_id = e.id AND stream = 'stdout'), 0),
				stderr_lines = COALESCE((SELECT MAX(sn) FROM log_lines WHERE execution_id = e.id AND stream = 'stderr'), 0)
			WHERE e.line_count > 0;
		`
	},
	{
		version: 5,
		name: 'a stop asked of a running task',
		// cancelled | interrupted: kept for the node holding the task, whose signal connection may
		// miss the NOTIFY (reconnecting, or silently dead); its next renew reads it
		up: `ALTER TABLE tasks ADD COLUMN stopping text;`
	},
	{
		version: 6,
		name: 'when a stand-alone task’s producer was last heard from',
		// written by whichever node heard it, so every node can tell a silent producer (see
		// ingest/silent-tasks); the index holds only the running stand-alone tasks
		up: `
			ALTER TABLE tasks ADD COLUMN heard_at timestamptz;
			CREATE INDEX tasks_producers ON tasks ((COALESCE(heard_at, started_at, created_at)))
				WHERE status = 'running' AND run_id IS NULL;
		`
	},
	{
		version: 7,
		name: 'exit codes past 32 bits',
		// Windows reports a crash as an unsigned 32-bit code (3221225477 for an access violation),
		// which a producer passes on and SQLite keeps; `integer` refused it and the tool's end was lost
		up: `ALTER TABLE executions ALTER COLUMN exit_code TYPE bigint;`
	},
	{
		version: 8,
		name: 'one execution per step of a producer’s task',
		// a producer's tool (NewExecution.one_per_step) is its task's only execution of its step,
		// whichever node took the `tool.start` first; a workflow step keeps one per attempt, unflagged.
		// Rows stored before keep false, so a database holding two of one step (made by two nodes
		// racing, before) migrates as it is and keeps both.
		up: `
			ALTER TABLE executions ADD COLUMN one_per_step boolean NOT NULL DEFAULT false;
			CREATE UNIQUE INDEX executions_one_per_step ON executions (task_id, step) WHERE one_per_step;
		`
	}
];

/**
 * Brings the database up to the last migration under an advisory lock; returns the versions this
 * call applied (none when another node had applied them).
 */
export async function migratePg(
	client: pg.ClientBase,
	node: string,
	migrations: readonly PgMigration[] = PG_MIGRATIONS
): Promise<number[]> {
	migrations.forEach((m, i) => {
		if (m.version !== i + 1) {
			throw new Error(`migration "${m.name}" has version ${m.version}, expected ${i + 1}`);
		}
	});
	const applied: number[] = [];
	// a migration's statements may take as long as the server lets them (statement_timeout): the
	// pool's query_timeout would count a long one as the database gone and retry it for ever
	const query = <R extends pg.QueryResultRow>(text: string, values?: unknown[]) =>
		client.query<R>({ text, values, query_timeout: MIGRATION_QUERY_TIMEOUT_MS } as pg.QueryConfig);
	await query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
	try {
		await query(`
			CREATE TABLE IF NOT EXISTS aco_migrations (
				version integer PRIMARY KEY,
				name text NOT NULL,
				applied_at timestamptz NOT NULL DEFAULT now(),
				applied_by text NOT NULL
			)`);
		const { rows } = await query<{ version: number | null }>(
			'SELECT MAX(version) AS version FROM aco_migrations'
		);
		const from = rows[0].version ?? 0;
		if (from > migrations.length) {
			throw new Error(
				`database schema version ${from} is newer than this aco knows (${migrations.length}); upgrade aco or use another database`
			);
		}
		for (const migration of migrations.slice(from)) {
			await query('BEGIN');
			try {
				await query(migration.up);
				await query('INSERT INTO aco_migrations (version, name, applied_by) VALUES ($1, $2, $3)', [
					migration.version,
					migration.name,
					node
				]);
				await query('COMMIT');
			} catch (err) {
				await query('ROLLBACK').catch(() => {});
				throw err;
			}
			applied.push(migration.version);
		}
	} finally {
		await query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => {});
	}
	return applied;
}
