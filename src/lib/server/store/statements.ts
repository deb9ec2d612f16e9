/**
 * @module store/statements
 * Every SQL statement the SQLite store runs, prepared once per connection. List queries get one
 * statement per combination of filters, so each can use its own index instead of `(@x IS NULL OR …)`.
 */
import type Database from 'better-sqlite3';
import {
	EXECUTION_COLUMNS,
	LOG_COLUMNS,
	LOG_KEY_PARAM,
	LOG_STREAM,
	RUN_COLUMNS,
	STREAM_PARAM,
	TASK_COLUMNS,
	TASK_NOT_ENDED,
	patchSql
} from './rows';
import type { ExecutionRow, LogRow, RunRow, TaskRow } from './rows';
import type { LogMarkRow } from './log-marks';
import type { AuthSession } from './types';

export type Params = Record<string, string | number | null>;

/** log lines one `insertLines` takes (7 parameters a row; see sqlite-line-rows) */
export const LINE_ROWS_PER_INSERT = 32;

export function prepareStatements(db: Database.Database) {
	const listVariants = <Row>(table: string, columns: string, filters: string[]) => {
		const variants = new Map<string, Database.Statement<[Params], Row>>();
		for (let mask = 0; mask < 1 << filters.length; mask++) {
			const used = filters.filter((_, i) => mask & (1 << i));
			const where = used.length ? ` WHERE ${used.map((f) => `${f} = @${f}`).join(' AND ')}` : '';
			const sql = `SELECT ${columns} FROM ${table}${where} ORDER BY created_at DESC, id DESC LIMIT @limit`;
			variants.set(used.join(','), db.prepare<Params, Row>(sql));
		}
		return variants;
	};
	return {
		insertRun: db.prepare<Params, RunRow>(
			`INSERT INTO runs (id, workflow, status, progress, total_weight, finished_weight, created_at)
			 VALUES (@id, @workflow, 'queued', 0, @total_weight, 0, @created_at) RETURNING ${RUN_COLUMNS}`
		),
		updateRun: db.prepare<Params, RunRow>(patchSql('runs', RUN_COLUMNS)),
		getRun: db.prepare<[string], RunRow>(`SELECT ${RUN_COLUMNS} FROM runs WHERE id = ?`),
		listRuns: listVariants<RunRow>('runs', RUN_COLUMNS, ['status', 'workflow']),

		insertTask: db.prepare<Params, TaskRow>(
			`INSERT INTO tasks (id, run_id, key, name, status, progress, needs, weight, optional, step_count, created_at)
			 VALUES (@id, @run_id, @key, @name, 'queued', 0, @needs, @weight, @optional, @step_count, @created_at)
			 RETURNING ${TASK_COLUMNS}`
		),
		updateTask: db.prepare<Params, TaskRow>(patchSql('tasks', TASK_COLUMNS)),
		endTask: db.prepare<Params, TaskRow>(patchSql('tasks', TASK_COLUMNS, TASK_NOT_ENDED)),
		getTask: db.prepare<[string], TaskRow>(`SELECT ${TASK_COLUMNS} FROM tasks WHERE id = ?`),
		listTasks: listVariants<TaskRow>('tasks', TASK_COLUMNS, ['status', 'run_id']),
		runTasks: db.prepare<[string], TaskRow>(
			`SELECT ${TASK_COLUMNS} FROM tasks WHERE run_id = ? ORDER BY created_at, id`
		),
		taskOfKey: db.prepare<[string], TaskRow>(
			`SELECT ${TASK_COLUMNS.replace(/(\w+)/g, 'tasks.$1')} FROM ingest_keys JOIN tasks ON tasks.id = ingest_keys.task_id
			 WHERE ingest_keys.key = ?`
		),
		insertKey: db.prepare<[{ key: string; task_id: string; now: string }]>(
			`INSERT OR IGNORE INTO ingest_keys (key, task_id, created_at)
			 SELECT @key, id, @now FROM tasks WHERE id = @task_id`
		),

		// no row: a `one_per_step` step the task has already (executionOfStep reads it). The next
		// log_key is one seek of its index, taken under the write lock the insert holds
		insertExecution: db.prepare<Params, ExecutionRow>(
			`INSERT INTO executions (id, task_id, step, name, command, args, cwd, status, started_at, line_count, one_per_step, log_key)
			 VALUES (@id, @task_id, @step, @name, @command, @args, @cwd, 'running', @started_at, 0, @one_per_step,
			 (SELECT IFNULL(MAX(log_key), 0) + 1 FROM executions))
			 ON CONFLICT DO NOTHING RETURNING ${EXECUTION_COLUMNS}`
		),
		executionOfStep: db.prepare<[string, number], ExecutionRow>(
			`SELECT ${EXECUTION_COLUMNS} FROM executions WHERE task_id = ? AND step = ? AND one_per_step = 1`
		),
		updateExecution: db.prepare<Params, ExecutionRow>(patchSql('executions', EXECUTION_COLUMNS)),
		endExecution: db.prepare<Params, ExecutionRow>(
			// or ended by this very patch: a try whose answer was lost committed it already
			patchSql(
				'executions',
				EXECUTION_COLUMNS,
				"(status = 'running' OR (status = @status AND finished_at = @finished_at))"
			)
		),
		getExecution: db.prepare<[string], ExecutionRow>(
			`SELECT ${EXECUTION_COLUMNS} FROM executions WHERE id = ?`
		),
		listExecutions: db.prepare<[string], ExecutionRow>(
			`SELECT ${EXECUTION_COLUMNS} FROM executions WHERE task_id = ? ORDER BY step, started_at, id`
		),
		logKey: db.prepare<[string], number>('SELECT log_key FROM executions WHERE id = ?').pluck(),

		// the lines' statements below take the execution's id, except these two (its log_key: see rows)
		insertLine: db.prepare<[number, number, number, string, string, number, number]>(
			'INSERT OR IGNORE INTO log_lines (log_key, n, stream, ts, text, sn, partial) VALUES (?, ?, ?, ?, ?, ?, ?)'
		),
		// new lines only (see lineInRange): a repeat would fail here rather than be skipped
		insertLines: db.prepare<unknown[]>(
			'INSERT INTO log_lines (log_key, n, stream, ts, text, sn, partial) VALUES ' +
				Array.from({ length: LINE_ROWS_PER_INSERT }, () => '(?, ?, ?, ?, ?, ?, ?)').join(', ')
		),
		lineInRange: db
			.prepare<[string, number, number], number>(
				`SELECT 1 FROM log_lines WHERE log_key = ${LOG_KEY_PARAM} AND n BETWEEN ? AND ? LIMIT 1`
			)
			.pluck(),
		// MIN/MAX over an index prefix are one seek each
		streamCount: db
			.prepare<[string, string], number | null>(
				`SELECT MAX(sn) FROM log_lines WHERE log_key = ${LOG_KEY_PARAM} AND stream = ${STREAM_PARAM}`
			)
			.pluck(),
		lastLine: db
			.prepare<[string], number | null>(`SELECT MAX(n) FROM log_lines WHERE log_key = ${LOG_KEY_PARAM}`)
			.pluck(),
		firstLineFrom: db.prepare<[string, number], { n: number; stream: string; sn: number }>(
			`SELECT n, ${LOG_STREAM} AS stream, sn FROM log_lines WHERE log_key = ${LOG_KEY_PARAM} AND n >= ? ORDER BY n LIMIT 1`
		),
		readStreamLines: db.prepare<[string, string, number, number], LogRow & { sn: number }>(
			`SELECT ${LOG_COLUMNS}, sn FROM log_lines WHERE log_key = ${LOG_KEY_PARAM} AND stream = ${STREAM_PARAM} AND sn >= ? ORDER BY sn LIMIT ?`
		),
		// search reads millions of lines: only what it matches, as arrays (no row objects)
		scanText: db
			.prepare<[string, number, number], [number, string]>(
				`SELECT n, text FROM log_lines WHERE log_key = ${LOG_KEY_PARAM} AND n > ? ORDER BY n LIMIT ?`
			)
			.raw(),
		scanStreamText: db
			.prepare<[string, string, number, number], [number, string, number]>(
				`SELECT n, text, sn FROM log_lines WHERE log_key = ${LOG_KEY_PARAM} AND stream = ${STREAM_PARAM} AND sn >= ? ORDER BY sn LIMIT ?`
			)
			.raw(),
		readLine: db.prepare<[string, number], LogRow>(
			`SELECT ${LOG_COLUMNS} FROM log_lines WHERE log_key = ${LOG_KEY_PARAM} AND n = ?`
		),
		insertMark: db.prepare<[string, number, string, string, string | null, number | null]>(
			'INSERT OR IGNORE INTO log_marks (execution_id, n, kind, text, file, file_line) VALUES (?, ?, ?, ?, ?, ?)'
		),
		lineProgressInfo: db.prepare<[string, number], { stream: string; partial: number; cr: number }>(
			`SELECT ${LOG_STREAM} AS stream, partial, instr(text, char(13)) > 0 AS cr FROM log_lines WHERE log_key = ${LOG_KEY_PARAM} AND n = ?`
		),
		openProgress: db.prepare<[string, number]>(
			'INSERT OR IGNORE INTO log_progress (execution_id, start, end_n) VALUES (?, ?, NULL)'
		),
		closeProgress: db.prepare<[number, string, number]>(
			'UPDATE log_progress SET end_n = ? WHERE execution_id = ? AND end_n IS NULL AND start <= ?'
		),
		readProgress: db.prepare<[string, number], { start: number; end_n: number | null }>(
			'SELECT start, end_n FROM log_progress WHERE execution_id = ? ORDER BY start LIMIT ?'
		),
		readMarks: db.prepare<[string, number], LogMarkRow>(
			'SELECT n, kind, text, file, file_line FROM log_marks WHERE execution_id = ? ORDER BY n LIMIT ?'
		),
		// MAX(n) over the primary key is one index seek, however long the log
		syncLineCount: db.prepare<Params>(
			`UPDATE executions SET line_count = COALESCE((SELECT MAX(n) FROM log_lines WHERE log_key = executions.log_key), 0)
			 WHERE id = @id`
		),
		readLines: db.prepare<[string, number, number], LogRow>(
			`SELECT ${LOG_COLUMNS} FROM log_lines WHERE log_key = ${LOG_KEY_PARAM} AND n > ? ORDER BY n LIMIT ?`
		),

		interruptRuns: db.prepare<Params>(
			`UPDATE runs SET status = 'interrupted', finished_at = @now, error = @reason
			 WHERE status IN ('running', 'queued')`
		),
		interruptTasks: db.prepare<Params>(
			`UPDATE tasks SET status = 'interrupted', finished_at = @now, error = @reason, ready_at = NULL, lease_until = NULL
			 WHERE status IN ('running', 'queued')`
		),
		interruptExecutions: db.prepare<Params>(
			`UPDATE executions SET status = 'interrupted', finished_at = @now, error = @reason WHERE status = 'running'`
		),

		// heard times only move forward, whichever node writes
		noteHeard: db.prepare<[string, string, string]>(
			`UPDATE tasks SET heard_at = ? WHERE id = ? AND status = 'running' AND run_id IS NULL
			 AND (heard_at IS NULL OR heard_at < ?)`
		),
		silentTasks: db
			.prepare<[string, number], string>(
				`SELECT id FROM tasks WHERE status = 'running' AND run_id IS NULL
				 AND COALESCE(heard_at, started_at, created_at) <= ?
				 ORDER BY COALESCE(heard_at, started_at, created_at) LIMIT ?`
			)
			.pluck(),
		claimSilentTask: db.prepare<[string, string, string]>(
			`UPDATE tasks SET heard_at = ? WHERE id = ? AND status = 'running' AND run_id IS NULL
			 AND COALESCE(heard_at, started_at, created_at) <= ?`
		),
		askProducerCancel: db.prepare<[string]>(
			`UPDATE tasks SET stopping = 'cancelled'
			 WHERE id = ? AND status = 'running' AND run_id IS NULL AND stopping IS NULL`
		),
		getProducerTask: db.prepare<[string], TaskRow & { cancel_asked: number | null }>(
			`SELECT ${TASK_COLUMNS}, run_id IS NULL AND stopping = 'cancelled' AS cancel_asked FROM tasks WHERE id = ?`
		),
		standaloneStatus: db.prepare<[string], { status: string; stopping: string | null }>(
			'SELECT status, stopping FROM tasks WHERE id = ? AND run_id IS NULL'
		),

		insertSession: db.prepare<[AuthSession]>(
			`INSERT INTO sessions (id, role, token_id, created_at, last_seen_at, expires_at)
			 VALUES (@id, @role, @token_id, @created_at, @last_seen_at, @expires_at)`
		),
		getSession: db.prepare<[string], AuthSession>(
			'SELECT id, role, token_id, created_at, last_seen_at, expires_at FROM sessions WHERE id = ?'
		),
		touchSession: db.prepare<[string, string, string]>(
			'UPDATE sessions SET last_seen_at = ?, expires_at = ? WHERE id = ?'
		),
		deleteSession: db.prepare<[string]>('DELETE FROM sessions WHERE id = ?'),
		expireSessions: db.prepare<[string]>('DELETE FROM sessions WHERE expires_at <= ?')
	};
}

export type Statements = ReturnType<typeof prepareStatements>;
