/**
 * @module store/rows
 * How SQLite rows map to the protocol models: column lists, row shapes, and the patchable
 * columns of each table. JSON columns are parsed and 0/1 become booleans here, and nowhere else.
 */
import type {
	Execution,
	ExecutionStatus,
	LogLine,
	LogStream,
	RunStatus,
	Task,
	TaskStatus,
	WorkflowRun
} from '../../protocol';
import type { ExecutionPatch, RunPatch, TaskPatch } from './types';

export const RUN_COLUMNS =
	'id, workflow, status, progress, total_weight, finished_weight, created_at, started_at, finished_at, duration_ms, error';

export const TASK_COLUMNS =
	'id, run_id, key, name, status, progress, message, needs, weight, optional, step_count, created_at, started_at, finished_at, duration_ms, error';

export const EXECUTION_COLUMNS =
	'id, task_id, step, name, command, args, cwd, status, exit_code, signal, started_at, finished_at, duration_ms, line_count, error, output_dropped_lines, output_dropped_bytes';

/**
 * `log_lines` keys a line by its execution's `log_key` (a number, not the execution's id) and
 * keeps its stream as 0 (stdout) or 1 (stderr): a row per line is most of what a log costs to
 * write, and these make a log a third smaller (migration 11). The statements speak ids and stream
 * names all the same, through these fragments.
 */
export const LOG_STREAM = "CASE stream WHEN 1 THEN 'stderr' ELSE 'stdout' END";
/** the number `log_lines.stream` keeps for the stream named by the statement's next parameter */
export const STREAM_PARAM = "(? = 'stderr')";
/** the `log_key` of the execution whose id is the statement's next parameter */
export const LOG_KEY_PARAM = '(SELECT log_key FROM executions WHERE id = ?)';
export const LOG_COLUMNS = `n, ${LOG_STREAM} AS stream, ts, text, partial`;

/** the number `log_lines.stream` keeps for `stream` (see {@link LOG_STREAM}) */
export function streamCode(stream: LogStream): 0 | 1 {
	return stream === 'stderr' ? 1 : 0;
}

export type RunRow = WorkflowRun;

/** SQLite keeps lists as JSON text and flags as 0/1; PostgreSQL hands back parsed `jsonb` and booleans */
export interface TaskRow extends Omit<Task, 'needs' | 'optional'> {
	needs: string | string[];
	optional: number | boolean;
}

export interface ExecutionRow extends Omit<Execution, 'args' | 'output_dropped'> {
	args: string | string[];
	output_dropped_lines: number;
	output_dropped_bytes: number;
}

const list = (value: string | string[]): string[] =>
	typeof value === 'string' ? (JSON.parse(value) as string[]) : value;

export interface LogRow {
	n: number;
	stream: LogStream;
	ts: string;
	text: string;
	partial: number;
}

export function toLogLine(row: LogRow): LogLine {
	const line: LogLine = { n: row.n, stream: row.stream, ts: row.ts, text: row.text };
	if (row.partial) line.partial = true;
	return line;
}

// Records are rebuilt key by key so a new column can never leak into an API response unnoticed.

export function toRun(row: RunRow): WorkflowRun {
	return {
		id: row.id,
		workflow: row.workflow,
		status: row.status as RunStatus,
		progress: row.progress,
		total_weight: row.total_weight,
		finished_weight: row.finished_weight,
		created_at: row.created_at,
		started_at: row.started_at,
		finished_at: row.finished_at,
		duration_ms: row.duration_ms,
		error: row.error
	};
}

export function toTask(row: TaskRow): Task {
	return {
		id: row.id,
		run_id: row.run_id,
		key: row.key,
		name: row.name,
		status: row.status as TaskStatus,
		progress: row.progress,
		message: row.message,
		needs: list(row.needs),
		weight: row.weight,
		optional: row.optional === true || row.optional === 1,
		step_count: row.step_count,
		created_at: row.created_at,
		started_at: row.started_at,
		finished_at: row.finished_at,
		duration_ms: row.duration_ms,
		error: row.error
	};
}

export function toExecution(row: ExecutionRow): Execution {
	return {
		id: row.id,
		task_id: row.task_id,
		step: row.step,
		name: row.name,
		command: row.command,
		args: list(row.args),
		cwd: row.cwd,
		status: row.status as ExecutionStatus,
		exit_code: row.exit_code,
		signal: row.signal,
		started_at: row.started_at,
		finished_at: row.finished_at,
		duration_ms: row.duration_ms,
		line_count: row.line_count,
		error: row.error,
		...(row.output_dropped_lines > 0 || row.output_dropped_bytes > 0
			? { output_dropped: { lines: row.output_dropped_lines, bytes: row.output_dropped_bytes } }
			: {})
	};
}

// Written as records so the compiler fails here when a patch type gains a field.
const RUN_PATCHABLE: Record<keyof RunPatch, true> = {
	status: true,
	progress: true,
	finished_weight: true,
	started_at: true,
	finished_at: true,
	duration_ms: true,
	error: true
};
const TASK_PATCHABLE: Record<keyof TaskPatch, true> = {
	status: true,
	progress: true,
	message: true,
	started_at: true,
	finished_at: true,
	duration_ms: true,
	error: true,
	step_count: true
};
const EXECUTION_PATCHABLE: Record<keyof ExecutionPatch, true> = {
	status: true,
	exit_code: true,
	signal: true,
	finished_at: true,
	duration_ms: true,
	error: true,
	output_dropped_lines: true,
	output_dropped_bytes: true
};

export const PATCHABLE = {
	runs: Object.keys(RUN_PATCHABLE),
	tasks: Object.keys(TASK_PATCHABLE),
	executions: Object.keys(EXECUTION_PATCHABLE)
} as const;

/**
 * One UPDATE per table for every patch shape: each column is set only when its `set_` flag is 1,
 * so a patch may also set a column to NULL, and the statement is prepared once.
 */
export function patchSql(table: keyof typeof PATCHABLE, returning: string, condition?: string): string {
	const sets = PATCHABLE[table].map((c) => `${c} = CASE WHEN @set_${c} THEN @${c} ELSE ${c} END`);
	const where = condition ? `id = @id AND ${condition}` : 'id = @id';
	return `UPDATE ${table} SET ${sets.join(', ')} WHERE ${where} RETURNING ${returning}`;
}

/** a task that has not ended yet (see Store.endTask) */
export const TASK_NOT_ENDED = "status NOT IN ('succeeded', 'failed', 'cancelled', 'interrupted')";

/** named parameters for `patchSql`; keys outside the table's patchable columns are ignored */
export function patchParams(
	table: keyof typeof PATCHABLE,
	id: string,
	patch: object
): Record<string, string | number | null> {
	const params: Record<string, string | number | null> = { id };
	const values = patch as Record<string, string | number | null | undefined>;
	for (const column of PATCHABLE[table]) {
		const value = values[column];
		params[`set_${column}`] = value === undefined ? 0 : 1;
		params[column] = value ?? null;
	}
	return params;
}
