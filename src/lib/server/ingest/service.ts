/**
 * @module ingest/service
 * Applies what producers report (REST or WebSocket) to stand-alone tasks through the same
 * records and events the workflow runner uses: stored first, then published on the bus, so a
 * subscriber or a download never sees a line the store does not hold. Requests for one task
 * apply one at a time, in arrival order; everything is recomputed from the store, so nothing
 * is lost across a restart and a resent batch stores nothing twice. Two nodes taking the same
 * request at once (a producer that retried on another) make one execution of a tool (the store
 * keeps one per step), and each line is published by the node that stored it.
 *
 * Output goes through the same masking and output limit as the runner's (ingest/intake); the
 * task's secrets (`::add-mask::`, the server's own credentials) are kept in memory only, and
 * only while it runs (in a cluster its `::add-mask::` values in Redis's too, ingest/task-masks):
 * events for a task that ended change nothing (counted as ignored), late output least of all. A
 * running task whose producer goes silent is failed ("lost contact"), and a cancel reaches the
 * producer in its next answer (ingest/liveness). A data folder that is full fails the task.
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
import { describeStorageFailure, isDiskFull, type StorageGuard } from '../disk-guard';
import { newId } from '../ids';
import type { Logger } from '../logger';
import type { MaskRegistry } from '../masking/mask-registry';
import { MaskSet } from '../masking/mask-set';
import {
	DEFAULT_OUTPUT_MAX_BYTES,
	DEFAULT_OUTPUT_MAX_LINES,
	type OutputLimitConfig
} from '../orchestrator/output-limit';
import {
	taskChanged,
	taskCreated,
	taskProgress,
	toolEnded,
	toolLines,
	toolStarted
} from '../orchestrator/emit';
import { parseWorkflowCommand } from '../orchestrator/workflow-commands';
import type { ProducerTask, Store, TaskPatch } from '../store/types';
import { IngestError } from './ingest-error';
import { ExecutionIntake } from './intake';
import { Liveness } from './liveness';
import { SilentTasks } from './silent-tasks';
import { TaskMasks } from './task-masks';

export interface IngestServiceOptions {
	store: Store;
	bus: EventBus;
	logger: Logger;
	/** what one ingested tool may keep of its output; 1 GiB when omitted */
	outputLimit?: OutputLimitConfig;
	/** a running task silent this long is failed as "lost contact"; 0 never (default) */
	silenceMs?: number;
	/** a cancel the producer does not confirm within this long is carried out without it; 0 never */
	cancelTimeoutMs?: number;
	/** the data folder's disk-full guard */
	storage?: StorageGuard;
	/** values masked in every task's output besides its own (the server's credentials) */
	secrets?: readonly string[];
	/** where the nodes of a cluster share what tasks announced with `::add-mask::` (Redis); none alone */
	maskRegistry?: MaskRegistry | null;
}

/** What the service keeps in memory for a task that is still running. */
interface LiveTask {
	masks: TaskMasks;
	intakes: Map<number, ExecutionIntake>;
	/** the task's message before "cancel requested" was shown in its place */
	messageBeforeCancel?: string | null;
}

type Counts = Omit<IngestEventsResponse, 'task' | 'line_counts' | 'cancel_requested'>;

/** The mutable state of one request being applied. */
interface Batch {
	task: Task;
	executions: Map<number, Execution>;
	counts: Counts;
	/** progress and message from `progress` events and `::progress` lines, written once */
	pending: Pick<TaskPatch, 'progress' | 'message'> | null;
}

export const CANCEL_REQUESTED_MESSAGE = 'Cancel requested; waiting for the producer to stop its tool';

export class IngestService {
	#options: IngestServiceOptions;
	/** the tail of each task's (or key's) queue of requests */
	#queues = new Map<string, Promise<unknown>>();
	#live = new Map<string, LiveTask>();
	#liveness: Liveness;
	/** the same watch across the nodes, through the store */
	#silent: SilentTasks;
	#secrets: MaskSet;
	#closed = false;

