/**
 * @module store/sqlite-store
 * The embedded `Store`: one better-sqlite3 connection in WAL mode. Every statement is prepared
 * once; methods are async to honour the interface but do their work synchronously, which in
 * SQLite is faster than any hand-off to a thread would be for rows this small. Log appends are
 * the exception: those of one event-loop turn commit together at its end (see
 * sqlite-append-group).
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Execution, LogLine, LogOutlineResponse, Task, WorkflowRun } from '../../protocol';
import { preparePrivateFile, type Tightened } from '../data-dir';
import { newId } from '../ids';
import { MAX_OUTLINE_ENTRIES, MAX_OUTLINE_MARKS, buildOutline, logMarkOf } from './log-marks';
import { type ProgressLineInfo, progressInfo, progressStep } from '../../log/progress-runs';
import { LOG_CHUNK_CHARS, rankFrom, readLogPage, sqlitePageReads } from './log-pages';
import { MIGRATIONS, migrate, type Migration } from './migrations';
import { SqliteQueue } from './sqlite-queue';
import { patchParams, toExecution, toLogLine, toRun, toTask, type ExecutionRow } from './rows';
import { prepareStatements, type Params, type Statements } from './statements';
import { insertLine, LineRows, onlyNewLines } from './sqlite-line-rows';
import { AppendGroup } from './sqlite-append-group';
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
} from './types';

export const DEFAULT_FILENAME = 'aco.db';
export const DEFAULT_BUSY_TIMEOUT_MS = 5_000;
export const DEFAULT_LIST_LIMIT = 100;
export const MAX_LIST_LIMIT = 1_000;
export const DEFAULT_READ_LIMIT = 1_000;
export const MAX_READ_LIMIT = 10_000;
export const DEFAULT_CHUNK = 1_000;

export interface SqliteStoreOptions {
	/** file name inside `dataDir` (default `aco.db`); `':memory:'` for a private in-memory database */
	filename?: string;
	/** how long a write waits for another connection's lock before failing */
	busyTimeoutMs?: number;
	/** told when a database file was readable by others and has been made private */
	onTightened?: Tightened;
	/** told before each migration an existing database needs is applied (see store/migrations) */
	onMigration?: (migration: Migration) => void;
}

/**
 * Opens (creating and migrating when needed) the database in `dataDir`.
 * @example const store = openSqliteStore('./data'); // ./data/aco.db
 */
export function openSqliteStore(dataDir: string, options: SqliteStoreOptions = {}): Store {
	const filename = options.filename ?? DEFAULT_FILENAME;
	const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
	let location = ':memory:';
	if (filename !== ':memory:') {
		fs.mkdirSync(dataDir, { recursive: true });
		location = path.resolve(dataDir, filename);
		// SQLite gives the -wal and -shm files the mode of the database file, so all three stay 0600
		preparePrivateFile(location, { create: true, onTightened: options.onTightened });
		for (const suffix of ['-wal', '-shm']) {
			preparePrivateFile(location + suffix, { onTightened: options.onTightened });
		}
	}
	const db = new Database(location, { timeout: busyTimeoutMs });
	try {
		db.pragma('journal_mode = WAL');
		// NORMAL under WAL loses at most the last commits on power loss, never consistency
		db.pragma('synchronous = NORMAL');
		db.pragma('foreign_keys = ON');
		migrate(db, MIGRATIONS, options.onMigration);
		return new SqliteStore(db);
	} catch (err) {
		db.close();
		throw err;
	}
}

/** a whole number in [min, max], or the fallback when none was given */
function clampInt(value: number | undefined, fallback: number, min: number, max: number): number {
	if (value === undefined || !Number.isFinite(value)) return fallback;
	return Math.min(max, Math.max(min, Math.floor(value)));
}

function filtersOf(query: Record<string, unknown>, names: string[]): { key: string; params: Params } {
	const used = names.filter((name) => query[name] !== undefined && query[name] !== null);
	const params: Params = {};
	for (const name of used) params[name] = query[name] as string;
	return { key: used.join(','), params };
}

/** turns a foreign-key failure on insert into an error that names the missing parent */
function rethrowMissingParent(err: unknown, what: string): never {
	if (err instanceof Database.SqliteError && err.code === 'SQLITE_CONSTRAINT_FOREIGNKEY') {
		throw new Error(`${what} does not exist`, { cause: err });
	}
	throw err;
}

