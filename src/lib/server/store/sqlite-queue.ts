/**
 * @module store/sqlite-queue
 * The task queue (store/queue.ts) for the embedded SQLite store: one process, so every step is
 * one synchronous transaction (nothing can interleave), signals stay in process, and there are
 * no leases (a restart marks what was running interrupted instead, see Store.markInterrupted).
 */
import type Database from 'better-sqlite3';
import type { Execution, Task, WorkflowRun } from '../../protocol';
import { newId } from '../ids';
import type {
	Claim,
	ClaimedTask,
	HeldTask,
	NodeInfo,
	NewRunTask,
	QueueSignal,
	ReleasedTask,
	RenewedClaim,
	RunPlanResult,
	RunPlanner,
	StopReason,
	TaskQueue
} from './queue';
import {
	EXECUTION_COLUMNS,
	RUN_COLUMNS,
	TASK_COLUMNS,
	patchParams,
	patchSql,
	toExecution,
	toRun,
	toTask,
	type ExecutionRow,
	type RunRow,
	type TaskRow
} from './rows';
import type { NewRun, TaskPatch } from './types';

type QueueTaskRow = TaskRow & { ready: number; spec: string | null; node: string | null; attempt: number };

const now = () => new Date().toISOString();

/** what a task queued again says about why */
export function retryMessage(reason: string, attempt: number, retries: number): string {
	return `${reason}; starting it again (attempt ${attempt + 1} of ${retries + 1})`;
}

export class SqliteQueue implements TaskQueue {
	readonly shared = false;
	#listeners = new Set<(signal: QueueSignal) => void>();
	#started = now();
	#createRun: (run: NewRun, tasks: NewRunTask[]) => { run: WorkflowRun; tasks: Task[] };
	#planRun: (runId: string, planner: RunPlanner) => RunPlanResult | null;
	#stopRun: (runId: string, reason: StopReason) => { id: string; node: string | null }[] | null;
	#claim: (node: string, limit: number) => ClaimedTask[];
	#release: (node: string, reason: string) => ReleasedTask[];
	#stmt;