	constructor(options: IngestServiceOptions) {
		this.#options = options;
		this.#secrets = new MaskSet(options.secrets ?? []);
		this.#liveness = new Liveness({
			silenceMs: options.silenceMs ?? 0,
			cancelTimeoutMs: options.cancelTimeoutMs ?? 0,
			onExpired: (taskId, why) => void this.#expire(taskId, why)
		});
		this.#silent = new SilentTasks({
			store: options.store,
			silenceMs: options.silenceMs ?? 0,
			onSilent: (taskId) => this.#expireSilent(taskId),
			onError: (err, what) => options.logger.warn({ err }, what)
		});
	}

	/** Stops watching for silent producers; an ending still queued then does nothing. */
	close(): void {
		this.#closed = true;
		this.#liveness.close();
		this.#silent.close();
	}

	/** Creates a stand-alone task, or returns the one an earlier request with the same key created. */
	createTask(input: CreateTaskRequest, idempotencyKey?: string | null): Promise<IngestTaskResponse> {
		const request = createTaskSchema.parse(input);
		const key = idempotencyKey ?? request.idempotency_key ?? null;
		const create = async (): Promise<IngestTaskResponse> => {
			const { store, bus } = this.#options;
			const mask = (text: string) => this.#secrets.mask(text);
			const record = {
				run_id: null,
				key: mask(request.key ?? request.name),
				name: mask(request.name),
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
			if (created.existing) {
				if (created.task.status === 'running') await this.#heard(created.task.id);
				return created;
			}
			let task = created.task;
			taskCreated(bus, task);
			const patch: TaskPatch = {};
			if (request.progress !== undefined) patch.progress = request.progress;
			if (request.message !== undefined) patch.message = maskNullable(this.#secrets, request.message);
			if (request.status === 'running') {
				task = await store.updateTask(task.id, { ...patch, status: 'running', started_at: now() });
				taskChanged(bus, task);
				await this.#heard(task.id);
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
			// the task row says too whether a cancel was asked of another node: no read of its own
			const { task, cancelAsked } = await this.#standaloneTask(taskId);
			// ended here or on another node: what this node still kept for it goes
			if (isTerminal(task.status)) this.#forget(taskId);
			const executions = new Map((await store.listExecutions(taskId)).map((e) => [e.step, e]));
			const batch = this.#batch(task, executions);
			try {
				// the server restarted under a live producer: hearing from it again means it runs on
				if (task.status === 'interrupted') await this.#start(batch, false);
				// values this task announced to other nodes mask what this request brings too (a
				// heartbeat brings nothing to mask: it keeps the task alive while Redis is away)
				if (
					this.#options.maskRegistry &&
					!isTerminal(batch.task.status) &&
					events.some((event) => event.type !== 'heartbeat')
				)
					await this.#liveTask(taskId).masks.catchUp();
				for (const [index, event] of events.entries()) await this.#apply(batch, event, `events.${index}`);
			} finally {
				await this.#writeProgress(batch);
				if (batch.task.status === 'running') await this.#heard(taskId);
			}
			const line_counts: Record<string, number> = {};
			for (const [step, execution] of batch.executions) line_counts[step] = execution.line_count;
			return {
				task: batch.task,
				...batch.counts,
				line_counts,
				cancel_requested: this.#cancelAsked(batch.task, cancelAsked)
			};
		});
	}

	/**
	 * Asks a stand-alone task's producer to stop: a queued (or interrupted) task is cancelled at
	 * once; a running one shows "cancel requested" until its producer confirms (or the cancel
	 * timeout passes). Null when the task has already finished.
	 */
	requestCancel(taskId: string): Promise<Task | null> {
		return this.#serial(`task:${taskId}`, async () => {
			const { store } = this.#options;
			const { task } = await this.#standaloneTask(taskId);
			if (isTerminal(task.status)) return null;
			const batch = this.#batch(task, new Map((await store.listExecutions(taskId)).map((e) => [e.step, e])));
			if (task.status !== 'running') {
				await this.#finish(
					batch,
					'cancelled',
					undefined,
					task.status === 'queued' ? 'cancelled before it started' : 'cancelled'
				);
				return batch.task;
			}
			if (this.#liveness.cancelRequested(taskId)) return task;
			// kept with the task: the producer may report to another node
			const asked = await store.askProducerCancel(taskId);
			if (asked === null) {
				// ended meanwhile, on another node
				this.#forget(taskId);
				return null;
			}
			// this node carries out the timeout, whichever node the producer reports to
			this.#liveness.requestCancel(taskId);
			// asked of another node first, which shows it: nothing to change here
			if (asked === 'already') return task;
			this.#liveTask(taskId).messageBeforeCancel = task.message;
			const updated = await store.updateTask(taskId, { message: CANCEL_REQUESTED_MESSAGE });
			taskChanged(this.#options.bus, updated);
			this.#options.logger.info({ task_id: taskId }, 'cancel requested from the producer');
			return updated;
		});
	}

	/**
	 * whether the producer of `task` is to cancel: asked here, or of another node (`askedInStore`,
	 * read with the task at the start of the request)
	 */
	#cancelAsked(task: Task, askedInStore: boolean): boolean {
		if (task.status !== 'running') return false;
		if (this.#liveness.cancelRequested(task.id)) return true;
		if (!askedInStore) return false;
		// asked of another node: this one carries out the timeout as well, should that node be gone
		this.#liveness.requestCancel(task.id);
		return true;
	}

	/** what this node keeps for a task that ended (here or on another node) */
	#forget(taskId: string): void {
		this.#liveness.forget(taskId);
		this.#silent.forget(taskId);
		this.#live.delete(taskId);
	}

	/** a task ended here: the values it announced leave Redis now rather than at their expiry */
	async #forgetShared(taskId: string): Promise<void> {
		try {
			await this.#options.maskRegistry?.forget(taskId);
		} catch (err) {
			this.#options.logger.warn(
				{ err, task_id: taskId },
				'could not remove the ended task’s mask values from Redis'
			);
		}
	}

	/** a producer of running task `taskId` was heard from, here and for the other nodes */
	async #heard(taskId: string): Promise<void> {
		this.#liveness.heard(taskId);
		await this.#silent.heard(taskId);
	}

	/**
	 * A producer went silent on every node (ingest/silent-tasks). A task with a request under way
	 * here is left for a later sweep: its ending would wait behind that request, which may never
	 * complete (a store call or a request body that hangs), and its producer may be reporting.
	 */
	#expireSilent(taskId: string): Promise<void> {
		if (this.#closed || this.#queues.has(`task:${taskId}`)) return Promise.resolve();
		return this.#expire(taskId, 'silent');
	}

	/**
	 * A producer went silent (here, or on every node), or never confirmed a cancel: the task ends
	 * without it. A silent one ends only when no node heard its producer since and no other node
	 * ended it first.
	 */
	#expire(taskId: string, why: 'silent' | 'cancel'): Promise<void> {
		return this.#serial(`task:${taskId}`, async () => {
			if (this.#closed) return;
			const { store, logger, silenceMs, cancelTimeoutMs } = this.#options;
			const task = await store.getTask(taskId);
			if (!task || task.status !== 'running') return this.#forget(taskId);
			if (why === 'silent' && !(await store.claimSilentTask(taskId, silenceMs ?? 0))) return;
			const batch = this.#batch(task, new Map((await store.listExecutions(taskId)).map((e) => [e.step, e])));
			if (why === 'silent') {
				const error = `lost contact: the producer reported nothing for ${seconds(silenceMs ?? 0)}`;
				logger.warn({ task_id: taskId }, error);
				await this.#finish(batch, 'failed', undefined, error);
			} else {
				const error = `cancelled; the producer did not confirm within ${seconds(cancelTimeoutMs ?? 0)} that it stopped`;
				logger.warn({ task_id: taskId }, error);
				await this.#finish(batch, 'cancelled', undefined, error);
			}
		}).catch((err) => this.#options.logger.error({ err, task_id: taskId }, 'ending a silent task failed'));
	}

	async #standaloneTask(taskId: string): Promise<ProducerTask> {
		const found = await this.#options.store.getProducerTask(taskId);
		if (!found) {
			throw new IngestError(
				404,
				'not_found',
				`No task with id "${taskId}". Create it with POST /api/v1/tasks.`
			);
		}
		if (found.task.run_id !== null) {
			throw new IngestError(
				409,
				'not_standalone',
				`Task "${taskId}" belongs to workflow run "${found.task.run_id}"; only stand-alone tasks accept events.`
			);
		}
		return found;
	}

	#batch(task: Task, executions: Map<number, Execution>): Batch {
		return { task, executions, counts: { applied: 0, duplicates: 0, ignored: 0 }, pending: null };
	}

	#liveTask(taskId: string): LiveTask {
		let live = this.#live.get(taskId);
		if (!live) {
			const { secrets = [], maskRegistry = null, logger } = this.#options;
			const masks = new TaskMasks({ taskId, secrets, registry: maskRegistry, logger });
			live = { masks, intakes: new Map() };
			this.#live.set(taskId, live);
		}
		return live;
	}

	#intake(batch: Batch, execution: Execution): ExecutionIntake {
		const live = this.#liveTask(batch.task.id);
		let intake = live.intakes.get(execution.step);
		// another node stored lines of this tool since (a cluster's proxy spread the producer's
		// requests): the intake starts again from what is stored, or it would refuse the next line
		if (!intake || intake.stored !== execution.line_count) {
			const limit = this.#options.outputLimit ?? {
				maxBytes: DEFAULT_OUTPUT_MAX_BYTES,
				maxLines: DEFAULT_OUTPUT_MAX_LINES
			};
			intake = new ExecutionIntake(live.masks.set, limit, execution);
			live.intakes.set(execution.step, intake);
		}
		return intake;
	}

	async #apply(batch: Batch, event: IngestEvent, at: string): Promise<void> {
		// A task that ended stays as it ended, whatever comes late: a producer that missed a cancel
		// or lost contact resends its backlog, or reports its end before its last lines. Its
		// `::add-mask::` values went with its state (`#forget`), or were heard by another node, so
		// late output or a late tool error could only be masked without them: none is stored.
		if (isTerminal(batch.task.status)) {
			batch.counts.ignored++;
			return;
		}
		const masks = this.#liveTask(batch.task.id).masks.set;
		switch (event.type) {
			case 'status':
				if (event.status === 'running') return this.#start(batch);
				await this.#writeProgress(batch);
				return this.#finish(
					batch,
					event.status,
					maskNullable(masks, event.message),
					maskNullable(masks, event.error)
				);
			case 'progress':
				batch.pending = {
					...batch.pending,
					...(event.progress !== undefined ? { progress: event.progress } : {}),
					...(event.message !== undefined ? { message: maskNullable(masks, event.message) } : {})
				};
				batch.counts.applied++;
				return;
			case 'tool.start':
				return this.#toolStart(batch, {
					...event,
					name: masks.mask(event.name),
					command: masks.mask(event.command),
					args: event.args.map((arg) => masks.mask(arg)),
					cwd: maskNullable(masks, event.cwd)
				});
			case 'output':
				return this.#output(batch, event, at);
			case 'tool.end':
				return this.#toolEnd(batch, { ...event, error: maskNullable(masks, event.error) }, at);
			case 'heartbeat':
				// hearing from the producer is the point; the task's watch is renewed after the request
				batch.counts.applied++;
				return;
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
		const before = this.#live.get(task.id)?.messageBeforeCancel;
		// a cancel the producer confirmed leaves the task's own last message, not "cancel requested"
		// (none when the cancel was asked of another node, which kept that message)
		if (message === undefined && (before !== undefined || task.message === CANCEL_REQUESTED_MESSAGE))
			message = before === undefined || before === CANCEL_REQUESTED_MESSAGE ? null : before;
		// a tool still open when its task ends would show as running for ever: closed first, so a
		// store that fails on the way leaves the task running, and the producer's resent status
		// finds the tools closed and ends it (the other way round a resent status would be ignored)
		for (const execution of batch.executions.values()) {
			if (execution.status !== 'running') continue;
			const dropped = await this.#endOutput(batch, execution);
			const closed = await store.updateExecution(execution.id, {
				status: 'interrupted',
				finished_at: finished.toISOString(),
				duration_ms: finished.getTime() - Date.parse(execution.started_at),
				error: 'the task ended before this tool reported its end',
				...dropped
			});
			batch.executions.set(closed.step, closed);
			toolEnded(bus, task, closed);
		}
		// one ending wins, whichever request or node it comes from
		const ended = await store.endTask(task.id, {
			status,
			started_at: startedAt,
			finished_at: finished.toISOString(),
			duration_ms: finished.getTime() - Date.parse(startedAt),
			error: status === 'failed' ? (error ?? message ?? 'the producer reported a failure') : (error ?? null),
			...(message !== undefined ? { message } : {}),
			...(status === 'succeeded' ? { progress: 100 } : {})
		});
		if (!ended) {
			this.#forget(task.id);
			batch.task = (await store.getTask(task.id)) ?? task;
			batch.counts.ignored++;
			return;
		}
		this.#forget(task.id);
		batch.task = ended;
		taskChanged(bus, batch.task);
		batch.counts.applied++;
		await this.#forgetShared(task.id);
	}

	async #toolStart(batch: Batch, event: Extract<IngestEvent, { type: 'tool.start' }>): Promise<void> {
		const { store, bus } = this.#options;
		if (batch.executions.has(event.step) || isTerminal(batch.task.status)) {
			batch.counts.ignored++;
			return;
		}
		await this.#start(batch, false);
		const id = newId('exec');
		const execution = await store.createExecution({
			id,
			task_id: batch.task.id,
			step: event.step,
			name: event.name,
			command: event.command,
			args: event.args,
			cwd: event.cwd,
			one_per_step: true
		});
		batch.executions.set(event.step, execution);
		// the same start taken by another node at once (a producer retrying there, say) made it first,
		// and announces it: this request goes on with that one, as with a start it read stored
		if (execution.id !== id) {
			batch.counts.ignored++;
			return;
		}
		if (batch.task.step_count <= event.step) {
			batch.task = await store.updateTask(batch.task.id, { step_count: event.step + 1 });
		}
		toolStarted(bus, batch.task, execution);
		batch.counts.applied++;
	}

	async #output(batch: Batch, event: Extract<IngestEvent, { type: 'output' }>, at: string): Promise<void> {
		let execution = this.#execution(batch, event.step, at);
		const intake = this.#intake(batch, execution);
		const before = intake.save();
		const taken = intake.take(event.lines, at, event.step);
		batch.counts.duplicates += taken.duplicates;
		const dropping = taken.dropped > 0;
		const stored = await this.#store(batch, execution, taken.lines, () => intake.restore(before));
		execution = stored.execution;
		// lines another node stored first (it took the same batch at once) count as sent before
		batch.counts.duplicates += taken.lines.length - stored.lines.length;
		if (dropping) execution = await this.#recordDropped(batch, execution, intake);
		if (taken.error) throw taken.error;
		if (stored.lines.length > 0 || dropping) batch.counts.applied++;
		else batch.counts.ignored++;
		if (isTerminal(batch.task.status)) return;
		// a line's command takes effect once, on the node that stored the line
		for (const line of stored.lines) {
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

	/** output past the limit is counted on the execution as it comes, so a restart keeps the count */
	async #recordDropped(batch: Batch, execution: Execution, intake: ExecutionIntake): Promise<Execution> {
		const { lines, bytes } = intake.dropped;
		const updated = await this.#options.store.updateExecution(execution.id, {
			output_dropped_lines: lines,
			output_dropped_bytes: bytes
		});
		batch.executions.set(updated.step, updated);
		return updated;
	}

	/** a tool ended: what its intake still held is stored; the dropped counts for its record */
	async #endOutput(
		batch: Batch,
		execution: Execution
	): Promise<{ output_dropped_lines?: number; output_dropped_bytes?: number }> {
		const intake = this.#live.get(batch.task.id)?.intakes.get(execution.step);
		if (!intake) return {};
		const before = intake.save();
		await this.#store(batch, execution, intake.end(), () => intake.restore(before));
		const { lines, bytes } = intake.dropped;
		return lines > 0 ? { output_dropped_lines: lines, output_dropped_bytes: bytes } : {};
	}

	/**
	 * Stores lines, then streams those this call stored, and returns them with the execution at its
	 * new line count. A line another node stored first (it took the same request at once) is that
	 * node's to stream, so each line goes out once. `unstored`: puts the intake back where it stood
	 * before it made `lines`, when none of them could be stored.
	 */
	async #store(
		batch: Batch,
		execution: Execution,
		lines: LogLine[],
		unstored: () => void
	): Promise<{ execution: Execution; lines: LogLine[] }> {
		const { store, bus, storage, maskRegistry } = this.#options;
		// a value the intake heard reaches the other nodes before the lines are stored, so a resent
		// request (to whichever node) announces it again if Redis cannot take it now; also with no
		// line to store (a piece of an `::add-mask::` line closed by the tool's end, or lines past
		// the output limit), or the value would stay on this node. Alone, no await on this path.
		if (maskRegistry) {
			try {
				await this.#live.get(batch.task.id)?.masks.share();
			} catch (err) {
				unstored();
				throw err;
			}
		}
		if (lines.length === 0) return { execution, lines };
		let stored: LogLine[];
		try {
			if (storage?.full)
				throw Object.assign(new Error('no space left in the data folder'), { code: 'ENOSPC' });
			stored = await store.appendLogLines(execution.id, lines);
		} catch (err) {
			if (!(storage ? storage.report(err) : isDiskFull(err))) {
				// nothing was stored (the store cannot be reached, say): the intake goes back to where it
				// stood, so the producer's resent batch is stored rather than counted as duplicates, and
				// the tail its maskers held back (perhaps the start of a secret) comes with it
				unstored();
				throw err;
			}
			return this.#failForStorage(batch, err);
		}
		const updated: Execution = { ...execution, line_count: lines[lines.length - 1].n };
		batch.executions.set(updated.step, updated);
		toolLines(bus, { task_id: batch.task.id, run_id: null, execution_id: execution.id }, stored);
		return { execution: updated, lines: stored };
	}

	async #toolEnd(batch: Batch, event: Extract<IngestEvent, { type: 'tool.end' }>, at: string): Promise<void> {
		const { store, bus } = this.#options;
		const execution = this.#execution(batch, event.step, at);
		if (execution.status !== 'running' && execution.status !== 'interrupted') {
			batch.counts.ignored++;
			return;
		}
		const dropped = await this.#endOutput(batch, execution);
		this.#live.get(batch.task.id)?.intakes.delete(execution.step);
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
			error: event.error ?? (status === 'failed' ? reason : null),
			...dropped
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

	/**
	 * The data folder is full: the task fails (the guard freed room for that) and the producer
	 * is told with a 507, so it keeps its output instead of thinking it delivered.
	 */
	async #failForStorage(batch: Batch, err: unknown): Promise<never> {
		const message = describeStorageFailure(err);
		this.#options.logger.error({ err, task_id: batch.task.id }, 'ingested output could not be stored');
		this.#live.delete(batch.task.id);
		batch.pending = null;
		try {
			await this.#finish(batch, 'failed', undefined, message);
		} catch (failure) {
			this.#options.logger.error({ err: failure, task_id: batch.task.id }, 'failing the task failed too');
		}
		throw new IngestError(507, 'insufficient_storage', `The task failed: ${message}.`);
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

function maskNullable<T extends string | null | undefined>(masks: MaskSet, text: T): T {
	return (typeof text === 'string' ? masks.mask(text) : text) as T;
}

/** 300000 → "300 s" */
function seconds(ms: number): string {
	const value = ms / 1000;
	return `${Number.isInteger(value) ? value : value.toFixed(1)} s`;
}
