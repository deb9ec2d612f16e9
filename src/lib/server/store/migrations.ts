/**
 * @module store/migrations
 * The SQLite schema as an ordered list of migrations, applied by `PRAGMA user_version`.
 * Append new migrations with the next version; never edit one that has shipped.
 *
 * Conventions: timestamps are ISO-8601 UTC text (sorts as time), `needs`/`args` are JSON text,
 * booleans are 0/1. Statuses carry no CHECK constraint, because adding a status later would
 * mean rebuilding the table in SQLite; the protocol types guard them instead.
 */
import type BetterSqlite3 from 'better-sqlite3';
import { logMarkOf } from './log-marks';

type Db = BetterSqlite3.Database;

export interface Migration {
	/** 1, 2, 3, … in order; the database's `user_version` after it has run */
	version: number;
	name: string;
	up: string | ((db: Db) => void);
}

export const MIGRATIONS: readonly Migration[] = [
	{
		version: 1,
		name: 'runs, tasks, executions and log lines',
		up: `
			CREATE TABLE runs (
				id TEXT PRIMARY KEY,
				workflow TEXT NOT NULL,
				status TEXT NOT NULL,
				progress REAL NOT NULL DEFAULT 0,
				total_weight REAL NOT NULL,
				finished_weight REAL NOT NULL DEFAULT 0,
				created_at TEXT NOT NULL,
				started_at TEXT,
				finished_at TEXT,
				duration_ms INTEGER,
				error TEXT
			);
			CREATE INDEX runs_created ON runs (created_at, id);
			CREATE INDEX runs_status_created ON runs (status, created_at, id);
			CREATE INDEX runs_workflow_created ON runs (workflow, created_at, id);

			CREATE TABLE tasks (
				id TEXT PRIMARY KEY,
				run_id TEXT REFERENCES runs (id) ON DELETE CASCADE,
				key TEXT NOT NULL,
				name TEXT NOT NULL,
				status TEXT NOT NULL,
				progress REAL NOT NULL DEFAULT 0,
				message TEXT,
				needs TEXT NOT NULL DEFAULT '[]',
				weight REAL NOT NULL DEFAULT 1,
				optional INTEGER NOT NULL DEFAULT 0,
				step_count INTEGER NOT NULL DEFAULT 0,
				created_at TEXT NOT NULL,
				started_at TEXT,
				finished_at TEXT,
				duration_ms INTEGER,
				error TEXT
			);
			CREATE INDEX tasks_created ON tasks (created_at, id);
			CREATE INDEX tasks_run_created ON tasks (run_id, created_at, id);
			CREATE INDEX tasks_status_created ON tasks (status, created_at, id);

			CREATE TABLE executions (
				id TEXT PRIMARY KEY,
				task_id TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
				step INTEGER NOT NULL,
				name TEXT NOT NULL,
				command TEXT NOT NULL,
				args TEXT NOT NULL DEFAULT '[]',
				cwd TEXT,
				status TEXT NOT NULL,
				exit_code INTEGER,
				signal TEXT,
				started_at TEXT NOT NULL,
				finished_at TEXT,
				duration_ms INTEGER,
				line_count INTEGER NOT NULL DEFAULT 0,
				error TEXT
			);
			CREATE INDEX executions_task_step ON executions (task_id, step, started_at, id);
			CREATE INDEX executions_status ON executions (status);

			-- WITHOUT ROWID: the key is the natural order of reads (one execution, by line number),
			-- so lines sit clustered and a keyset page is one range scan
			CREATE TABLE log_lines (
				execution_id TEXT NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
				n INTEGER NOT NULL,
				stream TEXT NOT NULL,
				ts TEXT NOT NULL,
				text TEXT NOT NULL,
				PRIMARY KEY (execution_id, n)
			) WITHOUT ROWID;
		`
	},
	{
		version: 2,
		name: 'per-stream line index and log outline marks',
		up: (db) => {
			// sn: the line's 1-based rank within its own stream, so "the k-th stderr line" and
			// "how many stdout lines" are each one index seek however long the log
			db.exec(`
				ALTER TABLE log_lines ADD COLUMN sn INTEGER NOT NULL DEFAULT 0;
				-- 1: the tool printed no newline after this text (see LogLine.partial)
				ALTER TABLE log_lines ADD COLUMN partial INTEGER NOT NULL DEFAULT 0;
				UPDATE log_lines SET sn = ranked.rn
				FROM (
					SELECT execution_id, n, ROW_NUMBER() OVER (PARTITION BY execution_id, stream ORDER BY n) AS rn
					FROM log_lines
				) AS ranked
				WHERE log_lines.execution_id = ranked.execution_id AND log_lines.n = ranked.n;
				CREATE INDEX log_lines_stream ON log_lines (execution_id, stream, sn);

				-- groups and annotations found at ingest, so the outline never scans the log
				CREATE TABLE log_marks (
					execution_id TEXT NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
					n INTEGER NOT NULL,
					kind TEXT NOT NULL,
					text TEXT NOT NULL,
					file TEXT,
					file_line INTEGER,
					PRIMARY KEY (execution_id, n)
				) WITHOUT ROWID;
			`);
			const insert = db.prepare(
				'INSERT OR IGNORE INTO log_marks (execution_id, n, kind, text, file, file_line) VALUES (?, ?, ?, ?, ?, ?)'
			);
			const rows = db
				.prepare<[], { execution_id: string; n: number; text: string }>(
					"SELECT execution_id, n, text FROM log_lines WHERE text LIKE '%::%'"
				)
				.all();
			for (const row of rows) {
				const mark = logMarkOf(row.text);
				if (mark) insert.run(row.execution_id, row.n, mark.kind, mark.text, mark.file, mark.file_line);
			}
		}
	},
	{
		version: 3,
		name: 'progress bar runs',
		// runs of `\r` progress snapshots found at ingest (log/progress-runs); end_n NULL while open.
		// Logs stored before keep no runs: their snapshots show as rows of their own.
		up: `
			CREATE TABLE log_progress (
				execution_id TEXT NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
				start INTEGER NOT NULL,
				end_n INTEGER,
				PRIMARY KEY (execution_id, start)
			) WITHOUT ROWID;
		`
	},
	{
		version: 4,
		name: 'ingest idempotency keys',
		// written in the transaction that creates the key's task, so a crash cannot leave one without the other
		up: `
			CREATE TABLE ingest_keys (
				key TEXT PRIMARY KEY,
				task_id TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
				created_at TEXT NOT NULL
			);
			CREATE INDEX ingest_keys_task ON ingest_keys (task_id);
		`
	},
	{
		version: 5,
		name: 'the task queue',
		// the same seam as PostgreSQL's (store/queue.ts): what to run, when it became claimable,
		// who holds it; SQLite has one node, so leases stay empty
		up: `
			ALTER TABLE runs ADD COLUMN stopping TEXT;
			ALTER TABLE tasks ADD COLUMN spec TEXT;
			ALTER TABLE tasks ADD COLUMN ord INTEGER NOT NULL DEFAULT 0;
			ALTER TABLE tasks ADD COLUMN ready_at TEXT;
			ALTER TABLE tasks ADD COLUMN node TEXT;
			ALTER TABLE tasks ADD COLUMN lease_until TEXT;
			ALTER TABLE tasks ADD COLUMN attempt INTEGER NOT NULL DEFAULT 0;
			ALTER TABLE tasks ADD COLUMN retries INTEGER NOT NULL DEFAULT 0;
			CREATE INDEX tasks_ready ON tasks (ready_at, ord, id) WHERE status = 'queued' AND ready_at IS NOT NULL;
			CREATE INDEX tasks_held ON tasks (node) WHERE status = 'running' AND node IS NOT NULL;
		`
	},
	{
		version: 6,
		name: 'output dropped past the output limit',
		// what a tool printed past its execution's output limit: counted, never stored
		up: `
			ALTER TABLE executions ADD COLUMN output_dropped_lines INTEGER NOT NULL DEFAULT 0;
			ALTER TABLE executions ADD COLUMN output_dropped_bytes INTEGER NOT NULL DEFAULT 0;
		`
	},
	{
		version: 7,
		name: 'browser sign-in sessions',
		// id is the SHA-256 of the cookie value: the database never holds a usable session
		up: `
			CREATE TABLE sessions (
				id TEXT PRIMARY KEY,
				role TEXT NOT NULL,
				token_id TEXT NOT NULL,
				created_at TEXT NOT NULL,
				last_seen_at TEXT NOT NULL,
				expires_at TEXT NOT NULL
			);
			CREATE INDEX sessions_expires ON sessions (expires_at);
		`
	},
	{
		version: 8,
		name: 'a stop asked of a running task',
		// cancelled | interrupted: kept for the node holding the task, which a signal may miss
		up: `ALTER TABLE tasks ADD COLUMN stopping TEXT;`
	},
	{
		version: 9,
		name: 'when a stand-alone task’s producer was last heard from',
		// written by whichever node heard it, so every node can tell a silent producer (see
		// ingest/silent-tasks); the index holds only the running stand-alone tasks
		up: `
			ALTER TABLE tasks ADD COLUMN heard_at TEXT;
			CREATE INDEX tasks_producers ON tasks (COALESCE(heard_at, started_at, created_at))
				WHERE status = 'running' AND run_id IS NULL;
		`
	},
	{
		version: 10,
		name: 'one execution per step of a producer’s task',
		// a producer's tool (NewExecution.one_per_step) is its task's only execution of its step,
		// whichever node took the `tool.start` first; a workflow step keeps one per attempt, unflagged.
		// Rows stored before keep 0, so a database holding two of one step (made by two nodes
		// racing, before) migrates as it is and keeps both.
		up: `
			ALTER TABLE executions ADD COLUMN one_per_step INTEGER NOT NULL DEFAULT 0;
			CREATE UNIQUE INDEX executions_one_per_step ON executions (task_id, step) WHERE one_per_step = 1;
		`
	},
	{
		version: 11,
		name: 'log lines keyed by a number',
		// A row per line is most of what a log costs to write: each repeated the execution's id
		// (26 characters) in the table and again in the stream index, and its stream's name. Now
		// a line's key is its execution's log_key (a number, unique, given at insert: see
		// statements) and its stream 0 (stdout) or 1 (stderr): a log takes a third less room and a
		// line about a quarter less time to store. Readers still ask by execution id (rows.ts).
		// log_marks and log_progress keep execution_id: they hold a row per group or progress run.
		// The copy needs about the old lines' size again in free disk; the old table's pages are
		// then free for new lines (the file does not shrink unless VACUUMed).
		up: `
			ALTER TABLE executions ADD COLUMN log_key INTEGER;
			UPDATE executions SET log_key = rowid;
			CREATE UNIQUE INDEX executions_log_key ON executions (log_key);

			CREATE TABLE log_lines_keyed (
				log_key INTEGER NOT NULL REFERENCES executions (log_key) ON DELETE CASCADE,
				n INTEGER NOT NULL,
				stream INTEGER NOT NULL,
				ts TEXT NOT NULL,
				text TEXT NOT NULL,
				sn INTEGER NOT NULL,
				partial INTEGER NOT NULL DEFAULT 0,
				PRIMARY KEY (log_key, n)
			) WITHOUT ROWID;
			-- execution by execution (CROSS JOIN keeps that order): each log is one range of the old
			-- primary key, already in line order, so nothing is sorted in a temporary file
			INSERT INTO log_lines_keyed (log_key, n, stream, ts, text, sn, partial)
				SELECT executions.log_key, log_lines.n, log_lines.stream = 'stderr', log_lines.ts, log_lines.text,
					log_lines.sn, log_lines.partial
				FROM executions CROSS JOIN log_lines ON log_lines.execution_id = executions.id
				ORDER BY executions.log_key, log_lines.n;
			DROP TABLE log_lines;
			ALTER TABLE log_lines_keyed RENAME TO log_lines;
			CREATE INDEX log_lines_stream ON log_lines (log_key, stream, sn);
		`
	}
];

