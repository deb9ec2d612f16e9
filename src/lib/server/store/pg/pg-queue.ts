/**
 * @module store/pg/pg-queue
 * The task queue (store/queue.ts) on PostgreSQL, shared by every node of a cluster.
 *
 * - Claims take ready tasks with `FOR UPDATE SKIP LOCKED`, so nodes claiming at once never get
 *   the same task and never wait on each other; a run being planned or stopped (its row locked)
 *   is skipped for that moment rather than waited for.
 * - Leases are measured on the database's clock (`now()`), so nodes' clocks need not agree.
 * - Signals are `NOTIFY aco_queue` (sent inside the transaction that makes work ready, so they
 *   arrive after it commits); one dedicated connection per node LISTENs and reconnects with
 *   backoff, and after a reconnect the node is told to look for work, as it may have missed some.
 *   A cancel is stored on the task too (`stopping`), and `renew` reports it: a NOTIFY missed while
 *   reconnecting, or by a connection that died unnoticed, delays a stop by a renewal, no more.
 */
import pg from 'pg';
import type { Execution, Task, WorkflowRun } from '../../../protocol';
import { newId } from '../../ids';
import type { Logger } from '../../logger';
import type {
	Claim,
	ClaimedTask,
	HeldTask,
	NewRunTask,
	NodeInfo,
	QueueSignal,
	ReleasedTask,
	RenewedClaim,
	RunPlanResult,
	RunPlanner,
	StopReason,
	TaskQueue
} from '../queue';
import { PATCHABLE } from '../rows';
import { retryMessage } from '../sqlite-queue';
import type { NewRun, TaskPatch } from '../types';
import { KEEP_ALIVE_DELAY_MS, TYPES, classify, type PgDb, type Queryable } from './pg-db';
import {
	EXECUTION_COLUMNS,
	RUN_COLUMNS,
	TASK_COLUMNS,
	patchSet,
	toExecution,
	toRun,
	toTask,
	type ExecutionRow,
	type RunRow,
	type TaskRow
} from './pg-rows';

export const CHANNEL = 'aco_queue';
const RECONNECT_MIN_MS = 250;
const RECONNECT_MAX_MS = 5_000;

const T_COLUMNS = TASK_COLUMNS.replace(/(\w+)/g, 't.$1');
const now = () => new Date().toISOString();

export class PgQueue implements TaskQueue {
	readonly shared = true;
	#db: PgDb;
	#log: Logger;
	#listeners = new Set<(signal: QueueSignal) => void>();
	#listener: pg.Client | null = null;
	#reconnectTimer: NodeJS.Timeout | null = null;
	#reconnectDelay = RECONNECT_MIN_MS;
	#closed = false;
	#started = now();

	constructor(db: PgDb, logger: Logger) {
		this.#db = db;
		this.#log = logger.child({ part: 'queue' });
	}

