/**
 * @module realtime/run-view
 * Everything /runs/[id] shows: the run and its tasks, loaded over REST and kept live by the
 * run's `task.*` and `workflow.*` events; Cancel, and Re-run (a new run of the same workflow).
 * Subscribes before it loads, and loads again once the hub confirms it, like the task view, so
 * nothing in between is missed.
 */
import { ApiClient } from '$lib/api';
import { isTerminal, type AnyEventEnvelope, type Task, type WorkflowRun } from '$lib/protocol';
import type { RealtimeConnection } from './connection.svelte';
import { handleError, type ErrorHandler } from './handle-error';
import { coalescedLoad, loadFailure, type RecordLoadStatus } from './record-load';
import { mergeById, mergeRecord, mergeStatusEvent, patchRecord } from './records';

export type RunViewStatus = RecordLoadStatus;

export interface RunViewOptions {
	connection: RealtimeConnection;
	runId: string;
	api?: ApiClient;
	onError?: ErrorHandler;
}

export function runSubscription(runId: string): string {
	return `run:${runId}`;
}

export class RunView {
	readonly runId: string;

	#run = $state.raw<WorkflowRun | null>(null);
	/** in workflow-file order (creation order) */
	#tasks = $state.raw<Task[]>([]);
	#status = $state<RunViewStatus>('loading');
	#error = $state<string | null>(null);
	#cancelling = $state(false);
	#rerunning = $state(false);

	readonly #connection: RealtimeConnection;
	readonly #api: ApiClient;
	readonly #onError: ErrorHandler;
	readonly #abort = new AbortController();
	#teardown: (() => void)[] = [];

	constructor(options: RunViewOptions) {
		this.runId = options.runId;
		this.#connection = options.connection;
		this.#api = options.api ?? new ApiClient();
		this.#onError = options.onError ?? handleError;
	}

	get run(): WorkflowRun | null {
		return this.#run;
	}
	get tasks(): Task[] {
		return this.#tasks;
	}
	get status(): RunViewStatus {
		return this.#status;
	}
	get error(): string | null {
		return this.#error;
	}
	get cancelling(): boolean {
		return this.#cancelling;
	}
	get rerunning(): boolean {
		return this.#rerunning;
	}
	get canCancel(): boolean {
		return !!this.#run && !isTerminal(this.#run.status) && !this.#cancelling;
	}
	/** the task that failed by itself (not a dependant it took along), else the first failed one */
	get failingTask(): Task | null {
		const failed = this.#tasks.filter((task) => task.status === 'failed' && !task.optional);
		return failed.find((task) => task.started_at !== null) ?? failed[0] ?? null;
	}

	start(): void {
		if (this.#teardown.length) return;
		this.#teardown.push(
			this.#connection.onEvent((event) => this.apply(event)),
			this.#connection.onReconnected(() => this.load())
		);
		this.#connection.subscribe(
			runSubscription(this.runId),
			{ run_ids: [this.runId], types: ['task.*', 'workflow.*'] },
			{ reload: () => this.load() }
		);
		void this.load();
	}

	destroy(): void {
		for (const off of this.#teardown) off();
		this.#teardown = [];
		this.#connection.unsubscribe(runSubscription(this.runId));
		this.#abort.abort();
	}

	/** Loads the record over REST; concurrent calls share one load and one follow-up. */
	readonly load = coalescedLoad(() => this.#loadOnce());

	async #loadOnce(): Promise<void> {
		try {
			const { run, tasks } = await this.#api.getRun(this.runId, this.#abort.signal);
			this.#run = mergeRecord(this.#run, run);
			this.#setTasks(mergeById(this.#tasks, tasks), tasks);
			this.#status = 'ready';
			this.#error = null;
		} catch (err) {
			if (this.#abort.signal.aborted) return;
			const failure = loadFailure(err);
			this.#status = failure.status;
			this.#error = failure.error;
		}
	}

	/** Applies one event of this run (public for tests; the connection calls it). */
	apply(event: AnyEventEnvelope): void {
		if (!('run_id' in event.data) || event.data.run_id !== this.runId) return;
		switch (event.type) {
			case 'task.created':
			case 'task.status':
			case 'task.completed':
			case 'task.failed': {
				const task = event.data.task;
				const merge = event.type === 'task.status' ? mergeStatusEvent : mergeRecord;
				const known = this.#tasks.some((t) => t.id === task.id);
				this.#setTasks(
					known ? this.#tasks.map((t) => (t.id === task.id ? merge(t, task) : t)) : [...this.#tasks, task]
				);
				return;
			}
			case 'task.progress': {
				const { progress, message } = event.data;
				this.#tasks = patchRecord(this.#tasks, event.data.task_id, (task) =>
					isTerminal(task.status) ? null : { ...task, progress, message }
				);
				return;
			}
			case 'workflow.progress':
			case 'workflow.completed':
			case 'workflow.failed':
				this.#run = mergeRecord(this.#run, event.data.run);
				return;
		}
	}

	async cancel(): Promise<void> {
		if (!this.canCancel) return;
		this.#cancelling = true;
		try {
			const { run } = await this.#api.cancelRun(this.runId);
			this.#run = mergeRecord(this.#run, run);
		} catch (err) {
			this.#onError(err, 'Could not cancel the run');
		} finally {
			this.#cancelling = false;
		}
	}

	/** Starts a new run of the same workflow; returns it (the page opens it), or null after an error. */
	async rerun(): Promise<WorkflowRun | null> {
		if (!this.#run || this.#rerunning) return null;
		this.#rerunning = true;
		try {
			return (await this.#api.startRun(this.#run.workflow)).run;
		} catch (err) {
			this.#onError(err, `Could not start workflow "${this.#run.workflow}"`);
			return null;
		} finally {
			this.#rerunning = false;
		}
	}

	/** keeps the server's order (creation = file order) for known tasks, new ones at the end */
	#setTasks(list: Task[], order: Task[] = this.#tasks): void {
		// eslint-disable-next-line svelte/prefer-svelte-reactivity -- a lookup inside one call, never rendered
		const rank = new Map(order.map((task, i) => [task.id, i]));
		this.#tasks = list
			.map((task, i) => ({ task, i }))
			.sort(
				(a, b) => (rank.get(a.task.id) ?? order.length + a.i) - (rank.get(b.task.id) ?? order.length + b.i)
			)
			.map(({ task }) => task);
	}
}
