/**
 * @module store/pg/pg-rows
 * How PostgreSQL rows map to the protocol models. node-postgres already gives numbers, booleans,
 * parsed `jsonb` and (with pg-db's parsers) ISO timestamps, so runs, tasks and executions map
 * through the same functions as SQLite's rows (store/rows); log lines differ (see `enc`).
 */
import type { LogLine, LogStream } from '../../../protocol';
import { toExecution, toRun, toTask, type ExecutionRow, type RunRow, type TaskRow } from '../rows';

export { toExecution, toRun, toTask, type ExecutionRow, type RunRow, type TaskRow };

export const RUN_COLUMNS =
	'id, workflow, status, progress, total_weight, finished_weight, created_at, started_at, finished_at, duration_ms, error';

export const TASK_COLUMNS =
	'id, run_id, key, name, status, progress, message, needs, weight, optional, step_count, created_at, started_at, finished_at, duration_ms, error';

export const EXECUTION_COLUMNS =
	'id, task_id, step, name, command, args, cwd, status, exit_code, signal, started_at, finished_at, duration_ms, line_count, error, output_dropped_lines, output_dropped_bytes';

export const LOG_COLUMNS = 'n, stream, ts, text, partial, enc';

export interface PgLogRow {
	n: number;
	stream: LogStream;
	ts: string;
	text: string;
	partial: boolean;
	enc: number;
}

/** PostgreSQL text cannot hold NUL; such a line is stored JSON-encoded (enc 1) */
export function encodeText(text: string): [string, number] {
	return text.includes('\u0000') ? [JSON.stringify(text), 1] : [text, 0];
}

export function decodeText(text: string, enc: number): string {
	return enc === 1 ? (JSON.parse(text) as string) : text;
}

export function toLogLine(row: PgLogRow): LogLine {
	const line: LogLine = { n: row.n, stream: row.stream, ts: row.ts, text: decodeText(row.text, row.enc) };
	if (row.partial) line.partial = true;
	return line;
}

/**
 * `SET a = $2, b = $3 … WHERE id = $1` for the keys of `patch` that are patchable in `table`;
 * null when the patch sets nothing.
 */
export function patchSet(
	columns: readonly string[],
	patch: object,
	firstParam = 2
): { set: string; values: unknown[] } | null {
	const values: unknown[] = [];
	const sets: string[] = [];
	const given = patch as Record<string, unknown>;
	for (const column of columns) {
		if (given[column] === undefined) continue;
		values.push(given[column]);
		sets.push(`${column} = $${firstParam + values.length - 1}`);
	}
	return sets.length ? { set: sets.join(', '), values } : null;
}
