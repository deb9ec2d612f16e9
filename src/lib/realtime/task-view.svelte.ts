/**
 * @module realtime/task-view
 * Everything /tasks/[id] shows: the task, its executions and one {@link ExecutionLog} per
 * execution, loaded over REST and kept live by the task's `task.*` and `tool.*` events.
 * It subscribes before it loads anything, and loads again once the hub confirms the subscription:
 * the hub may take it after the first load was read (the socket was not up yet, or another tab's
 * socket sends it a little later), and what happened in between would never come live.
 */
import { ApiClient } from '$lib/api';
import {
	fromOutputLine,
	isTerminal,
	type AnyEventEnvelope,
	type Execution,
	type Task,
	type TaskDetail
} from '$lib/protocol';
import type { RealtimeConnection } from './connection.svelte';
import { DEFAULT_MAX_LINES, ExecutionLog } from './execution-log.svelte';
import { handleError, type ErrorHandler } from './handle-error';
import { coalescedLoad, loadFailure, type RecordLoadStatus } from './record-load';
import { mergeById, mergeRecord, mergeStatusEvent } from './records';

export type TaskViewStatus = RecordLoadStatus;

export interface TaskViewOptions {
	connection: RealtimeConnection;
	taskId: string;
	api?: ApiClient;
	/** lines kept per execution */
	maxLines?: number;
	onError?: ErrorHandler;
}

export function taskSubscription(taskId: string): string {
	return `task:${taskId}`;
}

function byStep(a: Execution, b: Execution): number {
	return a.step - b.step || (a.started_at < b.started_at ? -1 : a.started_at > b.started_at ? 1 : 0);
}

export class TaskView {
	readonly taskId: string;

	#task = $state.raw<Task | null>(null);
	#executions = $state.raw<Execution[]>([]);
	#status = $state<TaskViewStatus>('loading');
	#error = $state<string | null>(null);
	#cancelling = $state(false);

	readonly #connection: RealtimeConnection;
	readonly #api: ApiClient;
	readonly #maxLines: number;
	readonly #onError: ErrorHandler;
	// not reactive on purpose: a log is always created before the execution list that renders it
	// eslint-disable-next-line svelte/prefer-svelte-reactivity
	readonly #logs = new Map<string, ExecutionLog>();
	readonly #abort = new AbortController();
	#teardown: (() => void)[] = [];

	constructor(options: TaskViewOptions) {
		this.taskId = options.taskId;
		this.#connection = options.connection;
		this.#api = options.api ?? new ApiClient();
		this.#maxLines = options.maxLines ?? DEFAULT_MAX_LINES;
		this.#onError = options.onError ?? handleError;
	}

	get task(): Task | null {
		return this.#task;
	}
	/** in step order */
	get executions(): Execution[] {
		return this.#executions;
	}
	get status(): TaskViewStatus {
		return this.#status;
	}
	get error(): string | null {
		return this.#error;
	}
	get cancelling(): boolean {
		return this.#cancelling;
	}
	get canCancel(): boolean {
		return !!this.#task && !isTerminal(this.#task.status) && !this.#cancelling;
	}
	/** the newest execution still running, else the newest one */
	get focusExecution(): Execution | null {
		const list = this.#executions;
		for (let i = list.length - 1; i >= 0; i--) if (list[i].status === 'running') return list[i];
		return list.at(-1) ?? null;
	}

	/** The log of an execution (created on first use; it loads when opened). */
	logFor(executionId: string): ExecutionLog {
		let log = this.#logs.get(executionId);
		if (!log) {
			log = new ExecutionLog(executionId, { api: this.#api, maxLines: this.#maxLines });
			this.#logs.set(executionId, log);
		}
		return log;
	}

	/** Subscribes to the task's events, then loads it. Call from onMount / an effect. */
	start(): void {
		if (this.#teardown.length) return;
		this.#teardown.push(
			this.#connection.onEvent((event) => this.apply(event)),
			// a reset, an unanswered resume, or a `dropped` notice (output lines or a status may
			// be missing): reload the task and fetch each open log's missing lines
			this.#connection.onReconnected(() => this.#resync())
		);
		// the reload asks only for lines past those the page holds: after a resume that brought
		// them, it fetches none
		this.#connection.subscribe(
			taskSubscription(this.taskId),
			{ task_ids: [this.taskId] },
			{ reload: () => this.load() }
		);
		void this.load();
	}

	destroy(): void {
		for (const off of this.#teardown) off();
		this.#teardown = [];
		this.#connection.unsubscribe(taskSubscription(this.taskId));
		this.#abort.abort();
		for (const log of this.#logs.values()) log.destroy();
	}

	/** Loads the task with its executions; concurrent calls share one load and one follow-up. */
	readonly load = coalescedLoad(() => this.#loadOnce());

	async #loadOnce(): Promise<void> {
		try {
			const { task } = await this.#api.getTask(this.taskId, this.#abort.signal);
			this.#applyDetail(task);
			this.#status = 'ready';
			this.#error = null;
		} catch (err) {
			if (this.#abort.signal.aborted) return;
			const failure = loadFailure(err);
			this.#status = failure.status;
			this.#error = failure.error;
		}
	}

	async cancel(): Promise<void> {
		if (!this.canCancel) return;
		this.#cancelling = true;
		try {
			const { task } = await this.#api.cancelTask(this.taskId);
			this.#applyDetail(task);
		} catch (err) {
			this.#onError(err, 'Could not cancel the task');
		} finally {
			this.#cancelling = false;
		}
	}

	/** Applies one event if it belongs to this task (public for tests; the connection calls it). */
	apply(event: AnyEventEnvelope): void {
		if (!('task_id' in event.data) || event.data.task_id !== this.taskId) return;
		switch (event.type) {
			case 'task.status':
				this.#task = mergeStatusEvent(this.#task, event.data.task);
				return;
			case 'task.created':
			case 'task.completed':
			case 'task.failed':
				this.#task = mergeRecord(this.#task, event.data.task);
				return;
			case 'task.progress':
				if (this.#task && !isTerminal(this.#task.status)) {
					this.#task = { ...this.#task, progress: event.data.progress, message: event.data.message };
				}
				return;
			case 'tool.started':
			case 'tool.completed':
			case 'tool.failed':
				this.#upsertExecution(event.data.execution);
				return;
			case 'tool.lines': {
				const { execution_id, lines } = event.data;
				this.logFor(execution_id).pushLines(lines.map(fromOutputLine));
				// output of an execution this page never heard start: fetch its record
				if (!this.#executions.some((e) => e.id === execution_id)) void this.load();
				return;
			}
		}
	}

	#applyDetail(detail: TaskDetail): void {
		const { executions, ...task } = detail;
		this.#task = mergeRecord(this.#task, task);
		this.#setExecutions(mergeById(this.#executions, executions));
	}

	#upsertExecution(execution: Execution): void {
		const others = this.#executions.filter((e) => e.id !== execution.id);
		const current = this.#executions.find((e) => e.id === execution.id);
		this.#setExecutions([...others, mergeRecord(current, execution)]);
	}

	#setExecutions(list: Execution[]): void {
		// logs exist before the list that renders them, so a template reading logFor() creates none
		for (const execution of list) this.logFor(execution.id).noteLineCount(execution.line_count);
		this.#executions = list.sort(byStep);
	}

	#resync(): Promise<void> {
		for (const log of this.#logs.values()) log.resync();
		return this.load();
	}
}
