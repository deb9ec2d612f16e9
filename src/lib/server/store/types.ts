/**
 * @module store/types
 * The persistence seam. Callers only see this interface, so a network database (PostgreSQL)
 * can replace the embedded SQLite store without touching them; every method is async for that
 * reason even where SQLite answers synchronously.
 */
import type {
	Execution,
	ExecutionStatus,
	LogLine,
	LogLinesResponse,
	LogOutlineResponse,
	LogStream,
	LogStreamFilter,
	RunStatus,
	Task,
	TaskStatus,
	WorkflowRun
} from '../../protocol';
import type { Role } from '../../protocol/auth';
import type { TaskQueue } from './queue';

export interface NewRun {
	workflow: string;
	total_weight: number;
}

export type RunPatch = Partial<
	Pick<
		WorkflowRun,
		'status' | 'progress' | 'finished_weight' | 'started_at' | 'finished_at' | 'duration_ms' | 'error'
	>
>;

export interface NewTask {
	run_id: string | null;
	key: string;
	name: string;
	needs: string[];
	weight: number;
	optional: boolean;
	step_count: number;
}

export type TaskPatch = Partial<
	Pick<
		Task,
		'status' | 'progress' | 'message' | 'started_at' | 'finished_at' | 'duration_ms' | 'error' | 'step_count'
	>
>;

export interface NewExecution {
	/**
	 * Given by a caller that may send the same write again (its reply was lost): an execution
	 * with this id that is already stored is returned, not created twice. Default: a new id.
	 */
	id?: string;
	task_id: string;
	step: number;
	name: string;
	command: string;
	args: string[];
	cwd: string | null;
	/**
	 * The task keeps one execution of this step (a producer's tool, see ingest/service): when it has
	 * one already, made by another request or node meanwhile, that one is returned instead of a
	 * second. Default false: a workflow step runs once per attempt of its task, each attempt with
	 * an execution of its own.
	 */
	one_per_step?: boolean;
}

export type ExecutionPatch = Partial<
	Pick<Execution, 'status' | 'exit_code' | 'signal' | 'finished_at' | 'duration_ms' | 'error'> & {
		/** output counted past the execution's output limit (Execution.output_dropped) */
		output_dropped_lines: number;
		output_dropped_bytes: number;
	}
>;

export interface ListRunsQuery {
	status?: RunStatus;
	workflow?: string;
	limit?: number;
}

export interface ListTasksQuery {
	status?: TaskStatus;
	run_id?: string;
	limit?: number;
}

export interface ReadLinesQuery {
	/** only lines with a number greater than this */
	after?: number;
	/** at most this many lines (the store may cap it) */
	limit?: number;
}

/** which page of a log to read; precedence tail > index > from (see protocol/api LogLinesResponse) */
export interface LogPageQuery {
	stream?: LogStreamFilter;
	/** the last `tail` lines */
	tail?: number;
	/** from the index-th line (0-based) of the stream filter */
	index?: number;
	/** from the first line numbered ≥ from (default 1) */
	from?: number;
	limit?: number;
}

export type LogPage = Omit<LogLinesResponse, 'execution_id' | 'stream'>;

export interface IterateLinesQuery {
	/** only lines numbered greater than this */
	after?: number;
	/** lines per chunk */
	chunk?: number;
	/** only this stream */
	stream?: LogStream;
}

/**
 * A browser's sign-in session. Timestamps are ISO-8601 UTC text like every other record; the
 * cookie's value is never stored, only its hash (so a copy of the database signs no one in).
 */
export interface AuthSession {
	/** hex SHA-256 of the session cookie's value */
	id: string;
	role: Role;
	/** the token that signed in (its id, a prefix of its hash): the session ends with the token */
	token_id: string;
	created_at: string;
	last_seen_at: string;
	/** the session is over from this instant on */
	expires_at: string;
}

/** what `createTaskOnce` did: created the task, or found the one the key created before */
export interface TaskOnce {
	task: Task;
	existing: boolean;
}

export interface InterruptedCounts {
	runs: number;
	tasks: number;
	executions: number;
}

/** what asking a producer to cancel did (Store.askProducerCancel) */
export type ProducerCancel = 'asked' | 'already' | null;

/** a task as the ingest service reads it for each request (Store.getProducerTask) */
export interface ProducerTask {
	task: Task;
	/** a cancel was asked of its producer, on any node (Store.askProducerCancel); false for a task of a run */
	cancelAsked: boolean;
}

export interface Store {
	/** where tasks of runs wait for a node to claim them (see store/queue) */
	readonly queue: TaskQueue;
	createRun(input: NewRun): Promise<WorkflowRun>;
	updateRun(id: string, patch: RunPatch): Promise<WorkflowRun>;
	getRun(id: string): Promise<WorkflowRun | null>;
	/** newest first */
	listRuns(query?: ListRunsQuery): Promise<WorkflowRun[]>;