	async createRun(input: NewRun, tasks: NewRunTask[]): Promise<{ run: WorkflowRun; tasks: Task[] }> {
		return this.#db.tx(async (client) => {
			const at = now();
			const run = toRun(
				(
					await client.query<RunRow>(
						`INSERT INTO runs (id, workflow, status, progress, total_weight, finished_weight, created_at, started_at)
						 VALUES ($1, $2, 'running', 0, $3, 0, $4, $4) RETURNING ${RUN_COLUMNS}`,
						[newId('run'), input.workflow, input.total_weight, at]
					)
				).rows[0]
			);
			const created: Task[] = [];
			for (const [ord, task] of tasks.entries()) {
				const { rows } = await client.query<TaskRow>(
					`INSERT INTO tasks (id, run_id, key, name, status, progress, needs, weight, optional, step_count, created_at, spec, ord, retries)
					 VALUES ($1, $2, $3, $4, 'queued', 0, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING ${TASK_COLUMNS}`,
					[
						newId('task'),
						run.id,
						task.key,
						task.name,
						JSON.stringify(task.needs),
						task.weight,
						task.optional,
						task.step_count,
						at,
						JSON.stringify(task.spec),
						ord,
						task.retries
					]
				);
				created.push(toTask(rows[0]));
			}
			return { run, tasks: created };
		});
	}

	async planRun(runId: string, planner: RunPlanner): Promise<RunPlanResult | null> {
		return this.#db.tx(async (client) => {
			const head = (
				await client.query<RunRow & { stopping: StopReason | null }>(
					`SELECT ${RUN_COLUMNS}, stopping FROM runs WHERE id = $1 AND status IN ('queued', 'running') FOR UPDATE`,
					[runId]
				)
			).rows[0];
			if (!head) return null;
			const rows = (
				await client.query<TaskRow & { ready: boolean }>(
					`SELECT ${TASK_COLUMNS}, ready_at IS NOT NULL AS ready FROM tasks WHERE run_id = $1 ORDER BY ord, created_at, id`,
					[runId]
				)
			).rows;
			const plan = planner({
				run: toRun(head),
				stopping: head.stopping,
				tasks: rows.map((row) => ({ task: toTask(row), ready: row.ready }))
			});
			const at = now();
			const ended: Task[] = [];
			for (const end of plan.end) {
				const { rows: changed } = await client.query<TaskRow>(
					`UPDATE tasks SET status = $2, error = $3, finished_at = $4, ready_at = NULL
					 WHERE id = $1 AND status = 'queued' RETURNING ${TASK_COLUMNS}`,
					[end.id, end.status, end.error, at]
				);
				if (changed[0]) ended.push(toTask(changed[0]));
			}
			if (plan.ready.length) {
				const made = await client.query(
					`UPDATE tasks SET ready_at = $2 WHERE id = ANY($1::text[]) AND status = 'queued' AND ready_at IS NULL`,
					[plan.ready, at]
				);
				if (made.rowCount) await notify(client, { kind: 'work' });
			}
			const patchRun = async (patch: object) => {
				const change = patchSet(PATCHABLE.runs, patch)!;
				return toRun(
					(
						await client.query<RunRow>(
							`UPDATE runs SET ${change.set} WHERE id = $1 RETURNING ${RUN_COLUMNS}`,
							[runId, ...change.values]
						)
					).rows[0]
				);
			};
			const progressed = plan.progress ? await patchRun(plan.progress) : null;
			const finished = plan.finish ? await patchRun(plan.finish) : null;
			return { ended, progressed, finished };
		});
	}

	async stopRun(runId: string, reason: StopReason): Promise<{ id: string; node: string | null }[] | null> {
		return this.#db.tx(async (client) => {
			const open = await client.query(
				`UPDATE runs SET stopping = COALESCE(stopping, $2) WHERE id = $1 AND status IN ('queued', 'running') RETURNING id`,
				[runId, reason]
			);
			if (!open.rowCount) return null;
			return (
				await client.query<{ id: string; node: string | null }>(
					`SELECT id, node FROM tasks WHERE run_id = $1 AND status = 'running'`,
					[runId]
				)
			).rows;
		});
	}

	async stopTask(taskId: string, reason: StopReason): Promise<boolean> {
		return this.#db.tx(async (client) => {
			const asked = await client.query(
				`UPDATE tasks SET stopping = COALESCE(stopping, $2) WHERE id = $1 AND status = 'running' RETURNING id`,
				[taskId, reason]
			);
			if (!asked.rowCount) return false;
			await notify(client, { kind: 'cancel', task_id: taskId, reason });
			return true;
		});
	}

	async cancelQueued(taskId: string, error: string): Promise<Task | null> {
		const [row] = await this.#db.query<TaskRow>(
			`UPDATE tasks SET status = 'cancelled', error = $2, finished_at = $3, ready_at = NULL
			 WHERE id = $1 AND status = 'queued' AND run_id IS NOT NULL RETURNING ${TASK_COLUMNS}`,
			[taskId, error, now()]
		);
		return row ? toTask(row) : null;
	}

	async holder(taskId: string) {
		const [row] = await this.#db.query<{ status: Task['status']; node: string | null; run_id: string }>(
			'SELECT status, node, run_id FROM tasks WHERE id = $1 AND run_id IS NOT NULL',
			[taskId]
		);
		return row ?? null;
	}

	async claim(node: string, limit: number, leaseMs: number | null): Promise<ClaimedTask[]> {
		if (limit <= 0) return [];
		const rows = await this.#db.query<
			TaskRow & { spec: unknown; attempt: number; retries: number; ready_at: string; ord: number }
		>(
			`WITH picked AS (
				SELECT t.id, t.ready_at, t.ord FROM tasks t JOIN runs r ON r.id = t.run_id
				WHERE t.status = 'queued' AND t.ready_at IS NOT NULL AND r.stopping IS NULL AND r.status = 'running'
				ORDER BY t.ready_at, t.ord, t.id
				LIMIT $2
				FOR UPDATE OF t SKIP LOCKED FOR SHARE OF r SKIP LOCKED
			)
			UPDATE tasks t SET status = 'running', node = $1, attempt = t.attempt + 1, ready_at = NULL,
				lease_until = CASE WHEN $3::int IS NULL THEN NULL ELSE now() + $3::int * interval '1 millisecond' END
			FROM picked WHERE t.id = picked.id
			RETURNING ${T_COLUMNS}, t.spec, t.attempt, t.retries, picked.ready_at, picked.ord`,
			[node, limit, leaseMs]
		);
		return rows
			.sort((a, b) => a.ready_at.localeCompare(b.ready_at) || a.ord - b.ord)
			.map((row) => ({
				task: toTask(row),
				spec: row.spec,
				claim: { node, attempt: row.attempt },
				retries: row.retries
			}));
	}

	async renew(
		node: string,
		leaseMs: number,
		tasks: readonly RenewedClaim[],
		{ timeoutMs }: { timeoutMs?: number } = {}
	): Promise<HeldTask[]> {
		if (tasks.length === 0) return [];
		return this.#db.query<HeldTask>(
			`UPDATE tasks t SET lease_until = now() + $2::int * interval '1 millisecond'
			 FROM unnest($3::text[], $4::int[]) AS runs_here(id, attempt)
			 WHERE t.id = runs_here.id AND t.attempt = runs_here.attempt AND t.node = $1 AND t.status = 'running'
			 RETURNING t.id, t.attempt, COALESCE(t.stopping, (SELECT r.stopping FROM runs r WHERE r.id = t.run_id)) AS stopping`,
			[node, leaseMs, tasks.map((task) => task.id), tasks.map((task) => task.attempt)],
			{ timeoutMs }
		);
	}

	async updateClaimed(taskId: string, claim: Claim, patch: TaskPatch): Promise<Task | null> {
		const change = patchSet(PATCHABLE.tasks, patch, 4);
		const [row] = change
			? await this.#db.query<TaskRow>(
					`UPDATE tasks SET ${change.set} WHERE id = $1 AND node = $2 AND attempt = $3 AND status = 'running'
					 RETURNING ${TASK_COLUMNS}`,
					[taskId, claim.node, claim.attempt, ...change.values]
				)
			: await this.#db.query<TaskRow>(
					`SELECT ${TASK_COLUMNS} FROM tasks WHERE id = $1 AND node = $2 AND attempt = $3 AND status = 'running'`,
					[taskId, claim.node, claim.attempt]
				);
		return row ? toTask(row) : null;
	}

	async release(which: { node: string } | { expired: true }, reason: string): Promise<ReleasedTask[]> {
		return this.#db.tx(async (client) => {
			const held = (
				await client.query<{
					id: string;
					node: string | null;
					attempt: number;
					retries: number;
					stopping: StopReason | null;
				}>(
					'node' in which
						? `SELECT id, node, attempt, retries, stopping FROM tasks WHERE status = 'running' AND node = $1 FOR UPDATE SKIP LOCKED`
						: `SELECT id, node, attempt, retries, stopping FROM tasks WHERE status = 'running' AND lease_until < now() FOR UPDATE SKIP LOCKED`,
					'node' in which ? [which.node] : []
				)
			).rows;
			const at = now();
			const released: ReleasedTask[] = [];
			for (const row of held) {
				const executions: Execution[] = (
					await client.query<ExecutionRow>(
						`UPDATE executions SET status = 'interrupted', error = $2, finished_at = $3
						 WHERE task_id = $1 AND status = 'running' RETURNING ${EXECUTION_COLUMNS}`,
						[row.id, reason, at]
					)
				).rows.map(toExecution);
				// a task asked to stop whose node died before stopping it is not started again
				const requeued = row.attempt <= row.retries && row.stopping === null;
				const { rows } = requeued
					? await client.query<TaskRow>(
							`UPDATE tasks SET status = 'queued', node = NULL, lease_until = NULL, ready_at = $2, message = $3
							 WHERE id = $1 RETURNING ${TASK_COLUMNS}`,
							[row.id, at, retryMessage(reason, row.attempt, row.retries)]
						)
					: await client.query<TaskRow>(
							// a task asked to stop ends as asked (cancelled), with why its tool ended as it did
							`UPDATE tasks SET status = COALESCE(stopping, 'interrupted'), error = $2, finished_at = $3, lease_until = NULL
							 WHERE id = $1 RETURNING ${TASK_COLUMNS}`,
							[row.id, reason, at]
						);
				released.push({ task: toTask(rows[0]), executions, requeued, node: row.node });
			}
			if (released.some((r) => r.requeued)) await notify(client, { kind: 'work' });
			return released;
		});
	}

	async stalledRuns(ageMs: number): Promise<string[]> {
		const rows = await this.#db.query<{ id: string }>(
			`SELECT r.id FROM runs r
			 WHERE r.status IN ('queued', 'running') AND r.created_at < now() - $1::int * interval '1 millisecond'
			 AND NOT EXISTS (
				SELECT 1 FROM tasks t WHERE t.run_id = r.id
				AND (t.status = 'running' OR (t.status = 'queued' AND t.ready_at IS NOT NULL))
			 )
			 LIMIT 20`,
			[ageMs]
		);
		return rows.map((row) => row.id);
	}

	async signal(signal: QueueSignal): Promise<void> {
		await notify(this.#db.pool, signal).catch((err) => {
			throw classify(err);
		});
	}

	onSignal(listener: (signal: QueueSignal) => void): () => void {
		this.#listeners.add(listener);
		if (!this.#listener && !this.#reconnectTimer) void this.#listen();
		return () => this.#listeners.delete(listener);
	}

	async heartbeat(node: string, url: string | null, figures: unknown, aliveMs: number): Promise<NodeInfo[]> {
		await this.#db.query(
			`INSERT INTO aco_nodes (id, url, started_at, seen_at, figures) VALUES ($1, $2, $3, now(), $4)
			 ON CONFLICT (id) DO UPDATE SET url = EXCLUDED.url, seen_at = now(), figures = EXCLUDED.figures`,
			[node, url, this.#started, JSON.stringify(figures ?? null)]
		);
		return this.#db.query<NodeInfo>(
			`SELECT id, url, started_at, seen_at, figures FROM aco_nodes
			 WHERE seen_at > now() - $1::int * interval '1 millisecond' ORDER BY id`,
			[aliveMs]
		);
	}

	async leave(node: string): Promise<void> {
		await this.#db.query('DELETE FROM aco_nodes WHERE id = $1', [node]);
	}

	async #listen(): Promise<void> {
		if (this.#closed) return;
		const client = new pg.Client({
			connectionString: this.#db.url,
			types: TYPES,
			application_name: 'aco-listen',
			// an idle LISTEN connection sends nothing: without keepalives a NAT or firewall that
			// drops it goes unnoticed, and every signal after is lost. Probes start as the pool's do
			// (the system's default waits two hours), and a connect that gets no answer fails as the
			// pool's does, so the reconnect loop goes on rather than hanging on it
			keepAlive: true,
			keepAliveInitialDelayMillis: KEEP_ALIVE_DELAY_MS,
			connectionTimeoutMillis: this.#db.connectTimeoutMs
		});
		const lost = (err?: Error) => {
			if (this.#listener !== client) return;
			this.#listener = null;
			client.removeAllListeners('notification');
			void client.end().catch(() => {});
			if (this.#closed) return;
			this.#log.warn(
				{ err: err?.message, retry_in_ms: this.#reconnectDelay },
				'lost the queue signal connection; reconnecting'
			);
			this.#scheduleReconnect();
		};
		client.on('error', (err) => lost(err));
		client.on('end', () => lost());
		client.on('notification', (message) => {
			if (message.channel !== CHANNEL || !message.payload) return;
			let signal: QueueSignal;
			try {
				signal = JSON.parse(message.payload) as QueueSignal;
			} catch {
				return;
			}
			this.#emit(signal);
		});
		this.#listener = client;
		try {
			await client.connect();
			await client.query(`LISTEN ${CHANNEL}`);
		} catch (err) {
			lost(err as Error);
			return;
		}
		if (this.#reconnectDelay > RECONNECT_MIN_MS) {
			this.#log.info('queue signal connection restored');
			// notifications sent meanwhile are lost: look for work now
			this.#emit({ kind: 'work' });
		}
		this.#reconnectDelay = RECONNECT_MIN_MS;
	}

	#scheduleReconnect(): void {
		if (this.#reconnectTimer || this.#closed) return;
		const delay = this.#reconnectDelay;
		this.#reconnectDelay = Math.min(RECONNECT_MAX_MS, delay * 2);
		this.#reconnectTimer = setTimeout(() => {
			this.#reconnectTimer = null;
			void this.#listen();
		}, delay);
		this.#reconnectTimer.unref();
	}

	#emit(signal: QueueSignal): void {
		for (const listener of this.#listeners) {
			try {
				listener(signal);
			} catch (err) {
				this.#log.error({ err }, 'a queue signal listener failed');
			}
		}
	}

	async close(): Promise<void> {
		this.#closed = true;
		if (this.#reconnectTimer) clearTimeout(this.#reconnectTimer);
		this.#reconnectTimer = null;
		const client = this.#listener;
		this.#listener = null;
		await client?.end().catch(() => {});
		this.#listeners.clear();
	}
}

async function notify(db: Queryable, signal: QueueSignal): Promise<void> {
	await db.query('SELECT pg_notify($1, $2)', [CHANNEL, JSON.stringify(signal)]);
}