	constructor(db: Database.Database, assertOpen: () => void) {
		const taskCols = TASK_COLUMNS.replace(/(\w+)/g, 't.$1');
		const stmt = (this.#stmt = {
			insertRun: db.prepare<Record<string, unknown>, RunRow>(
				`INSERT INTO runs (id, workflow, status, progress, total_weight, finished_weight, created_at, started_at)
				 VALUES (@id, @workflow, 'running', 0, @total_weight, 0, @now, @now) RETURNING ${RUN_COLUMNS}`
			),
			insertTask: db.prepare<Record<string, unknown>, TaskRow>(
				`INSERT INTO tasks (id, run_id, key, name, status, progress, needs, weight, optional, step_count, created_at, spec, ord, retries)
				 VALUES (@id, @run_id, @key, @name, 'queued', 0, @needs, @weight, @optional, @step_count, @now, @spec, @ord, @retries)
				 RETURNING ${TASK_COLUMNS}`
			),
			openRun: db.prepare<[string], RunRow & { stopping: StopReason | null }>(
				`SELECT ${RUN_COLUMNS}, stopping FROM runs WHERE id = ? AND status IN ('queued', 'running')`
			),
			runTasks: db.prepare<[string], QueueTaskRow>(
				`SELECT ${TASK_COLUMNS}, ready_at IS NOT NULL AS ready, spec, node, attempt FROM tasks WHERE run_id = ? ORDER BY ord, created_at, id`
			),
			endQueued: db.prepare<Record<string, unknown>, TaskRow>(
				`UPDATE tasks SET status = @status, error = @error, finished_at = @now, ready_at = NULL
				 WHERE id = @id AND status = 'queued' RETURNING ${TASK_COLUMNS}`
			),
			makeReady: db.prepare<{ id: string; now: string }>(
				`UPDATE tasks SET ready_at = @now WHERE id = @id AND status = 'queued' AND ready_at IS NULL`
			),
			updateRun: db.prepare<Record<string, unknown>, RunRow>(patchSql('runs', RUN_COLUMNS)),
			setStopping: db.prepare<{ id: string; reason: string }>(
				`UPDATE runs SET stopping = COALESCE(stopping, @reason) WHERE id = @id`
			),
			runningOf: db.prepare<[string], { id: string; node: string | null }>(
				`SELECT id, node FROM tasks WHERE run_id = ? AND status = 'running'`
			),
			holder: db.prepare<[string], { status: Task['status']; node: string | null; run_id: string }>(
				'SELECT status, node, run_id FROM tasks WHERE id = ? AND run_id IS NOT NULL'
			),
			readyTasks: db.prepare<[number], QueueTaskRow>(
				`SELECT ${taskCols}, 1 AS ready, t.spec, t.node, t.attempt FROM tasks t JOIN runs r ON r.id = t.run_id
				 WHERE t.status = 'queued' AND t.ready_at IS NOT NULL AND r.stopping IS NULL
				 ORDER BY t.ready_at, t.ord, t.id LIMIT ?`
			),
			claimOne: db.prepare<{ id: string; node: string }, TaskRow & { attempt: number; retries: number }>(
				`UPDATE tasks SET status = 'running', node = @node, attempt = attempt + 1, ready_at = NULL
				 WHERE id = @id AND status = 'queued' RETURNING ${TASK_COLUMNS}, attempt, retries`
			),
			updateClaimed: db.prepare<Record<string, unknown>, TaskRow>(
				patchSql('tasks', TASK_COLUMNS).replace(
					'WHERE id = @id',
					"WHERE id = @id AND node = @claim_node AND attempt = @claim_attempt AND status = 'running'"
				)
			),
			heldBy: db.prepare<[string], QueueTaskRow & { retries: number; stopping: StopReason | null }>(
				`SELECT ${TASK_COLUMNS}, 0 AS ready, spec, node, attempt, retries, stopping FROM tasks WHERE node = ? AND status = 'running'`
			),
			held: db.prepare<[string], HeldTask>(
				`SELECT t.id, t.attempt, COALESCE(t.stopping, r.stopping) AS stopping
				 FROM tasks t LEFT JOIN runs r ON r.id = t.run_id WHERE t.node = ? AND t.status = 'running'`
			),
			askStop: db.prepare<{ id: string; reason: StopReason }>(
				`UPDATE tasks SET stopping = COALESCE(stopping, @reason) WHERE id = @id AND status = 'running'`
			),
			requeue: db.prepare<{ id: string; message: string; now: string }, TaskRow>(
				`UPDATE tasks SET status = 'queued', node = NULL, lease_until = NULL, ready_at = @now, message = @message
				 WHERE id = @id RETURNING ${TASK_COLUMNS}`
			),
			interrupt: db.prepare<{ id: string; reason: string; now: string }, TaskRow>(
				// a task asked to stop ends as asked (cancelled), with why its tool ended as it did
				`UPDATE tasks SET status = COALESCE(stopping, 'interrupted'), error = @reason, finished_at = @now, lease_until = NULL
				 WHERE id = @id RETURNING ${TASK_COLUMNS}`
			),
			interruptExecutions: db.prepare<{ task_id: string; reason: string; now: string }, ExecutionRow>(
				`UPDATE executions SET status = 'interrupted', error = @reason, finished_at = @now
				 WHERE task_id = @task_id AND status = 'running' RETURNING ${EXECUTION_COLUMNS}`
			)
		});
		const guarded = <A extends unknown[], R>(fn: (...args: A) => R) => {
			const tx = db.transaction(fn);
			return (...args: A): R => {
				assertOpen();
				return tx(...args);
			};
		};