/**
 * Brings the database up to the last migration, each in its own IMMEDIATE transaction so two
 * processes opening the same file cannot both apply one. `onApply` is told before each one this
 * call applies to a database made before (not a new one): some rewrite a table, which takes
 * seconds per million log lines.
 */
export function migrate(
	db: Db,
	migrations: readonly Migration[] = MIGRATIONS,
	onApply?: (migration: Migration) => void
): { from: number; to: number } {
	migrations.forEach((m, i) => {
		if (m.version !== i + 1) {
			throw new Error(
				`migration "${m.name}" has version ${m.version}, expected ${i + 1}: versions must run 1, 2, 3, …`
			);
		}
	});
	const latest = migrations.length;
	const userVersion = (): number => db.pragma('user_version', { simple: true }) as number;
	const from = userVersion();
	if (from > latest) {
		throw new Error(
			`database schema version ${from} is newer than this aco knows (${latest}); upgrade aco or use another data dir`
		);
	}
	for (const migration of migrations.slice(from)) {
		db.transaction(() => {
			// another process may have applied it while we waited for the write lock
			if (userVersion() >= migration.version) return;
			if (from > 0) onApply?.(migration);
			if (typeof migration.up === 'string') db.exec(migration.up);
			else migration.up(db);
			db.pragma(`user_version = ${migration.version}`);
		}).immediate();
	}
	return { from, to: latest };
}
