/**
 * @module realtime/dashboard
 * The dashboard's live data: workflows, recent runs and recent tasks, loaded over REST and kept
 * current by `task.*` and `workflow.*` events (which carry whole records, so an event is an
 * upsert). The snapshot is reloaded whenever the connection says it may be stale (see
 * `onReconnected`: a `reset`, a `dropped` notice, an unanswered resume), not after a clean
 * `resumed`, whose replay brought every event.
 */
import { SvelteSet } from 'svelte/reactivity';
import { ApiClient } from '$lib/api';
import {
	isTerminal,
	type AnyEventEnvelope,
	type Task,
	type WorkflowLoadError,
	type WorkflowRun,
	type WorkflowSummary
} from '$lib/protocol';
import type { RealtimeConnection } from './connection.svelte';
import { LIST_MAX_RATE } from './connection-types';
import { handleError, type ErrorHandler } from './handle-error';
import { mergeSnapshot, mergeStatusEvent, patchRecord, uniqueById, upsertRecord } from './records';

export const DEFAULT_RUN_LIMIT = 20;
export const DEFAULT_TASK_LIMIT = 50;
/** Progress updates per second per task or run the dashboard asks the hub for (coalesced there). */
export const DASHBOARD_MAX_RATE = LIST_MAX_RATE;
export const DASHBOARD_SUBSCRIPTION = 'dashboard';

export type LoadStatus = 'idle' | 'loading' | 'ready' | 'error';

export interface DashboardOptions {
	connection: RealtimeConnection;
	api?: ApiClient;
	runLimit?: number;
	taskLimit?: number;
	onError?: ErrorHandler;
}

export class DashboardStore {
	#workflows = $state.raw<WorkflowSummary[]>([]);
	#workflowErrors = $state.raw<WorkflowLoadError[]>([]);
	#runs = $state.raw<WorkflowRun[]>([]);
	#tasks = $state.raw<Task[]>([]);
	#status = $state<LoadStatus>('idle');
	#error = $state<string | null>(null);
	readonly #starting = new SvelteSet<string>();
	readonly #cancelling = new SvelteSet<string>();

	readonly #connection: RealtimeConnection;
	readonly #api: ApiClient;
	readonly #runLimit: number;
	readonly #taskLimit: number;
	readonly #onError: ErrorHandler;
	#teardown: (() => void)[] = [];
	#abort: AbortController | null = null;
	#loading: Promise<void> | null = null;
	#reloadAgain = false;
	/** records events delivered while a snapshot was in flight; null when no load runs */
	#touchedRuns: Map<string, WorkflowRun> | null = null;
	#touchedTasks: Map<string, Task> | null = null;

	constructor(options: DashboardOptions) {
		this.#connection = options.connection;
		this.#api = options.api ?? new ApiClient();
		this.#runLimit = options.runLimit ?? DEFAULT_RUN_LIMIT;
		this.#taskLimit = options.taskLimit ?? DEFAULT_TASK_LIMIT;
		this.#onError = options.onError ?? handleError;
	}

	get workflows(): WorkflowSummary[] {
		return this.#workflows;
	}
	/** workflow files that could not be loaded, with the reason */
	get workflowErrors(): WorkflowLoadError[] {
		return this.#workflowErrors;
	}
	/** newest first */
	get runs(): WorkflowRun[] {
		return this.#runs;
	}
	get activeRuns(): WorkflowRun[] {
		return this.#runs.filter((run) => !isTerminal(run.status));
	}
	/** newest first */
	get tasks(): Task[] {
		return this.#tasks;
	}
	get runningTasks(): Task[] {
		return this.#tasks.filter((task) => task.status === 'running');
	}
	get status(): LoadStatus {
		return this.#status;
	}
	get error(): string | null {
		return this.#error;
	}
	isStarting(workflow: string): boolean {
		return this.#starting.has(workflow);
	}
	isCancelling(runId: string): boolean {
		return this.#cancelling.has(runId);
	}

