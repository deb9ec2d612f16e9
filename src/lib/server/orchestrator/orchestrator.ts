/**
 * @module orchestrator/orchestrator
 * Runs workflows: creates a run and its tasks, starts tasks as their needs succeed (at most
 * `concurrency` at once across all runs), keeps the run's progress and ends it. Cancel and
 * shutdown stop tools through their task runners.
 *
 * Scheduling decisions are made on in-memory statuses, synchronously, so two decisions can never
 * start the same task; the store is written afterwards. Everything that changes one run's
 * records goes through that run's queue, so its events come out in the order things happened
 * (a run's last `workflow.progress` before its `workflow.completed`, never after).
 */
import type {
	RunStatus,
	Task,
	TaskStatus,
	WorkflowLoadError,
	WorkflowRun,
	WorkflowSummary
} from '../../protocol';
import type { EventBus } from '../bus/types';
import type { OrchestratorConfig } from '../config';
import type { Logger } from '../logger';
import type { Store } from '../store/types';
import { taskChanged, taskCreated, workflowEnded, workflowProgress } from './emit';
import { planSchedule } from './schedule';
import {
	createRunState,
	INTERRUPTED_REASON,
	runEndPatch,
	runProgress,
	type RunState,
	type TaskState
} from './run-state';
import { TaskRunner, type StopReason } from './task-runner';
import { loadWorkflows, toWorkflowSummary } from './workflow-loader';
import { OrchestratorClosedError, type Orchestrator } from './types';
import { workflowStartError } from './workflow-errors';

export { INTERRUPTED_REASON };

export interface OrchestratorDeps {
	store: Store;
	bus: EventBus;
	config: OrchestratorConfig;
	logger: Logger;
}

export function createOrchestrator(deps: OrchestratorDeps): Orchestrator {
	return new WorkflowOrchestrator(deps);
}

class WorkflowOrchestrator implements Orchestrator {
	#deps: OrchestratorDeps;
	#log: Logger;
	#runs = new Map<string, RunState>();
	#taskRuns = new Map<string, RunState>();
	#running = 0;
	#closed = false;
	#shutdown: Promise<void> | null = null;
	/** startRun calls still writing their run's records */
	#starting = new Set<Promise<WorkflowRun>>();
	#reportedErrors = '[]';

	constructor(deps: OrchestratorDeps) {
		this.#deps = deps;
		this.#log = deps.logger.child({ module: 'orchestrator' });
	}