		this.#createRun = guarded((input: NewRun, tasks: NewRunTask[]) => {
			const at = now();
			const run = toRun(
				stmt.insertRun.get({
					id: newId('run'),
					workflow: input.workflow,
					total_weight: input.total_weight,
					now: at
				})!
			);
			const created = tasks.map((task, ord) =>
				toTask(
					stmt.insertTask.get({
						id: newId('task'),
						run_id: run.id,
						key: task.key,
						name: task.name,
						needs: JSON.stringify(task.needs),
						weight: task.weight,
						optional: task.optional ? 1 : 0,
						step_count: task.step_count,
						now: at,
						spec: JSON.stringify(task.spec),
						ord,
						retries: task.retries
					})!
				)
			);
			return { run, tasks: created };
		});

		this.#planRun = guarded((runId: string, planner: RunPlanner): RunPlanResult | null => {
			const row = stmt.openRun.get(runId);
			if (!row) return null;
			const tasks = stmt.runTasks.all(runId).map((t) => ({ task: toTask(t), ready: t.ready === 1 }));
			const plan = planner({ run: toRun(row), stopping: row.stopping, tasks });
			const at = now();
			const ended: Task[] = [];
			for (const end of plan.end) {
				const changed = stmt.endQueued.get({ ...end, now: at });
				if (changed) ended.push(toTask(changed));
			}
			for (const id of plan.ready) stmt.makeReady.run({ id, now: at });
			const progressed = plan.progress
				? toRun(stmt.updateRun.get(patchParams('runs', runId, plan.progress))!)
				: null;
			const finished = plan.finish
				? toRun(stmt.updateRun.get(patchParams('runs', runId, plan.finish))!)
				: null;
			return { ended, progressed, finished };
		});

		this.#stopRun = guarded((runId: string, reason: StopReason) => {
			if (!stmt.openRun.get(runId)) return null;
			stmt.setStopping.run({ id: runId, reason });
			return stmt.runningOf.all(runId);
		});

		this.#claim = guarded((node: string, limit: number) => {
			const claimed: ClaimedTask[] = [];
			for (const row of stmt.readyTasks.all(limit)) {
				const task = stmt.claimOne.get({ id: row.id, node });
				if (!task) continue;
				claimed.push({
					task: toTask(task),
					spec: row.spec === null ? null : JSON.parse(row.spec),
					claim: { node, attempt: task.attempt },
					retries: task.retries
				});
			}
			return claimed;
		});

		this.#release = guarded((node: string, reason: string) => {
			const at = now();
			return stmt.heldBy.all(node).map((row): ReleasedTask => {
				const executions: Execution[] = stmt.interruptExecutions
					.all({ task_id: row.id, reason, now: at })
					.map(toExecution);
				// a task asked to stop whose node died before stopping it is not started again
				const requeued = row.attempt <= row.retries && row.stopping === null;
				const task = requeued
					? stmt.requeue.get({
							id: row.id,
							message: retryMessage(reason, row.attempt, row.retries),
							now: at
						})!
					: stmt.interrupt.get({ id: row.id, reason, now: at })!;
				return { task: toTask(task), executions, requeued, node: row.node };
			});
		});
	}

	async createRun(run: NewRun, tasks: NewRunTask[]) {
		return this.#createRun(run, tasks);
	}

	async planRun(runId: string, planner: RunPlanner) {
		return this.#planRun(runId, planner);
	}

	async stopRun(runId: string, reason: StopReason) {
		return this.#stopRun(runId, reason);
	}

	async stopTask(taskId: string, reason: StopReason): Promise<boolean> {
		if (this.#stmt.askStop.run({ id: taskId, reason }).changes === 0) return false;
		await this.signal({ kind: 'cancel', task_id: taskId, reason });
		return true;
	}

	async cancelQueued(taskId: string, error: string): Promise<Task | null> {
		const row = this.#stmt.endQueued.get({ id: taskId, status: 'cancelled', error, now: now() });
		return row ? toTask(row) : null;
	}

	async holder(taskId: string) {
		return this.#stmt.holder.get(taskId) ?? null;
	}

	async claim(node: string, limit: number): Promise<ClaimedTask[]> {
		if (limit <= 0) return [];
		return this.#claim(node, limit);
	}

	async renew(node: string, _leaseMs: number, tasks: readonly RenewedClaim[]): Promise<HeldTask[]> {
		// no leases to renew (one node); answers for the named tasks alone, as PostgreSQL does
		const named = new Set(tasks.map((task) => `${task.id}:${task.attempt}`));
		return this.#stmt.held.all(node).filter((held) => named.has(`${held.id}:${held.attempt}`));
	}

	async updateClaimed(taskId: string, claim: Claim, patch: TaskPatch): Promise<Task | null> {
		const row = this.#stmt.updateClaimed.get({
			...patchParams('tasks', taskId, patch),
			claim_node: claim.node,
			claim_attempt: claim.attempt
		});
		return row ? toTask(row) : null;
	}

	async release(which: { node: string } | { expired: true }, reason: string): Promise<ReleasedTask[]> {
		// one process holds every lease here: nothing expires while it runs
		if (!('node' in which)) return [];
		return this.#release(which.node, reason);
	}

	async stalledRuns(): Promise<string[]> {
		// one process: a run it could not plan was marked interrupted when it started again
		return [];
	}

	async signal(signal: QueueSignal): Promise<void> {
		// asynchronous like a database notification, so a signal never runs inside its sender
		setImmediate(() => {
			for (const listener of this.#listeners) listener(signal);
		});
	}

	onSignal(listener: (signal: QueueSignal) => void): () => void {
		this.#listeners.add(listener);
		return () => this.#listeners.delete(listener);
	}

	async heartbeat(node: string, url: string | null, figures: unknown): Promise<NodeInfo[]> {
		return [{ id: node, url, started_at: this.#started, seen_at: now(), figures }];
	}

	async leave(): Promise<void> {}
}
