/**
 * @module ingest/service
 * Applies what producers report (REST or WebSocket) to stand-alone tasks through the same
 * records and events the workflow runner uses: stored first, then published on the bus, so a
 * subscriber or a download never sees a line the store does not hold. Requests for one task
 * apply one at a time, in arrival order; everything is recomputed from the store, so nothing
 * is lost across a restart and a resent batch stores nothing twice.
 */
import type {
	CreateTaskRequest,
	Execution,
	IngestEvent,
	IngestEventsResponse,
	IngestTaskResponse,
	LogLine,
	Task
} from '../../protocol';
import { createTaskSchema, isTerminal } from '../../protocol';
import type { EventBus } from '../bus/types';
import type { Logger } from '../logger';
import {
	publish,
	taskChanged,
	taskCreated,
	taskProgress,
	toolEnded,
	toolStarted
} from '../orchestrator/emit';
import { parseWorkflowCommand } from '../orchestrator/workflow-commands';
import type { Store, TaskPatch } from '../store/types';
import { IngestError } from './ingest-error';

export interface IngestServiceOptions {
	store: Store;
	bus: EventBus;
	logger: Logger;
}

type Counts = Omit<IngestEventsResponse, 'task' | 'line_counts'>;

/** The mutable state of one request being applied. */
interface Batch {
	task: Task;
	executions: Map<number, Execution>;
	counts: Counts;
	/** progress and message from `progress` events and `::progress` lines, written once */
	pending: Pick<TaskPatch, 'progress' | 'message'> | null;
}

export class IngestService {
	#options: IngestServiceOptions;
	/** the tail of each task's (or key's) queue of requests */
	#queues = new Map<string, Promise<unknown>>();

	constructor(options: IngestServiceOptions) {
		this.#options = options;
	}

	/** Creates a stand-alone task, or returns the one an earlier request with the same key created. */
	createTask(input: CreateTaskRequest, idempotencyKey?: string | null): Promise<IngestTaskResponse> {
		const request = createTaskSchema.parse(input);
		const key = idempotencyKey ?? request.idempotency_key ?? null;
		const create = async (): Promise<IngestTaskResponse> => {
			const { store, bus } = this.#options;
			const record = {
				run_id: null,
				key: request.key ?? request.name,
				name: request.name,
				needs: [],
				weight: 1,
				optional: false,
				step_count: 0
			};
			// the key is stored in the task's own transaction: a crash cannot keep one without the other
			const created =
				key === null
					? { task: await store.createTask(record), existing: false }
					: await store.createTaskOnce(key, record);
			if (created.existing) return created;
			let task = created.task;
			taskCreated(bus, task);
			const patch: TaskPatch = {};
			if (request.progress !== undefined) patch.progress = request.progress;
			if (request.message !== undefined) patch.message = request.message;
			if (request.status === 'running') {
				task = await store.updateTask(task.id, { ...patch, status: 'running', started_at: now() });
				taskChanged(bus, task);
			} else if (Object.keys(patch).length > 0) {
				task = await store.updateTask(task.id, patch);
				taskProgress(bus, task);
			}
			return { task, existing: false };
		};
		return key === null ? create() : this.#serial(`key:${key}`, create);
	}

