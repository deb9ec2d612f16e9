/**
 * @module protocol/models
 * The records aco keeps and serves: workflow runs, tasks, tool executions and log lines.
 * Shared by the server (store, REST, events) and the browser; plain JSON shapes only.
 * Timestamps are ISO-8601 strings in UTC; durations are milliseconds.
 */

export const TASK_STATUSES = [
	'queued',
	'running',
	'succeeded',
	'failed',
	'cancelled',
	'interrupted'
] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];
export type RunStatus = TaskStatus;

export const EXECUTION_STATUSES = ['running', 'succeeded', 'failed', 'cancelled', 'interrupted'] as const;
export type ExecutionStatus = (typeof EXECUTION_STATUSES)[number];

/** Statuses after which nothing changes any more. */
export const TERMINAL_STATUSES: ReadonlySet<string> = new Set([
	'succeeded',
	'failed',
	'cancelled',
	'interrupted'
]);

export function isTerminal(status: string): boolean {
	return TERMINAL_STATUSES.has(status);
}

export interface WorkflowRun {
	id: string;
	workflow: string;
	status: RunStatus;
	/** finished weight / total weight, 0–100 */
	progress: number;
	total_weight: number;
	finished_weight: number;
	created_at: string;
	started_at: string | null;
	finished_at: string | null;
	duration_ms: number | null;
	error: string | null;
}

export interface Task {
	id: string;
	/** null for a stand-alone task (aco exec, ingest API) */
	run_id: string | null;
	/** the task's key inside its workflow file (or the name given to a stand-alone task) */
	key: string;
	name: string;
	status: TaskStatus;
	/** 0–100 */
	progress: number;
	message: string | null;
	needs: string[];
	weight: number;
	optional: boolean;
	step_count: number;
	created_at: string;
	started_at: string | null;
	finished_at: string | null;
	duration_ms: number | null;
	error: string | null;
}

export interface Execution {
	id: string;
	task_id: string;
	/** 0-based index of the step inside its task */
	step: number;
	name: string;
	command: string;
	args: string[];
	cwd: string | null;
	status: ExecutionStatus;
	exit_code: number | null;
	signal: string | null;
	started_at: string;
	finished_at: string | null;
	duration_ms: number | null;
	/** number of log lines stored so far; line numbers run 1..line_count */
	line_count: number;
	error: string | null;
	/**
	 * present once the tool's output passed the execution's output limit: what it printed after
	 * that, counted but not stored or streamed (the log has a marker line where it was cut)
	 */
	output_dropped?: { lines: number; bytes: number };
}

export type LogStream = 'stdout' | 'stderr';

export interface LogLine {
	/** 1-based line number within its execution */
	n: number;
	stream: LogStream;
	ts: string;
	/** the line's text without its terminator */
	text: string;
	/**
	 * present (true) when the tool printed no newline after this text yet: a live progress
	 * snapshot (`\r` redraws pending for a while) or a piece of an overlong line. The next line
	 * continues it on the same terminal line; downloads add no newline after it.
	 */
	partial?: true;
}

/** A task with its executions, as `GET /api/v1/tasks/{id}` returns it. */
export interface TaskDetail extends Task {
	executions: Execution[];
}

/** A workflow that can be run, as `GET /api/v1/workflows` lists it. */
export interface WorkflowSummary {
	name: string;
	description: string | null;
	file: string;
	tasks: { key: string; name: string; needs: string[]; steps: number; optional: boolean }[];
}

/** A workflow file that could not be loaded. */
/** A workflow file that does not load. */
export interface WorkflowLoadError {
	file: string;
	/** a sentence that starts with the line it is on when there is one ("line 7: tasks.build…") */
	reason: string;
	/** the (first) line of the problem; null when it is not on a line (empty file, unreadable) */
	line?: number | null;
	/** the `name:` the file declares, when it can be read */
	name?: string;
}

export interface ApiErrorBody {
	error: { code: string; message: string; details?: unknown };
}
