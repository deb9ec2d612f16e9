/**
 * @module orchestrator/task-runner
 * Runs one task: its steps in order, each as a tool execution with its own log, stopping at
 * the first step that fails. Owns the task's records from `running` to its final status and
 * publishes their events. `run()` never rejects: whatever goes wrong (a tool, the store) ends
 * as a failed task with a reason, and the returned record always has a final status.
 *
 * A store that cannot be reached (PostgreSQL down) is waited out: the tool keeps running (its
 * log pipeline keeps its lines, bounded), and the task's own records are written with backoff
 * once the store is back, so its end (or the reason it failed) is stored, not lost. Only a node
 * shutting down (`stop('interrupted')`) stops that wait.
 *
 * A step's end is written only while its execution still runs: a node cut off from the database
 * for longer than its lease writes nothing over the record the node that took the task over
 * closed, and announces nothing. A node that fences the task (`fence`, see orchestrator/fence)
 * stops its tool, stores the step's end with why, and leaves the task's own end to the release.
 */
import type { Execution, ExecutionStatus, Task, TaskStatus } from '../../protocol';
import type { TaskPatch } from '../store/types';
import type { EventBus } from '../bus/types';
import { newId } from '../ids';
import type { OrchestratorConfig } from '../config';
import type { StorageGuard } from '../disk-guard';
import type { Logger } from '../logger';
import { MaskSet } from '../masking/mask-set';
import { secretValues, type SecretNameTest } from '../masking/secret-env';
import { isStoreUnavailable } from '../store/errors';
import type { Store } from '../store/types';
import { taskChanged, toolEnded, toolStarted } from './emit';
import { LogPipeline, type StoreOutageConfig } from './log-pipeline';
import type { OutputLimitConfig } from './output-limit';
import { untilStored } from './store-retry';
import { TaskProgress } from './task-progress';
import type { ToolEnvironment } from './tool-env';
import type { FeedShare } from './pipe-feed';
import { runTool, type ToolHandle, type ToolResult } from './tool-runner';
import type { RunnableStep } from './spec-secrets';
import { shownStepName, type TaskDef } from './workflow-file';
import type { WorkflowCommand } from './workflow-commands';

export type StopReason = 'cancelled' | 'interrupted';

export interface TaskRunnerDeps {
	store: Store;
	bus: EventBus;
	logger: Logger;
	config: Pick<OrchestratorConfig, 'killGraceMs' | 'maxLineLength'> & {
		outputLimit?: OutputLimitConfig;
		/** what a tool's log keeps while the store cannot be reached, and for how long */
		storeOutage?: StoreOutageConfig;
	};
	/** the error a task stopped by a shutdown is left with */
	interruptedReason: string;
	/** what tools inherit, and the server's secrets kept from them (masked all the same) */
	toolEnv?: ToolEnvironment;
	/** which variable names hold secrets whose values are masked */
	isSecretName?: SecretNameTest;
	storage?: StorageGuard;
	/**
	 * Writes the task's own record (default: store.updateTask). The orchestrator hands in one that
	 * writes only while this node still holds the task and throws ClaimLostError otherwise.
	 */
	updateTask?: (id: string, patch: TaskPatch) => Promise<Task>;
	/**
	 * The steps to run (default: the definition's own). The orchestrator hands in one that reads
	 * the secret values, which the stored definition leaves out, again from the workflow.
	 */
	runnableSteps?: (def: TaskDef) => Promise<RunnableStep[]>;
	/** what the node's pipe feeds share (see OrchestratorDeps.feedShare) */
	feedShare?: FeedShare;
}

/** The node no longer holds the task (its lease ran out and another node took it over). */
export class ClaimLostError extends Error {
	constructor(taskId: string) {
		super(`this node no longer holds task ${taskId}; another node has taken it over`);
	}
}

type StepOutcome = { status: ExecutionStatus; error: string | null };

/** the result of a step stopped before its tool started */
const NOT_STARTED: ToolResult = {
	exitCode: null,
	signal: null,
	error: null,
	timedOut: false,
	cancelled: true,
	durationMs: 0
};

export class TaskRunner {
	#deps: TaskRunnerDeps;
	#updateTask: (id: string, patch: TaskPatch) => Promise<Task>;
	#def: TaskDef;
	#task: Task;
	#log: Logger;
	#stop: StopReason | null = null;
	/** why the task was stopped, when not the usual reason for its StopReason */
	#stopError: string | null = null;
	/** stopped by `fence`: the task's end is the release's to store */
	#fenced = false;
	#tool: ToolHandle | null = null;
	#pipeline: LogPipeline | null = null;
	/** aborted when the node shuts down: writes no longer wait for an unreachable store */
	#shutdown = new AbortController();
	#progress: TaskProgress | null = null;
	/** once a tool reports `::progress`, finished steps no longer move the bar */
	#progressFromTool = false;
	/** the task's secrets: its steps' secret variables and what `::add-mask::` announced, for every later step too */
	#masks: MaskSet;