	async listWorkflows(): Promise<{ workflows: WorkflowSummary[]; errors: WorkflowLoadError[] }> {
		const { workflows, errors } = await loadWorkflows(this.#deps.config.workflowsDir);
		// the dashboard lists workflows often; a broken file is worth one warning, not one per page view
		const reported = JSON.stringify(errors);
		if (reported !== this.#reportedErrors) {
			this.#reportedErrors = reported;
			for (const error of errors) this.#log.warn(error, 'workflow file not loaded');
		}
		return { workflows: workflows.map(toWorkflowSummary), errors };
	}

	async startRun(workflowName: string): Promise<WorkflowRun> {
		if (this.#closed) throw new OrchestratorClosedError();
		const starting = this.#startRun(workflowName);
		this.#starting.add(starting);
		try {
			return await starting;
		} finally {
			this.#starting.delete(starting);
		}
	}

	async #startRun(workflowName: string): Promise<WorkflowRun> {
		const loaded = await loadWorkflows(this.#deps.config.workflowsDir);
		// nothing is stored yet, so a shutdown that began meanwhile can still refuse the run
		if (this.#closed) throw new OrchestratorClosedError();
		const workflow = loaded.workflows.find((candidate) => candidate.name === workflowName);
		if (!workflow) throw workflowStartError(workflowName, loaded);

		const { store, bus } = this.#deps;
		const totalWeight = workflow.tasks.reduce((sum, task) => sum + task.weight, 0);
		let run = await store.createRun({ workflow: workflow.name, total_weight: totalWeight });
		const tasks: Task[] = [];
		let state: RunState;
		try {
			for (const def of workflow.tasks) {
				const record = await store.createTask({
					run_id: run.id,
					key: def.key,
					name: def.name,
					needs: def.needs,
					weight: def.weight,
					optional: def.optional,
					step_count: def.steps.length
				});
				tasks.push(record);
				taskCreated(bus, record);
			}
			run = await store.updateRun(run.id, { status: 'running', started_at: new Date().toISOString() });
			workflowProgress(bus, run);
			state = createRunState(run, workflow, tasks);
		} catch (err) {
			this.#log.error({ err, run_id: run.id }, 'starting a run failed');
			// best effort: nothing is left looking queued for ever
			const error = `could not start: ${(err as Error).message}`;
			const finished_at = new Date().toISOString();
			for (const task of tasks)
				await store.updateTask(task.id, { status: 'failed', error, finished_at }).catch(() => {});
			await store.updateRun(run.id, { status: 'failed', error, finished_at }).catch(() => {});
			throw err;
		}
		this.#runs.set(run.id, state);
		for (const task of state.tasks.values()) this.#taskRuns.set(task.record.id, state);
		this.#log.info({ run_id: run.id, workflow: workflow.name }, 'run started');
		// a shutdown that began while this run was being stored must not leave it queued for ever
		if (this.#closed) this.#interrupt(state);
		this.#pump();
		return run;
	}

	async cancelRun(runId: string): Promise<boolean> {
		const state = this.#runs.get(runId);
		if (!state || state.ended) return false;
		state.stopping ??= 'cancelled';
		for (const task of state.tasks.values()) this.#stopTask(state, task, 'cancelled');
		this.#pump();
		this.#log.info({ run_id: runId }, 'run cancelled');
		// queued tasks are stored as cancelled before this resolves; running ones follow when their tools exit
		await state.queue;
		return true;
	}

	async cancelTask(taskId: string): Promise<boolean> {
		const state = this.#taskRuns.get(taskId);
		const task = state && [...state.tasks.values()].find((candidate) => candidate.record.id === taskId);
		if (!state || !task || (task.status !== 'queued' && task.status !== 'running')) return false;
		this.#stopTask(state, task, 'cancelled');
		this.#pump();
		this.#log.info({ task_id: taskId }, 'task cancelled');
		await state.queue;
		return true;
	}

	async recover(): Promise<void> {
		try {
			const counts = await this.#deps.store.markInterrupted(INTERRUPTED_REASON);
			if (counts.runs + counts.tasks + counts.executions > 0) {
				this.#log.warn(counts, 'marked work left running by a previous process as interrupted');
			}
		} catch (err) {
			this.#log.error({ err }, 'marking interrupted work failed');
		}
	}

	shutdown(): Promise<void> {
		this.#shutdown ??= (async () => {
			this.#closed = true;
			// a run whose records are being written joins #runs when they are, and is interrupted then
			await Promise.allSettled([...this.#starting]);
			const runs = [...this.#runs.values()];
			for (const state of runs) this.#interrupt(state);
			this.#pump();
			await Promise.all(runs.map((state) => state.done));
			if (runs.length > 0) this.#log.info({ runs: runs.length }, 'running work marked interrupted');
		})();
		return this.#shutdown;
	}

	#interrupt(state: RunState): void {
		state.stopping = 'interrupted';
		for (const task of state.tasks.values()) this.#stopTask(state, task, 'interrupted');
	}

	/** Starts what may start and ends what can no longer run, for every open run. */
	#pump(): void {
		for (const state of this.#runs.values()) {
			if (state.ended) continue;
			const halted = this.#closed || state.stopping !== null;
			const slots = halted ? 0 : Math.max(0, this.#deps.config.concurrency - this.#running);
			const statuses = Object.fromEntries([...state.tasks].map(([key, task]) => [key, task.status]));
			const plan = planSchedule(state.workflow.tasks, statuses, slots);

			for (const { key, reason } of plan.blocked) {
				const task = state.tasks.get(key)!;
				task.status = 'failed';
				task.blocked = true;
				this.#enqueue(state, () => this.#endQueuedTask(task, 'failed', reason));
			}
			if (plan.blocked.length > 0) this.#enqueue(state, () => this.#storeProgress(state));
			for (const key of plan.ready) this.#startTask(state, state.tasks.get(key)!);
			if (plan.finished) {
				state.ended = true;
				this.#enqueue(state, () => this.#endRun(state, plan.status!));
			}
		}
	}

	#startTask(state: RunState, task: TaskState): void {
		const { store, bus, config } = this.#deps;
		task.status = 'running';
		this.#running++;
		const runner = new TaskRunner(
			{ store, bus, config, logger: this.#log, interruptedReason: INTERRUPTED_REASON },
			task.record,
			task.def
		);
		task.runner = runner;
		runner
			.run()
			.catch((err): Task => {
				// run() does not reject; this only keeps the scheduler alive if that ever changes
				this.#log.error({ err, task_id: task.record.id }, 'task runner rejected');
				return { ...task.record, status: 'failed', error: 'internal error' };
			})
			.then((record) => {
				task.record = record;
				task.status = record.status;
				task.runner = null;
				this.#running--;
				this.#enqueue(state, () => this.#storeProgress(state));
				// the slot it frees may belong to another run, so every run is looked at
				this.#enqueue(state, async () => this.#pump());
			});
	}

	/** Cancels or interrupts a task: a running one through its runner, a queued one right here. */
	#stopTask(state: RunState, task: TaskState, reason: StopReason): void {
		if (task.status === 'running') {
			task.runner?.stop(reason);
		} else if (task.status === 'queued') {
			task.status = reason;
			const error = reason === 'interrupted' ? INTERRUPTED_REASON : 'cancelled before it started';
			this.#enqueue(state, () => this.#endQueuedTask(task, reason, error));
			this.#enqueue(state, () => this.#storeProgress(state));
		}
	}

	async #endQueuedTask(task: TaskState, status: TaskStatus, error: string): Promise<void> {
		try {
			task.record = await this.#deps.store.updateTask(task.record.id, {
				status,
				error,
				finished_at: new Date().toISOString()
			});
		} catch (err) {
			this.#log.error({ err, task_id: task.record.id }, 'storing a task that will not run failed');
			task.record = { ...task.record, status, error };
		}
		taskChanged(this.#deps.bus, task.record);
	}

	async #storeProgress(state: RunState): Promise<void> {
		const { finished, progress } = runProgress(state);
		try {
			state.run = await this.#deps.store.updateRun(state.run.id, { progress, finished_weight: finished });
		} catch (err) {
			this.#log.error({ err, run_id: state.run.id }, 'storing run progress failed');
			state.run = { ...state.run, progress, finished_weight: finished };
		}
		workflowProgress(this.#deps.bus, state.run);
	}

	async #endRun(state: RunState, planned: RunStatus): Promise<void> {
		const patch = runEndPatch(state, planned);
		try {
			state.run = await this.#deps.store.updateRun(state.run.id, patch);
		} catch (err) {
			this.#log.error({ err, run_id: state.run.id }, 'storing the end of a run failed');
			state.run = { ...state.run, ...patch };
		}
		workflowEnded(this.#deps.bus, state.run);
		this.#log.info({ run_id: state.run.id, status: patch.status, error: patch.error }, 'run ended');
		this.#runs.delete(state.run.id);
		for (const task of state.tasks.values()) this.#taskRuns.delete(task.record.id);
		state.resolveDone();
	}

	#enqueue(state: RunState, op: () => Promise<void>): void {
		state.queue = state.queue.then(op).catch((err) => {
			this.#log.error({ err, run_id: state.run.id }, 'run bookkeeping failed');
		});
	}
}