	/** Subscribes, listens and loads the first snapshot. Call from onMount. */
	start(): void {
		if (this.#teardown.length) return;
		this.#abort = new AbortController();
		this.#teardown.push(
			this.#connection.onEvent((event) => this.apply(event)),
			// returned, so the connection indicator says "resyncing" until the reload is in
			this.#connection.onReconnected(() => this.load())
		);
		// a page of many progress bars: at most 4 updates a second per task or run is plenty to watch
		this.#connection.subscribe(
			DASHBOARD_SUBSCRIPTION,
			{ types: ['task.*', 'workflow.*'] },
			{ maxRate: DASHBOARD_MAX_RATE, reload: () => this.load() }
		);
		void this.load();
	}

	destroy(): void {
		for (const off of this.#teardown) off();
		this.#teardown = [];
		this.#connection.unsubscribe(DASHBOARD_SUBSCRIPTION);
		this.#abort?.abort();
	}

	/** Loads a fresh snapshot; concurrent calls share one load and one follow-up. */
	load(): Promise<void> {
		if (this.#loading) {
			this.#reloadAgain = true;
			return this.#loading;
		}
		this.#loading = this.#loadLoop().finally(() => (this.#loading = null));
		return this.#loading;
	}

	async #loadLoop(): Promise<void> {
		do {
			this.#reloadAgain = false;
			await this.#loadOnce();
		} while (this.#reloadAgain);
	}

	async #loadOnce(): Promise<void> {
		const signal = this.#abort?.signal;
		if (this.#status !== 'ready') this.#status = 'loading';
		// eslint-disable-next-line svelte/prefer-svelte-reactivity -- bookkeeping during a load, never rendered
		this.#touchedRuns = new Map();
		// eslint-disable-next-line svelte/prefer-svelte-reactivity -- same
		this.#touchedTasks = new Map();
		try {
			// unfinished records are fetched on their own so an old running task is never capped away
			const [workflows, runs, activeRuns, tasks, runningTasks] = await Promise.all([
				this.#api.listWorkflows(signal),
				this.#api.listRuns({ limit: this.#runLimit }, signal),
				this.#api.listRuns({ status: 'running', limit: 100 }, signal),
				this.#api.listTasks({ limit: this.#taskLimit }, signal),
				this.#api.listTasks({ status: 'running', limit: 100 }, signal)
			]);
			this.#workflows = workflows.workflows;
			this.#workflowErrors = workflows.errors;
			this.#runs = mergeSnapshot(
				uniqueById([...runs.runs, ...activeRuns.runs]),
				this.#touchedRuns,
				this.#runLimit
			);
			this.#tasks = mergeSnapshot(
				uniqueById([...tasks.tasks, ...runningTasks.tasks]),
				this.#touchedTasks,
				this.#taskLimit
			);
			this.#status = 'ready';
			this.#error = null;
		} catch (err) {
			if (signal?.aborted) return;
			this.#status = 'error';
			this.#error = err instanceof Error ? err.message : String(err);
			this.#onError(err, 'Could not load the dashboard');
		} finally {
			this.#touchedRuns = this.#touchedTasks = null;
		}
	}

	/** Applies one event (public for tests; the connection calls it). */
	apply(event: AnyEventEnvelope): void {
		switch (event.type) {
			case 'task.status':
				this.#upsertTask(event.data.task, mergeStatusEvent);
				return;
			case 'task.created':
			case 'task.completed':
			case 'task.failed':
				this.#upsertTask(event.data.task);
				return;
			case 'task.progress': {
				const { progress, message } = event.data;
				this.#tasks = patchRecord(this.#tasks, event.data.task_id, (task) => {
					if (isTerminal(task.status)) return null;
					const next = { ...task, progress, message };
					this.#touchedTasks?.set(next.id, next);
					return next;
				});
				return;
			}
			case 'workflow.progress':
			case 'workflow.completed':
			case 'workflow.failed':
				this.#upsertRun(event.data.run);
				return;
		}
	}

	/** Starts a workflow run; returns it, or null after showing the error. */
	async startRun(workflow: string): Promise<WorkflowRun | null> {
		if (this.#starting.has(workflow)) return null;
		this.#starting.add(workflow);
		try {
			const { run } = await this.#api.startRun(workflow);
			this.#upsertRun(run);
			return run;
		} catch (err) {
			this.#onError(err, `Could not start workflow "${workflow}"`);
			return null;
		} finally {
			this.#starting.delete(workflow);
		}
	}

	async cancelRun(runId: string): Promise<WorkflowRun | null> {
		if (this.#cancelling.has(runId)) return null;
		this.#cancelling.add(runId);
		try {
			const { run } = await this.#api.cancelRun(runId);
			this.#upsertRun(run);
			return run;
		} catch (err) {
			this.#onError(err, 'Could not cancel the run');
			return null;
		} finally {
			this.#cancelling.delete(runId);
		}
	}

	#upsertTask(task: Task, merge?: (current: Task, incoming: Task) => Task): void {
		this.#touchedTasks?.set(task.id, task);
		this.#tasks = upsertRecord(this.#tasks, task, this.#taskLimit, merge);
	}

	#upsertRun(run: WorkflowRun): void {
		this.#touchedRuns?.set(run.id, run);
		this.#runs = upsertRecord(this.#runs, run, this.#runLimit);
	}
}