	constructor(deps: TaskRunnerDeps, task: Task, def: TaskDef) {
		this.#deps = deps;
		this.#updateTask = deps.updateTask ?? ((id, patch) => deps.store.updateTask(id, patch));
		this.#task = task;
		this.#def = def;
		this.#log = deps.logger.child({ task_id: task.id, task: def.key });
		const inherited =
			deps.toolEnv && deps.isSecretName ? secretValues(deps.toolEnv.env, deps.isSecretName) : [];
		this.#masks = new MaskSet([...(deps.toolEnv?.secrets ?? []), ...inherited]);
	}

	/** Stops the task: the running tool gets SIGTERM (SIGKILL after the grace period), no further step starts. */
	stop(reason: StopReason): void {
		this.#stop ??= reason;
		this.#tool?.cancel();
		// a node going away does not wait for a database that cannot be reached to store the rest
		if (reason === 'interrupted') {
			this.#pipeline?.stopWaitingForStore();
			this.#shutdown.abort();
		}
	}

	/**
	 * Stops the task because this node cannot renew its hold on it and another node would start it
	 * again: as `stop('interrupted')`, with `error` as the reason its step ends with, but the step's
	 * end still waits for the database (it is written only while no other node has closed it), and
	 * the task's own end is not stored: its lease runs out and the release queues it again. False,
	 * doing nothing, when the task is stopping already (a cancel ends it as asked).
	 */
	fence(error: string): boolean {
		if (this.#stop) return false;
		this.#stop = 'interrupted';
		this.#stopError = error;
		this.#fenced = true;
		this.#tool?.cancel();
		return true;
	}

	/** Runs the task to its end and returns its final stored record. */
	async run(): Promise<Task> {
		let outcome: { status: TaskStatus; error: string | null };
		try {
			outcome = await this.#runSteps();
		} catch (err) {
			if (err instanceof ClaimLostError) {
				this.#tool?.cancel();
				// progress is the new holder's to report; nothing here waits for the store any more
				this.#progress?.close();
				return this.#task;
			}
			if (this.#stop && isStoreUnavailable(err)) {
				// a wait for the database that the stop ended (the node shuts down): stopped, not failed
				outcome = this.#stopped();
			} else {
				this.#log.error({ err }, 'task failed on an internal error');
				outcome = { status: 'failed', error: `internal error: ${(err as Error)?.message ?? String(err)}` };
			}
		}
		return this.#finish(outcome.status, outcome.error);
	}

	async #runSteps(): Promise<{ status: TaskStatus; error: string | null }> {
		const { bus } = this.#deps;
		if (this.#stop) return this.#stopped();
		const startedAt = new Date().toISOString();
		this.#task = await this.#untilStored('starting the task', () =>
			// a later attempt (its node died) starts from nothing, not from the progress the last one made
			this.#updateTask(this.#task.id, { status: 'running', started_at: startedAt, progress: 0 })
		);
		taskChanged(bus, this.#task);
		const updateTask = this.#updateTask;
		this.#progress = new TaskProgress({
			store: { updateTask },
			bus,
			logger: this.#log,
			task: this.#task,
			signal: this.#shutdown.signal
		});

