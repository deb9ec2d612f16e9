/**
 * @module protocol/events
 * The realtime event map shared by server and browser. A changed payload gets a new event
 * name (`…V2`) rather than a silent change.
 */
import type { Execution, LogLine, RunStatus, Task, TaskStatus, WorkflowRun } from './models';

export interface TaskRef {
	task_id: string;
	run_id: string | null;
}

export interface ExecutionRef extends TaskRef {
	execution_id: string;
}

/** One line of a tool's output, as `tool.lines` carries it. */
export interface OutputLine {
	/** the line's number in its execution's log (1..n across stdout and stderr) */
	line: number;
	/** the text without its line terminator */
	output: string;
	is_stderr: boolean;
	timestamp: string;
	/** the tool printed no newline after `output` yet; the next line continues it (LogLine.partial) */
	partial?: true;
}

/** A stored line as `tool.lines` carries it. */
export function toOutputLine(line: LogLine): OutputLine {
	const out: OutputLine = {
		line: line.n,
		output: line.text,
		is_stderr: line.stream === 'stderr',
		timestamp: line.ts
	};
	if (line.partial) out.partial = true;
	return out;
}

/** A `tool.lines` line as the record REST pages return ({@link LogLine}), to merge the two by number. */
export function fromOutputLine(line: OutputLine): LogLine {
	const out: LogLine = {
		n: line.line,
		stream: line.is_stderr ? 'stderr' : 'stdout',
		ts: line.timestamp,
		text: line.output
	};
	// a progress snapshot the next line continues: drawn as the stored line is
	if (line.partial) out.partial = true;
	return out;
}

export interface EventDataMap {
	'task.created': TaskRef & { task: Task };
	/** any status change that is not a completion or failure (running, cancelled, interrupted) */
	'task.status': TaskRef & { status: TaskStatus; message: string | null; task: Task };
	'task.progress': TaskRef & { progress: number; message: string | null };
	'task.completed': TaskRef & { status: 'succeeded'; duration_ms: number | null; task: Task };
	'task.failed': TaskRef & { status: 'failed'; error: string | null; duration_ms: number | null; task: Task };
	'tool.started': ExecutionRef & { execution: Execution };
	/**
	 * Lines of a tool's output, one or more, numbered one after another in the order printed:
	 * the lines that arrived together (one read of the tool's pipes, one ingest batch) go as one
	 * event, so a tool printing flat out costs one event per batch rather than one per line.
	 * (Protocol version 2 sent one `tool.output` event per line.)
	 */
	'tool.lines': ExecutionRef & { lines: OutputLine[] };
	'tool.completed': ExecutionRef & {
		exit_code: number | null;
		duration_ms: number | null;
		line_count: number;
		execution: Execution;
	};
	'tool.failed': ExecutionRef & {
		exit_code: number | null;
		signal: string | null;
		error: string | null;
		duration_ms: number | null;
		line_count: number;
		execution: Execution;
	};
	'workflow.progress': {
		run_id: string;
		workflow: string;
		status: RunStatus;
		progress: number;
		finished_weight: number;
		total_weight: number;
		run: WorkflowRun;
	};
	'workflow.completed': {
		run_id: string;
		workflow: string;
		status: 'succeeded';
		duration_ms: number | null;
		run: WorkflowRun;
	};
	/** the run ended without success: failed, cancelled or interrupted */
	'workflow.failed': {
		run_id: string;
		workflow: string;
		status: RunStatus;
		error: string | null;
		duration_ms: number | null;
		run: WorkflowRun;
	};
}

export type EventType = keyof EventDataMap;

export const EVENT_TYPES = [
	'task.created',
	'task.status',
	'task.progress',
	'task.completed',
	'task.failed',
	'tool.started',
	'tool.lines',
	'tool.completed',
	'tool.failed',
	'workflow.progress',
	'workflow.completed',
	'workflow.failed'
] as const satisfies readonly EventType[];

/** An event as a producer publishes it on the bus, before the hub numbers it. */
export interface DomainEvent<T extends EventType = EventType> {
	type: T;
	data: EventDataMap[T];
	/** when the event happened (ISO-8601) */
	timestamp: string;
}

export type AnyDomainEvent = { [K in EventType]: DomainEvent<K> }[EventType];

export type Priority = 'high' | 'normal' | 'low';

export const EVENT_PRIORITY: Record<EventType, Priority> = {
	'task.failed': 'high',
	'tool.failed': 'high',
	'workflow.failed': 'high',
	'task.created': 'normal',
	'task.status': 'normal',
	'task.completed': 'normal',
	'tool.started': 'normal',
	'tool.completed': 'normal',
	'workflow.completed': 'normal',
	'tool.lines': 'low',
	'task.progress': 'low',
	'workflow.progress': 'low'
};

export function isEventType(value: string): value is EventType {
	return (EVENT_TYPES as readonly string[]).includes(value);
}

/** The status an event reports, if any (used by status filters). */
export function eventStatus(event: DomainEvent): string | null {
	const data = event.data as { status?: unknown };
	return typeof data.status === 'string' ? data.status : null;
}