	createTask(input: NewTask): Promise<Task>;
	updateTask(id: string, patch: TaskPatch): Promise<Task>;
	getTask(id: string): Promise<Task | null>;
	/** newest first */
	listTasks(query?: ListTasksQuery): Promise<Task[]>;
	/**
	 * Every task of a run, oldest first (the order its workflow file lists them): the run's page
	 * and its whole-run download show them all, however many (listTasks stops at MAX_LIST_LIMIT).
	 */
	runTasks(runId: string): Promise<Task[]>;
	/**
	 * Creates a task and records its idempotency key in one transaction, or returns the task an
	 * earlier call with the same key created (`existing`). Concurrent calls with one key create one task.
	 */
	createTaskOnce(idempotencyKey: string, input: NewTask): Promise<TaskOnce>;
	/**
	 * Adds keys kept elsewhere before (key → task id); keys already known and keys whose task does
	 * not exist are skipped. Returns how many were added.
	 */
	importIdempotencyKeys(keys: ReadonlyArray<readonly [string, string]>): Promise<number>;
	/**
	 * Ends task `id` with `patch` unless it has ended already (succeeded, failed, cancelled or
	 * interrupted): the ended task, or null when another request or node ended it first. One
	 * ending wins.
	 */
	endTask(id: string, patch: TaskPatch): Promise<Task | null>;
	/**
	 * The producer of running stand-alone task `id` was heard from now: kept with the task, so every
	 * node can tell when any node last heard it (see ingest/silent-tasks). On PostgreSQL the
	 * database's clock keeps these times (as leases), so the nodes' clocks need not agree.
	 */
	noteHeard(id: string): Promise<void>;
	/**
	 * Running stand-alone tasks whose producer was last heard from (never heard: since the task
	 * started) at least `silentForMs` ago: their ids, the longest silent first, at most `limit`.
	 */
	listSilentTasks(silentForMs: number, limit: number): Promise<string[]>;
	/**
	 * Takes silent task `id` to end it: true when it is running and its producer was last heard
	 * from at least `silentForMs` ago, and then marks it heard now, so no other node takes it as
	 * well; false when a producer was heard from since, or the task ended.
	 */
	claimSilentTask(id: string, silentForMs: number): Promise<boolean>;
	/**
	 * Asks the producer of running stand-alone task `id` to cancel: kept with the task, so the node
	 * its producer reports to says so in its next answer. `asked`: asked now; `already`: asked
	 * before (of this node or another); null: the task is not running.
	 */
	askProducerCancel(id: string): Promise<ProducerCancel>;
	/**
	 * Task `id` with whether a cancel was asked of its producer, in the one read `getTask` costs:
	 * every ingest request reads its task, and so learns of a cancel asked of another node.
	 */
	getProducerTask(id: string): Promise<ProducerTask | null>;

	/**
	 * A new running execution; the stored one for an `id` stored before, and for a `one_per_step`
	 * step the task has already (an id other than `input.id` then tells the caller it came second).
	 */
	createExecution(input: NewExecution): Promise<Execution>;
	updateExecution(id: string, patch: ExecutionPatch): Promise<Execution>;
	/**
	 * Ends execution `id` with `patch` while it is still running: the ended execution, or null when
	 * it is not running any more (the release of its task by another node closed it first). A node
	 * back from a partition so writes nothing over what the node that took its task over stored.
	 * An execution this same patch (its `status` and `finished_at`) ended already is returned too:
	 * the write tried again after its answer was lost finds its own end, not another node's.
	 */
	endExecution(id: string, patch: ExecutionPatch): Promise<Execution | null>;
	getExecution(id: string): Promise<Execution | null>;
	/** in step order */
	listExecutions(taskId: string): Promise<Execution[]>;

	/**
	 * Appends lines to an execution's log in one transaction and advances its `line_count`.
	 * Line numbers must continue the log (n = line_count + 1, + 2, …); a line whose number is
	 * already stored is ignored, so a repeated append stores nothing twice.
	 *
	 * Returns the lines this call stored, in their order: `lines` itself when all of them were new
	 * (the usual case, which costs nothing to tell), without those another append (on any node)
	 * stored first otherwise. Whoever gets a line back is the one to publish it.
	 */
	appendLogLines(executionId: string, lines: LogLine[]): Promise<LogLine[]>;
	/**
	 * The most lines (and bytes of text) one append should take when a backlog waits behind a
	 * write: a store whose appends cost mostly per call (PostgreSQL: round trips, one transaction)
	 * stores a backlog faster in larger appends. Unset: the writer's own batch size is used.
	 */
	readonly logBatch?: LogBatchSize;
	/** lines in number order */
	readLogLines(executionId: string, query?: ReadLinesQuery): Promise<LogLine[]>;
	/** the whole log (or the part after `after`) in chunks, so a download never holds it all */
	iterateLogLines(executionId: string, query?: IterateLinesQuery): AsyncIterable<LogLine[]>;
	/** like iterateLogLines, but only `[n, text]` pairs: the cheap read a search scans with */
	scanLogText(executionId: string, query?: IterateLinesQuery): AsyncIterable<[number, string][]>;
	/** one page of a log for a (virtual) list view, with the counts it needs */
	readLogPage(executionId: string, query?: LogPageQuery): Promise<LogPage>;
	/** single lines by number, in the order asked; missing ones are left out */
	readLogLinesAt(executionId: string, lines: readonly number[]): Promise<LogLine[]>;
	/** groups and annotations, kept at ingest */
	readLogOutline(executionId: string): Promise<LogOutlineResponse>;

	/** stores a new sign-in session (its id is new: ids are hashes of random values) */
	createSession(session: AuthSession): Promise<void>;
	getSession(id: string): Promise<AuthSession | null>;
	/** records use of a session and moves its end; false when it no longer exists */
	touchSession(id: string, lastSeenAt: string, expiresAt: string): Promise<boolean>;
	/** ends a session (sign-out); false when it did not exist */
	deleteSession(id: string): Promise<boolean>;
	/** deletes every session whose `expires_at` is at or before `now`; returns how many */
	expireSessions(now: string): Promise<number>;

	/** resolves when the database answers; rejects (StoreUnavailableError for PostgreSQL) when it does not */
	ping(): Promise<void>;
	/** marks everything left `running` or `queued` by a process that died as `interrupted` */
	markInterrupted(reason: string): Promise<InterruptedCounts>;
	close(): Promise<void>;
}

/** a size of one append of log lines; see {@link Store.logBatch} */
export interface LogBatchSize {
	lines: number;
	bytes: number;
}

export type { ExecutionStatus };