	/** Applies events in order; an event that cannot apply throws, after the ones before it applied. */
	applyEvents(taskId: string, events: IngestEvent[]): Promise<IngestEventsResponse> {
		return this.#serial(`task:${taskId}`, async () => {
			const { store } = this.#options;
			const task = await store.getTask(taskId);
			if (!task) {
				throw new IngestError(
					404,
					'not_found',
					`No task with id "${taskId}". Create it with POST /api/v1/tasks.`
				);
			}
			if (task.run_id !== null) {
				throw new IngestError(
					409,
					'not_standalone',
					`Task "${taskId}" belongs to workflow run "${task.run_id}"; only stand-alone tasks accept events.`
				);
			}
			const executions = new Map((await store.listExecutions(taskId)).map((e) => [e.step, e]));
			const batch: Batch = {
				task,
				executions,
				counts: { applied: 0, duplicates: 0, ignored: 0 },
				pending: null
			};
			try {
				// the server restarted under a live producer: hearing from it again means it runs on
				if (task.status === 'interrupted') await this.#start(batch, false);
				for (const [index, event] of events.entries()) await this.#apply(batch, event, `events.${index}`);
			} finally {
				await this.#writeProgress(batch);
			}
			const line_counts: Record<string, number> = {};
			for (const [step, execution] of batch.executions) line_counts[step] = execution.line_count;
			return { task: batch.task, ...batch.counts, line_counts };
		});
	}

	async #apply(batch: Batch, event: IngestEvent, at: string): Promise<void> {
		switch (event.type) {
			case 'status':
				if (event.status === 'running') return this.#start(batch);
				await this.#writeProgress(batch);
				return this.#finish(batch, event.status, event.message, event.error);
			case 'progress':
				if (isTerminal(batch.task.status)) {
					batch.counts.ignored++;
					return;
				}
				batch.pending = {
					...batch.pending,
					...(event.progress !== undefined ? { progress: event.progress } : {}),
					...(event.message !== undefined ? { message: event.message } : {})
				};
				batch.counts.applied++;
				return;
			case 'tool.start':
				return this.#toolStart(batch, event);
			case 'output':
				return this.#output(batch, event, at);
			case 'tool.end':
				return this.#toolEnd(batch, event, at);
		}
	}

	/** queued → running; an interrupted task (the server restarted under a live producer) resumes */
	async #start(batch: Batch, counted = true): Promise<void> {
		const { task } = batch;
		if (task.status !== 'queued' && task.status !== 'interrupted') {
			if (counted) batch.counts.ignored++;
			return;
		}
		const patch: TaskPatch =
			task.status === 'queued'
				? { status: 'running', started_at: now() }
				: { status: 'running', finished_at: null, duration_ms: null, error: null };
		batch.task = await this.#options.store.updateTask(task.id, patch);
		taskChanged(this.#options.bus, batch.task);
		if (counted) batch.counts.applied++;
	}

	async #finish(
		batch: Batch,
		status: 'succeeded' | 'failed' | 'cancelled',
		message: string | null | undefined,
		error: string | null | undefined
	): Promise<void> {
		const { store, bus } = this.#options;
		const { task } = batch;
		if (isTerminal(task.status)) {
			batch.counts.ignored++;
			return;
		}
		const finished = new Date();
		const startedAt = task.started_at ?? task.created_at;
		// a tool still open when its task ends would show as running for ever
		for (const execution of batch.executions.values()) {
			if (execution.status !== 'running') continue;
			const closed = await store.updateExecution(execution.id, {
				status: 'interrupted',
				finished_at: finished.toISOString(),
				duration_ms: finished.getTime() - Date.parse(execution.started_at),
				error: 'the task ended before this tool reported its end'
			});
			batch.executions.set(closed.step, closed);
			toolEnded(bus, task, closed);
		}
		batch.task = await store.updateTask(task.id, {
			status,
			started_at: startedAt,
			finished_at: finished.toISOString(),
			duration_ms: finished.getTime() - Date.parse(startedAt),
			error: status === 'failed' ? (error ?? message ?? 'the producer reported a failure') : (error ?? null),
			...(message !== undefined ? { message } : {}),
			...(status === 'succeeded' ? { progress: 100 } : {})
		});
		taskChanged(bus, batch.task);
		batch.counts.applied++;
	}

	async #toolStart(batch: Batch, event: Extract<IngestEvent, { type: 'tool.start' }>): Promise<void> {
		const { store, bus } = this.#options;
		if (batch.executions.has(event.step) || isTerminal(batch.task.status)) {
			batch.counts.ignored++;
			return;
		}
		await this.#start(batch, false);
		const execution = await store.createExecution({
			task_id: batch.task.id,
			step: event.step,
			name: event.name,
			command: event.command,
			args: event.args,
			cwd: event.cwd
		});
		batch.executions.set(event.step, execution);
		if (batch.task.step_count <= event.step) {
			batch.task = await store.updateTask(batch.task.id, { step_count: event.step + 1 });
		}
		toolStarted(bus, batch.task, execution);
		batch.counts.applied++;
	}

	async #output(batch: Batch, event: Extract<IngestEvent, { type: 'output' }>, at: string): Promise<void> {
		let execution = this.#execution(batch, event.step, at);
		let count = execution.line_count;
		const accepted: LogLine[] = [];
		for (const [index, line] of event.lines.entries()) {
			const n = line.n ?? count + 1;
			if (n <= count) {
				batch.counts.duplicates++;
				continue;
			}
			if (n !== count + 1) {
				await this.#store(batch, execution, accepted);
				throw new IngestError(
					409,
					'line_gap',
					`${at}.lines.${index}.n: step ${event.step} has lines 1–${count} stored, so the next line is ${count + 1}, not ${n}. Resend the missing lines first.`
				);
			}
			accepted.push({
				n,
				stream: line.stream,
				ts: line.ts ?? now(),
				text: line.text,
				...(line.partial ? { partial: true as const } : {})
			});
			count = n;
		}
		execution = await this.#store(batch, execution, accepted);
		if (accepted.length > 0) batch.counts.applied++;
		else batch.counts.ignored++;
		if (isTerminal(batch.task.status)) return;
		for (const line of accepted) {
			// as in the runner's pipeline: a line still being written is no command yet
			if (line.partial) continue;
			const command = parseWorkflowCommand(line.text);
			if (command?.kind !== 'progress') continue;
			batch.pending = {
				...batch.pending,
				progress: command.value,
				...(command.message !== null ? { message: command.message } : {})
			};
		}
	}

	/** stores lines, then streams them, and returns the execution with its new line count */
	async #store(batch: Batch, execution: Execution, lines: LogLine[]): Promise<Execution> {
		if (lines.length === 0) return execution;
		const { store, bus } = this.#options;
		await store.appendLogLines(execution.id, lines);
		const updated: Execution = { ...execution, line_count: lines[lines.length - 1].n };
		batch.executions.set(updated.step, updated);
		const ref = { task_id: batch.task.id, run_id: null, execution_id: execution.id };
		for (const line of lines) {
			publish(bus, 'tool.output', {
				...ref,
				line: line.n,
				output: line.text,
				is_stderr: line.stream === 'stderr',
				timestamp: line.ts,
				...(line.partial ? { partial: true as const } : {})
			});
		}
		return updated;
	}

	async #toolEnd(batch: Batch, event: Extract<IngestEvent, { type: 'tool.end' }>, at: string): Promise<void> {
		const { store, bus } = this.#options;
		const execution = this.#execution(batch, event.step, at);
		if (execution.status !== 'running' && execution.status !== 'interrupted') {
			batch.counts.ignored++;
			return;
		}
		const status = event.status ?? (event.exit_code === 0 && event.signal === null ? 'succeeded' : 'failed');
		const finished = new Date();
		const reason =
			event.signal !== null
				? `killed by ${event.signal}`
				: event.exit_code !== null
					? `exited with code ${event.exit_code}`
					: 'the tool failed';
		const ended = await store.updateExecution(execution.id, {
			status,
			exit_code: event.exit_code,
			signal: event.signal,
			finished_at: finished.toISOString(),
			duration_ms: finished.getTime() - Date.parse(execution.started_at),
			error: event.error ?? (status === 'failed' ? reason : null)
		});
		batch.executions.set(ended.step, ended);
		toolEnded(bus, batch.task, ended);
		batch.counts.applied++;
	}

	#execution(batch: Batch, step: number, at: string): Execution {
		const execution = batch.executions.get(step);
		if (execution) return execution;
		throw new IngestError(
			400,
			'unknown_step',
			`${at}.step: task "${batch.task.id}" has no tool with step ${step}; send a "tool.start" event for it first.`
		);
	}

	async #writeProgress(batch: Batch): Promise<void> {
		const patch = batch.pending;
		if (!patch) return;
		batch.pending = null;
		batch.task = await this.#options.store.updateTask(batch.task.id, patch);
		taskProgress(this.#options.bus, batch.task);
	}

	/** runs `fn` after every earlier request queued under the same name */
	#serial<T>(name: string, fn: () => Promise<T>): Promise<T> {
		const previous = this.#queues.get(name) ?? Promise.resolve();
		const result = previous.then(fn, fn);
		const tail = result.catch(() => {});
		this.#queues.set(name, tail);
		void tail.then(() => {
			if (this.#queues.get(name) === tail) this.#queues.delete(name);
		});
		return result;
	}
}

function now(): string {
	return new Date().toISOString();
}