class SqliteStore implements Store {
	readonly queue: SqliteQueue;
	#db: Database.Database;
	#stmt: Statements;
	#closed = false;
	/** this turn's log appends, committed together */
	#appends: AppendGroup;
	#markInterrupted: (reason: string, now: string) => InterruptedCounts;
	#createTaskOnce: (key: string, input: NewTask) => TaskOnce;
	#importKeys: (keys: ReadonlyArray<readonly [string, string]>, now: string) => number;

	constructor(db: Database.Database) {
		this.#db = db;
		this.queue = new SqliteQueue(db, () => this.#assertOpen());
		const stmt = (this.#stmt = prepareStatements(db));
		const appendLines = db.transaction((executionId: string, lines: LogLine[]) => {
			const logKey = stmt.logKey.get(executionId);
			if (logKey === undefined) throw new Error(`execution ${executionId} not found`);
			const ranks = {
				stdout: stmt.streamCount.get(executionId, 'stdout') ?? 0,
				stderr: stmt.streamCount.get(executionId, 'stderr') ?? 0
			};
			// the usual batch only adds lines: they go in rows of several per statement, as they come
			const rows = onlyNewLines(stmt, executionId, lines) ? new LineRows(stmt, logKey) : null;
			// the lines stored here, listed only when some may not be: otherwise all of them
			const stored: LogLine[] | null = rows ? null : [];
			let prev: ProgressLineInfo | undefined;
			for (const line of lines) {
				const rank = ranks[line.stream] + 1;
				if (rows) rows.add(line, rank);
				// a line already stored (a repeated append) keeps its rank and adds none
				else if (!insertLine(stmt, logKey, line, rank)) continue;
				stored?.push(line);
				ranks[line.stream] = rank;
				const mark = logMarkOf(line.text);
				if (mark) stmt.insertMark.run(executionId, line.n, mark.kind, mark.text, mark.file, mark.file_line);
				// the line before is the batch's previous one, or stored by an earlier batch
				if (prev?.n !== line.n - 1) prev = this.#storedProgressInfo(executionId, line.n - 1);
				const info = progressInfo(line);
				const step = progressStep(prev, info);
				if (step.closeAt !== null) stmt.closeProgress.run(step.closeAt, executionId, step.closeAt);
				if (step.start) stmt.openProgress.run(executionId, line.n);
				prev = info;
			}
			rows?.flush();
			stmt.syncLineCount.run({ id: executionId });
			return stored ?? lines;
		});
		this.#appends = new AppendGroup(db, appendLines);
		this.#createTaskOnce = db.transaction((key: string, input: NewTask): TaskOnce => {
			const found = stmt.taskOfKey.get(key);
			if (found) return { task: toTask(found), existing: true };
			const task = this.#insertTask(input);
			stmt.insertKey.run({ key, task_id: task.id, now: task.created_at });
			return { task, existing: false };
		});
		this.#importKeys = db.transaction((keys: ReadonlyArray<readonly [string, string]>, now: string) => {
			let added = 0;
			for (const [key, taskId] of keys) added += stmt.insertKey.run({ key, task_id: taskId, now }).changes;
			return added;
		});
		this.#markInterrupted = db.transaction((reason: string, now: string) => ({
			runs: stmt.interruptRuns.run({ reason, now }).changes,
			tasks: stmt.interruptTasks.run({ reason, now }).changes,
			executions: stmt.interruptExecutions.run({ reason, now }).changes
		}));
	}

	#storedProgressInfo(executionId: string, n: number): ProgressLineInfo | undefined {
		if (n < 1) return undefined;
		const row = this.#stmt.lineProgressInfo.get(executionId, n);
		if (!row) return undefined;
		return {
			n,
			stream: row.stream === 'stderr' ? 'stderr' : 'stdout',
			partial: row.partial === 1,
			cr: row.cr === 1
		};
	}

	#assertOpen(): void {
		if (this.#closed) throw new Error('store is closed');
	}

	async createRun(input: NewRun): Promise<WorkflowRun> {
		this.#assertOpen();
		const row = this.#stmt.insertRun.get({
			id: newId('run'),
			workflow: input.workflow,
			total_weight: input.total_weight,
			created_at: new Date().toISOString()
		});
		return toRun(row!);
	}

	async updateRun(id: string, patch: RunPatch): Promise<WorkflowRun> {
		this.#assertOpen();
		const row = this.#stmt.updateRun.get(patchParams('runs', id, patch));
		if (!row) throw new Error(`run ${id} not found`);
		return toRun(row);
	}

	async getRun(id: string): Promise<WorkflowRun | null> {
		this.#assertOpen();
		const row = this.#stmt.getRun.get(id);
		return row ? toRun(row) : null;
	}

	async listRuns(query: ListRunsQuery = {}): Promise<WorkflowRun[]> {
		this.#assertOpen();
		const { key, params } = filtersOf({ ...query }, ['status', 'workflow']);
		params.limit = clampInt(query.limit, DEFAULT_LIST_LIMIT, 0, MAX_LIST_LIMIT);
		return this.#stmt.listRuns.get(key)!.all(params).map(toRun);
	}

	async createTask(input: NewTask): Promise<Task> {
		this.#assertOpen();
		return this.#insertTask(input);
	}

	async createTaskOnce(idempotencyKey: string, input: NewTask): Promise<TaskOnce> {
		this.#assertOpen();
		return this.#createTaskOnce(idempotencyKey, input);
	}

	async importIdempotencyKeys(keys: ReadonlyArray<readonly [string, string]>): Promise<number> {
		this.#assertOpen();
		return this.#importKeys(keys, new Date().toISOString());
	}

	#insertTask(input: NewTask): Task {
		try {
			const row = this.#stmt.insertTask.get({
				id: newId('task'),
				run_id: input.run_id,
				key: input.key,
				name: input.name,
				needs: JSON.stringify(input.needs),
				weight: input.weight,
				optional: input.optional ? 1 : 0,
				step_count: input.step_count,
				created_at: new Date().toISOString()
			});
			return toTask(row!);
		} catch (err) {
			rethrowMissingParent(err, `cannot create task "${input.key}": run ${input.run_id}`);
		}
	}

	async updateTask(id: string, patch: TaskPatch): Promise<Task> {
		this.#assertOpen();
		const row = this.#stmt.updateTask.get(patchParams('tasks', id, patch));
		if (!row) throw new Error(`task ${id} not found`);
		return toTask(row);
	}

	async getTask(id: string): Promise<Task | null> {
		this.#assertOpen();
		const row = this.#stmt.getTask.get(id);
		return row ? toTask(row) : null;
	}

	async listTasks(query: ListTasksQuery = {}): Promise<Task[]> {
		this.#assertOpen();
		const { key, params } = filtersOf({ ...query }, ['status', 'run_id']);
		params.limit = clampInt(query.limit, DEFAULT_LIST_LIMIT, 0, MAX_LIST_LIMIT);
		return this.#stmt.listTasks.get(key)!.all(params).map(toTask);
	}

	async runTasks(runId: string): Promise<Task[]> {
		this.#assertOpen();
		return this.#stmt.runTasks.all(runId).map(toTask);
	}

	async createExecution(input: NewExecution): Promise<Execution> {
		this.#assertOpen();
		// sent again (as on PostgreSQL, after a lost reply): the stored one is the answer
		const stored = input.id === undefined ? undefined : this.#stmt.getExecution.get(input.id);
		if (stored) {
			if (stored.task_id !== input.task_id) {
				throw new Error(`cannot create execution ${stored.id}: that id belongs to another task`);
			}
			return toExecution(stored);
		}
		let row: ExecutionRow | undefined;
		try {
			row = this.#stmt.insertExecution.get({
				id: input.id ?? newId('exec'),
				task_id: input.task_id,
				step: input.step,
				name: input.name,
				command: input.command,
				args: JSON.stringify(input.args),
				cwd: input.cwd,
				started_at: new Date().toISOString(),
				one_per_step: input.one_per_step ? 1 : 0
			});
		} catch (err) {
			rethrowMissingParent(err, `cannot create execution "${input.name}": task ${input.task_id}`);
		}
		// a producer's tool another request started first: the task keeps that one
		row ??= this.#stmt.executionOfStep.get(input.task_id, input.step);
		if (!row) {
			throw new Error(
				`cannot create execution "${input.name}": its id or step ${input.step} of task ${input.task_id} is stored already`
			);
		}
		return toExecution(row);
	}

	async updateExecution(id: string, patch: ExecutionPatch): Promise<Execution> {
		this.#assertOpen();
		const row = this.#stmt.updateExecution.get(patchParams('executions', id, patch));
		if (!row) throw new Error(`execution ${id} not found`);
		return toExecution(row);
	}

	async endExecution(id: string, patch: ExecutionPatch): Promise<Execution | null> {
		this.#assertOpen();
		const row = this.#stmt.endExecution.get(patchParams('executions', id, patch));
		return row ? toExecution(row) : null;
	}

	async getExecution(id: string): Promise<Execution | null> {
		this.#assertOpen();
		const row = this.#stmt.getExecution.get(id);
		return row ? toExecution(row) : null;
	}

	async listExecutions(taskId: string): Promise<Execution[]> {
		this.#assertOpen();
		return this.#stmt.listExecutions.all(taskId).map(toExecution);
	}

	async appendLogLines(executionId: string, lines: LogLine[]): Promise<LogLine[]> {
		this.#assertOpen();
		if (lines.length === 0) return [];
		return this.#appends.add(executionId, lines);
	}

	async readLogLines(executionId: string, query: ReadLinesQuery = {}): Promise<LogLine[]> {
		this.#assertOpen();
		const limit = clampInt(query.limit, DEFAULT_READ_LIMIT, 0, MAX_READ_LIMIT);
		return this.#stmt.readLines.all(executionId, query.after ?? 0, limit).map(toLogLine);
	}

	/**
	 * Keyset pages (`n > last`), each its own short read, so no read transaction stays open
	 * across yields and lines appended meanwhile show up until a short page says the end is reached.
	 */
	async *iterateLogLines(
		executionId: string,
		query: IterateLinesQuery = {}
	): AsyncGenerator<LogLine[], void, undefined> {
		const chunk = clampInt(query.chunk, DEFAULT_CHUNK, 1, MAX_READ_LIMIT);
		const { stream } = query;
		let last = query.after ?? 0;
		// one stream: keyset on its rank, starting at the rank of its first line after `after`
		const first = stream ? await rankFrom(sqlitePageReads(this.#stmt), executionId, stream, last + 1) : 0;
		if (first === null) return;
		let rank = first;
		for (;;) {
			this.#assertOpen();
			let lines: LogLine[];
			if (stream) {
				const rows = this.#stmt.readStreamLines.all(executionId, stream, rank, chunk);
				if (rows.length) rank = rows[rows.length - 1].sn + 1;
				lines = rows.map(toLogLine);
			} else {
				lines = this.#stmt.readLines.all(executionId, last, chunk).map(toLogLine);
			}
			if (lines.length === 0) return;
			last = lines[lines.length - 1].n;
			yield lines;
			if (lines.length < chunk) return;
		}
	}

	async *scanLogText(
		executionId: string,
		query: IterateLinesQuery = {}
	): AsyncGenerator<[number, string][], void, undefined> {
		const chunk = clampInt(query.chunk, DEFAULT_CHUNK, 1, MAX_READ_LIMIT);
		const { stream } = query;
		let last = query.after ?? 0;
		const first = stream ? await rankFrom(sqlitePageReads(this.#stmt), executionId, stream, last + 1) : 0;
		if (first === null) return;
		let rank = first;
		for (;;) {
			this.#assertOpen();
			// stepped row by row and left at the character budget (a line at least): 2,000 lines of
			// 64 KiB would otherwise be read at once, on the event loop
			const rows: [number, string][] = [];
			let chars = 0;
			let more = false;
			const scan = stream
				? this.#stmt.scanStreamText.iterate(executionId, stream, rank, chunk)
				: this.#stmt.scanText.iterate(executionId, last, chunk);
			for (const row of scan) {
				if (chars >= LOG_CHUNK_CHARS) {
					more = true;
					break;
				}
				chars += row[1].length;
				if (stream) rank = (row as [number, string, number])[2] + 1;
				rows.push(row as [number, string]);
			}
			if (rows.length === 0) return;
			last = rows[rows.length - 1][0];
			yield rows;
			if (!more && rows.length < chunk) return;
		}
	}

	async readLogPage(executionId: string, query: LogPageQuery = {}): Promise<LogPage> {
		this.#assertOpen();
		return readLogPage(sqlitePageReads(this.#stmt), executionId, query);
	}

	async readLogLinesAt(executionId: string, lines: readonly number[]): Promise<LogLine[]> {
		this.#assertOpen();
		const found: LogLine[] = [];
		for (const n of lines) {
			const line = this.#stmt.readLine.get(executionId, n);
			if (line) found.push(toLogLine(line));
		}
		return found;
	}

	async readLogOutline(executionId: string): Promise<LogOutlineResponse> {
		this.#assertOpen();
		const outline = buildOutline(this.#stmt.readMarks.iterate(executionId, MAX_OUTLINE_MARKS + 1));
		const runs = this.#stmt.readProgress.all(executionId, MAX_OUTLINE_ENTRIES + 1);
		if (runs.length > MAX_OUTLINE_ENTRIES) outline.truncated = true;
		outline.progress = runs.slice(0, MAX_OUTLINE_ENTRIES).map((r) => ({ start: r.start, end: r.end_n }));
		return outline;
	}

	async createSession(session: AuthSession): Promise<void> {
		this.#assertOpen();
		this.#stmt.insertSession.run(session);
	}

	async getSession(id: string): Promise<AuthSession | null> {
		this.#assertOpen();
		return this.#stmt.getSession.get(id) ?? null;
	}

	async touchSession(id: string, lastSeenAt: string, expiresAt: string): Promise<boolean> {
		this.#assertOpen();
		return this.#stmt.touchSession.run(lastSeenAt, expiresAt, id).changes > 0;
	}

	async deleteSession(id: string): Promise<boolean> {
		this.#assertOpen();
		return this.#stmt.deleteSession.run(id).changes > 0;
	}

	async expireSessions(now: string): Promise<number> {
		this.#assertOpen();
		return this.#stmt.expireSessions.run(now).changes;
	}

	async ping(): Promise<void> {
		this.#assertOpen();
		this.#db.prepare('SELECT 1').get();
	}

	async endTask(id: string, patch: TaskPatch): Promise<Task | null> {
		this.#assertOpen();
		const row = this.#stmt.endTask.get(patchParams('tasks', id, patch));
		return row ? toTask(row) : null;
	}

	async noteHeard(id: string): Promise<void> {
		this.#assertOpen();
		const at = new Date().toISOString();
		this.#stmt.noteHeard.run(at, id, at);
	}

	async listSilentTasks(silentForMs: number, limit: number): Promise<string[]> {
		this.#assertOpen();
		return this.#stmt.silentTasks.all(new Date(Date.now() - silentForMs).toISOString(), limit);
	}

	async claimSilentTask(id: string, silentForMs: number): Promise<boolean> {
		this.#assertOpen();
		const now = Date.now();
		const before = new Date(now - silentForMs).toISOString();
		return this.#stmt.claimSilentTask.run(new Date(now).toISOString(), id, before).changes > 0;
	}

	async askProducerCancel(id: string): Promise<ProducerCancel> {
		this.#assertOpen();
		if (this.#stmt.askProducerCancel.run(id).changes > 0) return 'asked';
		const row = this.#stmt.standaloneStatus.get(id);
		return row?.status === 'running' && row.stopping === 'cancelled' ? 'already' : null;
	}

	async getProducerTask(id: string): Promise<ProducerTask | null> {
		this.#assertOpen();
		const row = this.#stmt.getProducerTask.get(id);
		return row ? { task: toTask(row), cancelAsked: row.cancel_asked === 1 } : null;
	}

	async markInterrupted(reason: string): Promise<InterruptedCounts> {
		this.#assertOpen();
		return this.#markInterrupted(reason, new Date().toISOString());
	}

	async close(): Promise<void> {
		if (this.#closed) return;
		this.#closed = true;
		// appends already accepted are committed, not lost
		this.#appends.flush();
		try {
			// lets SQLite refresh planner statistics it found worth keeping; never worth failing a shutdown for
			this.#db.pragma('optimize');
		} catch {
			// ignored on purpose, see above
		}
		this.#db.close();
	}
}
