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
	}
];

/**
 * Brings the database up to the last migration, each in its own IMMEDIATE transaction so two
 * processes opening the same file cannot both apply one.
 */
export function migrate(db: Db, migrations: readonly Migration[] = MIGRATIONS): { from: number; to: number } {
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
			if (typeof migration.up === 'string') db.exec(migration.up);
			else migration.up(db);
			db.pragma(`user_version = ${migration.version}`);
		}).immediate();
	}
	return { from, to: latest };
}