		let steps: RunnableStep[];
		try {
			steps = (await this.#deps.runnableSteps?.(this.#def)) ?? this.#def.steps;
		} catch (err) {
			// a shutdown stops the parse of a large workflow file its runners wait for (once they are told to stop)
			if (this.#stop) return this.#stopped();
			throw err;
		}
		// every step's secrets are masked from the first line on, as GitHub Actions masks a job's:
		// an earlier step may print a later one's value (a `cat` of the workflow file, say)
		const isSecretName = this.#deps.isSecretName ?? (() => false);
		for (const step of steps)
			for (const value of secretValues(step.env ?? {}, isSecretName)) this.#masks.add(value);
		for (const [index, step] of steps.entries()) {
			if (this.#stop) return this.#stopped();
			// a node cut off from the database for longer than its lease may have lost the task meanwhile;
			// a step started now would run beside the new holder's (ClaimLostError ends this run)
			if (index > 0) {
				await this.#untilStored('starting a step', () => this.#updateTask(this.#task.id, {}));
				// stopped (fenced, say) while that waited for the database
				if (this.#stop) return this.#stopped();
			}
			if (!this.#progressFromTool)
				this.#progress.set(undefined, `${this.#stepName(step)} (${index + 1}/${steps.length})`);
			const result = await this.#runStep(index, step);
			if (result.status !== 'succeeded') {
				if (result.status === 'cancelled' || result.status === 'interrupted') return this.#stopped();
				// masked again: the step may have announced more values with `::add-mask::` meanwhile
				const error = `step '${this.#stepName(step)}' failed: ${result.error}`;
				return { status: 'failed', error: this.#masks.mask(error) };
			}
			if (!this.#progressFromTool) this.#progress.set(Math.floor(((index + 1) / steps.length) * 100));
		}
		return { status: 'succeeded', error: null };
	}

	async #runStep(index: number, step: RunnableStep): Promise<StepOutcome> {
		if (step.unavailable) return { status: 'failed', error: step.unavailable };
		const { store, bus, config, toolEnv, storage } = this.#deps;
		const task = this.#task;
		const masks = this.#masks;
		// one id for every attempt: a write whose reply was lost is not stored twice when tried again
		const executionId = newId('exec');
		const execution = await this.#untilStored('starting a step', () =>
			// Fenced while this waited for the database: another node may hold the task by the next try,
			// and an execution stored now would be a step of its attempt. (One a lost answer may have
			// stored already is still running: the release closes it.)
			this.#fenced
				? Promise.resolve(null)
				: store.createExecution({
						id: executionId,
						task_id: task.id,
						step: index,
						name: this.#stepName(step),
						command: masks.mask(step.command),
						args: step.args.map((arg) => masks.mask(arg)),
						cwd: step.cwd
					})
		);
		if (execution === null) return this.#stopped();
		const log = this.#log.child({ execution_id: execution.id, step: index });
		if (this.#fenced) {
			// fenced while the try that stored it was on its way: closed (should the release not have
			// closed it yet), announced neither as started nor as ended, as no tool ran
			const outcome = this.#stopped();
			await this.#endExecution(execution, NOT_STARTED, outcome, log, { lines: 0, bytes: 0 }, { quiet: true });
			return outcome;
		}
		toolStarted(bus, task, execution);
		if (this.#stop) {
			// stopped while the execution was being created (it waited for the database): no tool starts
			const outcome = this.#stopped();
			await this.#endExecution(execution, NOT_STARTED, outcome, log, { lines: 0, bytes: 0 });
			return outcome;
		}
		let storeFailure: string | null = null;
		let tool: ToolHandle | null = null;
		const pipeline = new LogPipeline({
			store,
			bus,
			logger: log,
			task_id: task.id,
			run_id: task.run_id,
			execution_id: execution.id,
			masks,
			storage,
			...(config.outputLimit ? { outputLimit: config.outputLimit } : {}),
			...(config.storeOutage ? { storeOutage: config.storeOutage } : {}),
			onCommand: (command) => this.#command(command),
			onStoreFailure: (message) => {
				// a log that cannot be kept is a failed task: nobody could see what the tool did
				storeFailure ??= message;
				tool?.cancel();
			}
		});
		this.#pipeline = pipeline;
		if (this.#stop === 'interrupted') pipeline.stopWaitingForStore();
		tool = runTool(
			{ command: step.command, args: step.args, cwd: step.cwd, env: step.env, timeoutMs: step.timeoutMs },
			{
				killGraceMs: config.killGraceMs,
				maxLineLength: config.maxLineLength,
				onLine: (stream, text, partial) => pipeline.push(stream, text, partial),
				pressure: () => pipeline.pressure,
				share: this.#deps.feedShare ?? null,
				...(toolEnv ? { baseEnv: toolEnv.env } : {})
			}
		);
		this.#tool = tool;
		const result = await tool.result;
		this.#tool = null;
		// every line is stored before the completion is announced
		await pipeline.close();
		this.#pipeline = null;

		// an interrupted task stays interrupted, even if the rest of its log could not be stored
		const outcome: StepOutcome =
			storeFailure !== null && this.#stop !== 'interrupted'
				? { status: 'failed', error: storeFailure }
				: this.#outcome(result);
		// masked as the stored copy is: a spawn error names the command, which may hold a secret
		if (outcome.status === 'failed')
			log.info({ error: outcome.error === null ? null : masks.mask(outcome.error) }, 'step failed');
		await this.#endExecution(execution, result, outcome, log, pipeline.dropped);
		return outcome;
	}

	/** the step's name as viewers see it: masked against every secret the task knows so far */
	#stepName(step: RunnableStep): string {
		return shownStepName(step, (text) => this.#masks.mask(text));
	}

	#outcome(result: ToolResult): StepOutcome {
		if (result.cancelled) return this.#stopped();
		if (result.error) return { status: 'failed', error: result.error };
		if (result.signal) return { status: 'failed', error: `killed by ${result.signal}` };
		if (result.exitCode !== 0) return { status: 'failed', error: `exited with code ${result.exitCode}` };
		return { status: 'succeeded', error: null };
	}

	/**
	 * Stores how the step ended and announces it; nothing when another node closed the execution
	 * first (it released the task). A store failure is logged, the end announced as this node saw
	 * it (unless the task was fenced: another node may have closed it), and the outcome still counts.
	 * `quiet`: stored, not announced (an execution no viewer was told had started).
	 */
	async #endExecution(
		execution: Execution,
		result: ToolResult,
		outcome: StepOutcome,
		log: Logger,
		dropped: { lines: number; bytes: number },
		{ quiet = false }: { quiet?: boolean } = {}
	): Promise<void> {
		const patch = {
			status: outcome.status,
			exit_code: result.exitCode,
			signal: result.signal,
			// a spawn error names the command, which may hold a secret
			error: outcome.error === null ? null : this.#masks.mask(outcome.error),
			// fixed for every try: one tried again after a lost answer finds its own end by it
			finished_at: new Date().toISOString(),
			duration_ms: result.durationMs,
			...(dropped.lines > 0
				? { output_dropped_lines: dropped.lines, output_dropped_bytes: dropped.bytes }
				: {})
		};
		let ended: Execution | null;
		try {
			ended = await this.#untilStored('storing the end of a step', () =>
				this.#deps.store.endExecution(execution.id, patch)
			);
		} catch (err) {
			log.error({ err }, 'storing the end of an execution failed');
			if (this.#fenced) return;
			const { output_dropped_lines: lines, output_dropped_bytes: bytes, ...rest } = patch;
			ended = { ...execution, ...rest, ...(lines ? { output_dropped: { lines, bytes: bytes ?? 0 } } : {}) };
		}
		if (ended === null) {
			log.warn(
				{ status: outcome.status },
				'the execution was closed by another node (it took the task over); its end here is not stored'
			);
			return;
		}
		if (!quiet) toolEnded(this.#deps.bus, this.#task, ended);
	}

	/** `write`, tried again with backoff while the store cannot be reached (until the node shuts down) */
	#untilStored<T>(what: string, write: () => Promise<T>): Promise<T> {
		return untilStored(write, {
			signal: this.#shutdown.signal,
			onWait: (err, attempt) => {
				if (attempt === 1)
					this.#log.warn({ err }, `${what}: the database cannot be reached; trying again until it is back`);
			}
		});
	}

	#command(command: WorkflowCommand): void {
		if (command.kind !== 'progress') return;
		this.#progressFromTool = true;
		// a bare `::progress value=N::` keeps the message the task already shows
		this.#progress?.set(command.value, command.message ?? undefined);
	}

	#stopped(): { status: 'cancelled' | 'interrupted'; error: string } {
		const status = this.#stop ?? 'cancelled';
		if (status === 'cancelled') return { status, error: 'cancelled' };
		return { status, error: this.#stopError ?? this.#deps.interruptedReason };
	}

	/** Stores the final status; if even that fails, the caller still gets a final record. */
	async #finish(status: TaskStatus, error: string | null): Promise<Task> {
		if (this.#fenced && status === 'interrupted') {
			// stored as interrupted here, the task would never start again; its lease runs out instead,
			// and whichever node releases it then queues it again. Progress is the next attempt's. (A
			// task whose last step ended by itself as the fence came is stored as it ended, should
			// this node still hold it.)
			this.#progress?.close();
			this.#log.warn({ error }, 'the task was fenced; its release (once its lease runs out) starts it again');
			return this.#task;
		}
		await this.#progress?.idle();
		const now = new Date();
		const startedAt = this.#task.started_at;
		try {
			const patch: TaskPatch = {
				status,
				error,
				finished_at: now.toISOString(),
				duration_ms: startedAt ? now.getTime() - Date.parse(startedAt) : null,
				...(status === 'succeeded' ? { progress: 100 } : {})
			};
			this.#task = await this.#untilStored('storing the end of the task', () =>
				this.#updateTask(this.#task.id, patch)
			);
		} catch (err) {
			if (err instanceof ClaimLostError) {
				// another node owns the task's record now; what this node saw is no longer news
				this.#log.warn({ status }, 'the task was taken over by another node; its end here is not stored');
				return this.#task;
			}
			this.#log.error({ err, status }, 'storing the final task status failed');
			this.#task = { ...this.#task, status, error, finished_at: now.toISOString() };
		}
		taskChanged(this.#deps.bus, this.#task);
		this.#log.info({ status, error }, 'task ended');
		return this.#task;
	}
}
