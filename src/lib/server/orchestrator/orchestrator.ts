/**
 * @module orchestrator/orchestrator
 * Runs workflows on one node through the task queue (store/queue.ts): a run and its tasks are
 * stored, the run is planned (which tasks may start), and this node claims ready tasks while it
 * has free slots (`concurrency` per node). With PostgreSQL every node claims from the same
 * queue, so the work of a run spreads over the nodes; with SQLite the same seam runs in process.
 *
 * A run whose first plan fails ends failed at once, naming the cause, and startRun rejects with
 * it: on SQLite nothing else would plan the run before a restart, and the caller is waiting.
 *
 * When a task ends, its node plans the run again (dependants become ready, blocked ones fail,
 * progress moves, the run ends), then claims again. When a running task's progress is stored,
 * the node running it plans its run too, so the run's progress (weighted by each task's own
 * progress, see run-state.runProgress) moves while its tasks do; such plans are coalesced to one
 * waiting per run. Cancel goes through the store: queued tasks
 * end at once; running ones are stopped by the node holding them (a signal reaches it within a
 * second; the stop is stored too, and renewing the lease reports it, should the signal be lost).
 * With a shared store each node renews leases on the tasks it runs (only those: a task it holds
 * but runs nothing for, its claim's answer lost, is left to run out), releases the tasks of
 * nodes whose leases ran out (queued again where `retries` allows, interrupted otherwise), and
 * looks for work on a timer as well as when signalled.
 *
 * Every write about a task this node runs is guarded by its claim, so a node that lost a task
 * (it was too slow to renew) cannot overwrite what another node does with it. Plans of one run
 * are serialised on a node, and by the run's row lock across nodes.
 *
 * A node that cannot renew its hold on a task that another node would start again (a retry left)
 * stops its tool before the lease can run out elsewhere (orchestrator/fence), so that two nodes
 * never run it at once; a task without a retry left keeps running through the outage.
 */
import type { WorkflowLoadError, WorkflowRun, WorkflowSummary } from '../../protocol';
import type { EventBus } from '../bus/types';
import type { OrchestratorConfig } from '../config';
import type { StorageGuard } from '../disk-guard';
import type { Logger } from '../logger';
import { secretNameTest, type SecretNameTest } from '../masking/secret-env';
import type {
	ClaimedTask,
	HeldTask,
	QueueSignal,
	ReleasedTask,
	RunPlanner,
	StopReason,
	TaskQueue
} from '../store/queue';
import type { Store } from '../store/types';
import { taskChanged, taskCreated, toolEnded, workflowEnded, workflowProgress } from './emit';
import { abortRunPlan, CANCELLED_BEFORE_START, INTERRUPTED_REASON, planRun } from './run-state';
import { withSecretValues, withoutSecretValues } from './spec-secrets';
import { ClaimLostError, TaskRunner } from './task-runner';
import { FENCED_REASON, fenceDeadline, mustFence, renewRetryMs, renewTimeoutMs } from './fence';
import { toolEnvironment, type ToolEnvironment } from './tool-env';
import {
	createWorkflowCache,
	loadWorkflows,
	toWorkflowSummary,
	type LoadedWorkflows,
	type LoadOptions,
	type WorkflowCache
} from './workflow-loader';
import type { TaskDef } from './workflow-file';
import { ParseThreads } from './workflow-parse';
import { OrchestratorClosedError, type Orchestrator } from './types';
import { RunNotStartedError, storeFailureReason, workflowStartError } from './workflow-errors';
import type { FeedShare } from './pipe-feed';

export { INTERRUPTED_REASON };

export interface OrchestratorDeps {
	store: Store;
	bus: EventBus;
	config: OrchestratorConfig;
	logger: Logger;
	/** this node's id: who claims and holds tasks (default "local") */
	node?: string;
	/** the data folder's disk-full guard (see disk-guard) */
	storage?: StorageGuard;
	/** the environment tools start from; the server's own (process.env) when omitted */
	env?: Readonly<Record<string, string | undefined>>;
	/** what the pipe feeds of the node's tools share: a budget per loop turn, word of a flood (loop-share.ts) */
	feedShare?: FeedShare;
	/** the threads large workflow files parse in (default: its own); shutdown closes them either way */
	parseThreads?: ParseThreads;
}

/** why a task whose node stopped renewing its lease was released */
export const NODE_LOST_REASON =
	'the node running this task stopped renewing its hold on it (it died or lost the database)';

export function nodeStoppedReason(node: string): string {
	return `the node running this task (${node}) shut down`;
}

/**
 * How long a node shutting down waits, past the kill grace period (SIGTERM, then SIGKILL), for its
 * runners to store their tools' last lines and ends before it hands their tasks over.
 */
export const HANDOVER_EXTRA_MS = 1_000;

interface Running {
	runner: TaskRunner;
	runId: string;
	/** the attempt of the task this runner's claim holds */
	attempt: number;
	/** times the task may start again (see fence.wouldStartAgain) */
	retries: number;
	/**
	 * When this node last sent a claim or renewal of this hold that succeeded (performance.now()):
	 * the lease lasts at least `leaseMs` from then
	 */
	heldSince: number;
	/** its tool was stopped as this node could not renew the hold (fence.ts); it is renewed no more */
	fenced: boolean;
	/**
	 * Its fence came due while its runner was stopping already (a cancel, which ends the task as
	 * asked): no fence is tried again, or the fence timer, its deadline past, would fire at once
	 * until the runner ends. It is still renewed.
	 */
	fenceDeclined: boolean;
	/** settles once the runner has ended (its tool has exited) */
	ended: Promise<unknown>;
}

export function createOrchestrator(deps: OrchestratorDeps): Orchestrator {
	return new WorkflowOrchestrator(deps);
}

class WorkflowOrchestrator implements Orchestrator {
	#deps: OrchestratorDeps;
	#queue: TaskQueue;
	#node: string;
	#log: Logger;
	/** tasks this node runs, by task id */
	#running = new Map<string, Running>();
	/** runs started here and not yet seen ending (embedded mode interrupts them on shutdown) */
	#openRuns = new Set<string>();
	/** per run, the tail of its plans on this node */
	#plans = new Map<string, Promise<unknown>>();
	/** runs with a plan for a task's progress waiting to start (one is enough for any number) */
	#progressPlans = new Set<string>();
	/** runner completions and their follow-up, awaited on shutdown */
	#work = new Set<Promise<unknown>>();
	#pumping: Promise<void> | null = null;
	#pumpAgain = false;
	#closed = false;
	/** shutting down with a shared store: the release, not the runners, decides how tasks go on */
	#handingOver = false;
	#shutdown: Promise<void> | null = null;
	/** startRun calls still writing their run's records */
	#starting = new Set<Promise<WorkflowRun>>();
	#reportedErrors = '[]';
	#timers: NodeJS.Timeout[] = [];
	/** the next renewal (renewals are sent one after another: every third of a lease, sooner after a failure) */
	#renewTimer: NodeJS.Timeout | null = null;
	/** set for the earliest fence deadline of the tasks running here (a shared store only) */
	#fenceTimer: NodeJS.Timeout | null = null;
	/** the runners are stopped (at shutdown): no fence is needed any more */
	#fenceOff = false;
	/** renewals have failed since the last that succeeded (retried often: said once) */
	#renewFailing = false;
	#unlisten: () => void;
	/** since when the database has answered without a failure (reaping waits a lease after one) */
	#healthySince = Date.now();
	/** read once: the server's environment does not change while it runs */
	#toolEnv: ToolEnvironment;
	#isSecretName: SecretNameTest;
	/** listings parse only the workflow files that changed since the last one */
	#workflowCache: WorkflowCache = createWorkflowCache();
	/** large workflow files parse in these threads; shutdown stops one still parsing */
	readonly #parseThreads: ParseThreads;
	/** how this node reads its workflow files (listings and a step's secrets alike) */
	readonly #loadOptions: LoadOptions;

	constructor(deps: OrchestratorDeps) {
		this.#deps = deps;
		this.#queue = deps.store.queue;
		this.#node = deps.node ?? 'local';
		this.#log = deps.logger.child({ module: 'orchestrator' });
		this.#toolEnv = toolEnvironment(deps.env ?? process.env, { remove: deps.config.toolEnvRemove });
		this.#isSecretName = secretNameTest(deps.config.maskEnv ?? []);
		this.#parseThreads = deps.parseThreads ?? new ParseThreads();
		this.#loadOptions = {
			cache: this.#workflowCache,
			threads: this.#parseThreads,
			// the warning the README promises; the file was parsed all the same
			onThreadFailed: (file, err) =>
				this.#log.warn(
					{ err, file },
					'parsing a large workflow file in a thread failed; parsed it on the event loop'
				)
		};
		if (this.#toolEnv.removed.length > 0) {
			this.#log.info({ removed: this.#toolEnv.removed }, "the server's credentials are kept from tools");
		}
		this.#unlisten = this.#queue.onSignal((signal) => this.#onSignal(signal));
		if (this.#queue.shared) this.#startTimers();
	}

	async listWorkflows(): Promise<{ workflows: WorkflowSummary[]; errors: WorkflowLoadError[] }> {
		const { workflows, errors } = await this.#loadWorkflows();
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

	#loadWorkflows(): Promise<LoadedWorkflows> {
		return loadWorkflows(this.#deps.config.workflowsDir, this.#loadOptions);
	}

	async #startRun(workflowName: string): Promise<WorkflowRun> {
		const loaded = await this.#loadWorkflows();
		// nothing is stored yet, so a shutdown that began meanwhile can still refuse the run
		if (this.#closed) throw new OrchestratorClosedError();
		const workflow = loaded.workflows.find((candidate) => candidate.name === workflowName);
		if (!workflow) throw workflowStartError(workflowName, loaded);

		const { bus } = this.#deps;
		const totalWeight = workflow.tasks.reduce((sum, task) => sum + task.weight, 0);
		const { run, tasks } = await this.#queue.createRun(
			{ workflow: workflow.name, total_weight: totalWeight },
			workflow.tasks.map((def) => ({
				run_id: null,
				key: def.key,
				name: def.name,
				needs: def.needs,
				weight: def.weight,
				optional: def.optional,
				step_count: def.steps.length,
				spec: withoutSecretValues(def, workflow.name, this.#isSecretName),
				retries: def.retries
			}))
		);
		this.#openRuns.add(run.id);
		for (const task of tasks) taskCreated(bus, task);
		workflowProgress(bus, run);
		this.#log.info({ run_id: run.id, workflow: workflow.name }, 'run started');
		// a failure here is reported once, by #abortStart, with what became of the run
		const failure = await this.#plan(run.id, { failure: null });
		if (failure !== null) throw await this.#abortStart(workflow.name, run.id, failure);
		this.#pump();
		return run;
	}

	/** ends a run whose first plan failed with `cause`; returns what its caller is told */
	async #abortStart(workflow: string, runId: string, cause: unknown): Promise<RunNotStartedError> {
		const reason = storeFailureReason(cause);
		const aborted = `planning the run failed as it started: ${reason}`;
		const failure = await this.#plan(runId, {
			planner: (input) => abortRunPlan(input, aborted),
			failure: 'ending a run whose first plan failed failed too'
		});
		const ended = failure === null && !this.#openRuns.has(runId);
		const outcome = ended ? 'failed' : this.#queue.shared ? 'open-shared' : 'open';
		this.#log.error({ err: cause, run_id: runId, outcome }, 'a run could not be planned as it started');
		return new RunNotStartedError(workflow, runId, reason, outcome, cause);
	}

	async cancelRun(runId: string): Promise<boolean> {
		const running = await this.#queue.stopRun(runId, 'cancelled');
		if (running === null) return false;
		for (const task of running) {
			// the run's stop is stored already: its holder's next renew reports it all the same
			await this.#stopAnywhere(task.id, 'cancelled').catch((err) => {
				this.#log.error({ err, task_id: task.id }, 'could not reach the node running the task');
			});
		}
		// queued tasks are stored as cancelled before this resolves; running ones follow when their tools exit
		await this.#plan(runId);
		this.#log.info({ run_id: runId }, 'run cancelled');
		return true;
	}

	async cancelTask(taskId: string): Promise<boolean> {
		for (let attempt = 0; attempt < 2; attempt++) {
			const holder = await this.#queue.holder(taskId);
			if (!holder) return false;
			if (holder.status === 'queued') {
				const task = await this.#queue.cancelQueued(taskId, CANCELLED_BEFORE_START);
				// claimed meanwhile: look again
				if (!task) continue;
				taskChanged(this.#deps.bus, task);
				await this.#plan(holder.run_id);
				this.#pump();
			} else if (holder.status === 'running') {
				// ended or released meanwhile: look again
				if (!(await this.#stopAnywhere(taskId, 'cancelled'))) continue;
			} else {
				return false;
			}
			this.#log.info({ task_id: taskId }, 'task cancelled');
			return true;
		}
		return false;
	}

	async recover(): Promise<void> {
		try {
			if (!this.#queue.shared) {
				// the only node: whatever a previous process left running or queued is over
				const counts = await this.#deps.store.markInterrupted(INTERRUPTED_REASON);
				if (counts.runs + counts.tasks + counts.executions > 0) {
					this.#log.warn(counts, 'marked work left running by a previous process as interrupted');
				}
				return;
			}
			// other nodes may be running; only what this node id held before a restart is over
			const released = await this.#queue.release({ node: this.#node }, nodeStoppedReason(this.#node));
			if (released.length) {
				this.#log.warn({ tasks: released.length }, 'released tasks this node held before it restarted');
				await this.#afterRelease(released);
			}
		} catch (err) {
			this.#log.error({ err }, 'recovering work left by a previous process failed');
		}
	}

	shutdown(): Promise<void> {
		this.#shutdown ??= (async () => {
			this.#closed = true;
			for (const timer of this.#timers) clearInterval(timer);
			this.#timers = [];
			if (this.#renewTimer) clearTimeout(this.#renewTimer);
			this.#renewTimer = null;
			// The fence timer stays until the runners have been told to stop: cut off from the database,
			// the claim awaited here and the handover's renewal may each hang until their timeout while
			// the leases run out, and another node must not start a task whose tool still runs here.
			// a run whose records are being written joins #openRuns when they are, and is stopped then
			await Promise.allSettled([...this.#starting]);
			await this.#pumping;
			const stopped = this.#running.size;
			if (!this.#queue.shared) {
				for (const runId of [...this.#openRuns]) {
					const running = await this.#queue.stopRun(runId, 'interrupted').catch(() => null);
					for (const task of running ?? []) this.#running.get(task.id)?.runner.stop('interrupted');
					await this.#plan(runId);
				}
				await this.#stopParsing();
			} else {
				// Stop the tools before handing their tasks over: released first, a task could start
				// again on another node while its tool here still handles SIGTERM. Writes about the
				// tasks are refused here meanwhile, as they are once released, so a runner cannot store
				// its task as interrupted and the release still decides (queued again, or interrupted);
				// only a task that succeeded is stored (it must not run again elsewhere).
				this.#handingOver = true;
				const waitMs = this.#deps.config.killGraceMs + HANDOVER_EXTRA_MS;
				// the renewals have stopped: the leases must outlast the wait, or another node's sweep
				// would start a task again while its tool here still handles SIGTERM
				const claims = [...this.#running]
					.filter(([, running]) => !running.fenced)
					.map(([id, { attempt }]) => ({ id, attempt }));
				if (claims.length > 0) {
					await this.#queue
						.renew(this.#node, this.#deps.config.leaseMs + waitMs, claims)
						.catch((err) => this.#failed(err, 'renewing task leases before handing them over failed'));
				}
				const ended = [...this.#running.values()].map(({ runner, ended }) => {
					runner.stop('interrupted');
					return ended;
				});
				this.#stopFencing();
				await this.#stopParsing();
				await settledWithin(ended, waitMs);
				const released = await this.#queue
					.release({ node: this.#node }, nodeStoppedReason(this.#node))
					.catch((err) => {
						this.#log.error({ err }, 'releasing this node’s tasks failed; their leases will run out');
						return [] as ReleasedTask[];
					});
				await this.#afterRelease(released);
				await this.#queue.leave(this.#node).catch(() => {});
			}
			this.#stopFencing();
			while (this.#work.size > 0) await Promise.allSettled([...this.#work]);
			this.#unlisten();
			if (stopped > 0) this.#log.info({ tasks: stopped }, 'running work stopped');
		})();
		return this.#shutdown;
	}

	/**
	 * Stops the threads still parsing a large workflow file: a listing's, or a runner's reading its
	 * secret values (which ends as stopped: its runner was told to stop first, so this comes after).
	 * A run being started has been stored or refused by now (`#starting` was awaited).
	 */
	#stopParsing(): Promise<void> {
		return this.#parseThreads.close();
	}

	/** Claims ready tasks while this node has free slots; one claim at a time. */
	#pump(): void {
		if (this.#closed) return;
		if (this.#pumping) {
			this.#pumpAgain = true;
			return;
		}
		this.#pumping = this.#claim().finally(() => {
			this.#pumping = null;
			if (this.#pumpAgain) {
				this.#pumpAgain = false;
				this.#pump();
			}
		});
	}

	async #claim(): Promise<void> {
		const { concurrency, leaseMs } = this.#deps.config;
		const free = concurrency - this.#running.size;
		if (free <= 0 || this.#closed) return;
		let claimed: ClaimedTask[];
		// the lease starts when PostgreSQL runs the claim, after this
		const sent = performance.now();
		try {
			claimed = await this.#queue.claim(this.#node, free, this.#queue.shared ? leaseMs : null);
			this.#healthy();
		} catch (err) {
			this.#failed(err, 'claiming tasks failed; will try again');
			return;
		}
		for (const task of claimed) this.#start(task, sent);
	}

	#start({ task, spec, claim, retries }: ClaimedTask, heldSince: number): void {
		const { store, bus, config } = this.#deps;
		const queue = this.#queue;
		const runId = task.run_id!;
		const runner = new TaskRunner(
			{
				store,
				bus,
				config,
				logger: this.#log,
				interruptedReason: INTERRUPTED_REASON,
				toolEnv: this.#toolEnv,
				isSecretName: this.#isSecretName,
				storage: this.#deps.storage,
				...(this.#deps.feedShare ? { feedShare: this.#deps.feedShare } : {}),
				runnableSteps: (def) => withSecretValues(def, config.workflowsDir, this.#loadOptions),
				updateTask: async (id, patch) => {
					// handing over, only a task that succeeded (its last step ended well on its own, before
					// or while the tools were told to stop) is stored: the release decides the rest. A
					// failure may be the shutdown's own doing (systemd signals a unit's whole control group,
					// so a tool can die of that SIGTERM before the runner tells it to stop)
					if (this.#handingOver && patch.status !== 'succeeded') throw new ClaimLostError(id);
					const updated = await queue.updateClaimed(id, claim, patch);
					if (!updated) throw new ClaimLostError(id);
					if (patch.progress !== undefined && updated.status === 'running') this.#progressed(runId);
					return updated;
				}
			},
			task,
			spec as TaskDef
		);
		// this node lost the task (cut off from the database for longer than its lease) and got it back
		// as a new attempt; the earlier run may still be going and would run every step beside this one
		const earlier = this.#running.get(task.id);
		if (earlier) {
			this.#log.warn(
				{ task_id: task.id },
				'claimed a task again that an earlier attempt here still runs; stopping it'
			);
			earlier.runner.stop('interrupted');
		}
		const ended = runner.run().catch((err) => {
			// run() does not reject; this only keeps the node alive if that ever changes
			this.#log.error({ err, task_id: task.id }, 'task runner rejected');
		});
		const running: Running = {
			runner,
			runId,
			attempt: claim.attempt,
			retries,
			heldSince,
			fenced: false,
			fenceDeclined: false,
			ended
		};
		this.#running.set(task.id, running);
		this.#armFence();
		const done = ended.then(async () => {
			// a later attempt of the task may have taken this one's place
			if (this.#running.get(task.id) === running) this.#running.delete(task.id);
			await this.#plan(runId);
			this.#pump();
		});
		this.#track(done);
	}

	/**
	 * Stops a running task: here, or on the node that holds it (stored, and signalled); false when
	 * it was not running any more. Rejects when the stop could not be stored.
	 */
	async #stopAnywhere(taskId: string, reason: StopReason): Promise<boolean> {
		const local = this.#running.get(taskId);
		if (!local) return this.#queue.stopTask(taskId, reason);
		local.runner.stop(reason);
		// stored too where other nodes may take the task over: should this node hand it over or
		// die before its tool has exited, the task ends as asked instead of starting again
		if (this.#queue.shared) {
			await this.#queue.stopTask(taskId, reason).catch((err: unknown) => {
				this.#log.warn({ err, task_id: taskId }, 'could not store the stop; stopping the tool here');
			});
		}
		return true;
	}

	#onSignal(signal: QueueSignal): void {
		if (signal.kind === 'work') this.#pump();
		else if (signal.kind === 'cancel') this.#running.get(signal.task_id)?.runner.stop(signal.reason);
	}

	/**
	 * A running task's progress was stored: plan its run so the run's progress follows. One such
	 * plan waits per run; progress stored while it waits is read when it runs.
	 */
	#progressed(runId: string): void {
		if (this.#progressPlans.has(runId)) return;
		this.#progressPlans.add(runId);
		this.#track(this.#plan(runId, { starting: () => this.#progressPlans.delete(runId) }));
	}

	/**
	 * Plans a run (after anything earlier planned for it here) and announces what changed; resolves
	 * with the error when planning failed, null otherwise. A failure is logged as `options.failure`
	 * says (by default as one the next task end or sweep plans again); null: the caller reports it.
	 */
	#plan(
		runId: string,
		options: { starting?: () => void; planner?: RunPlanner; failure?: string | null } = {}
	): Promise<unknown> {
		const previous = this.#plans.get(runId) ?? Promise.resolve();
		const next = previous.then(() => {
			options.starting?.();
			return this.#planNow(
				runId,
				options.planner ?? ((input) => planRun(input)),
				options.failure === undefined
					? 'planning a run failed; the next task end or sweep plans it again'
					: options.failure
			);
		});
		this.#plans.set(runId, next);
		void next.then(() => {
			if (this.#plans.get(runId) === next) this.#plans.delete(runId);
		});
		return next;
	}

	async #planNow(runId: string, planner: RunPlanner, failure: string | null): Promise<unknown> {
		const { bus } = this.#deps;
		let result;
		try {
			result = await this.#queue.planRun(runId, planner);
			this.#healthy();
		} catch (err) {
			this.#failed(err, failure);
			return err;
		}
		if (!result) {
			this.#openRuns.delete(runId);
			return null;
		}
		for (const task of result.ended) taskChanged(bus, task);
		if (result.progressed) workflowProgress(bus, result.progressed);
		if (result.finished) {
			this.#openRuns.delete(runId);
			workflowEnded(bus, result.finished);
			const { status, error } = result.finished;
			this.#log.info({ run_id: runId, status, error }, 'run ended');
		}
		return null;
	}

	/** announces released tasks and plans their runs */
	async #afterRelease(released: ReleasedTask[]): Promise<void> {
		const { bus } = this.#deps;
		const runs = new Set<string>();
		for (const { task, executions } of released) {
			for (const execution of executions) toolEnded(bus, task, execution);
			taskChanged(bus, task);
			if (task.run_id) runs.add(task.run_id);
		}
		for (const runId of runs) await this.#plan(runId);
	}

	#startTimers(): void {
		const { leaseMs } = this.#deps.config;
		const every = (ms: number, fn: () => Promise<void>) => {
			let busy = false;
			const timer = setInterval(() => {
				if (busy || this.#closed) return;
				busy = true;
				void fn().finally(() => (busy = false));
			}, ms);
			timer.unref();
			this.#timers.push(timer);
		};
		this.#scheduleRenewal(this.#renewEveryMs());
		every(Math.max(100, Math.floor(leaseMs / 2)), () => this.#reap());
		// signals bring work at once; this catches what a lost signal connection missed
		every(Math.max(100, Math.min(2_000, Math.floor(leaseMs / 2))), async () => this.#pump());
	}

	#renewEveryMs(): number {
		return Math.max(100, Math.floor(this.#deps.config.leaseMs / 3));
	}

	/**
	 * Sends the next renewal in `delayMs`: a third of a lease after the last one was sent, or soon
	 * (fence.renewRetryMs) after one that failed was sent, so that a blip is repaired well before a
	 * fence is due. Both are timed from the send: one that hung until its timeout is tried again at once.
	 */
	#scheduleRenewal(delayMs: number): void {
		if (this.#closed) return;
		this.#renewTimer = setTimeout(() => {
			this.#renewTimer = null;
			const sent = performance.now();
			void this.#renew()
				.catch(() => false)
				.then((renewed) => {
					const afterMs = renewed ? this.#renewEveryMs() : renewRetryMs(this.#deps.config);
					this.#scheduleRenewal(Math.max(0, sent + afterMs - performance.now()));
				});
		}, delayMs);
		this.#renewTimer.unref();
	}

	/** false when the renewal failed (the database could not be reached) */
	async #renew(): Promise<boolean> {
		if (this.#running.size === 0) return true;
		// only runners started before the answer was asked for are judged by it; a fenced one's hold
		// is left to run out, so that its release starts the task again
		const before = [...this.#running].filter(([, running]) => !running.fenced);
		if (before.length === 0) return true;
		let held: Map<string, HeldTask>;
		// the renewed leases last from when PostgreSQL ran the renewal, after this
		const sent = performance.now();
		try {
			// Only the claims runners here hold: a task this node holds with no runner (its claim
			// committed, but the answer was lost) must not be kept alive by every renewal; its lease
			// runs out and the expired-lease release starts it again. A claim whose answer is on its
			// way is missing here too, but the claim gave it a whole lease and its runner starts as
			// the answer arrives, so the next renewal (a third of a lease on) names it.
			const runs = before.map(([id, { attempt }]) => ({ id, attempt }));
			// no answer within a sixth of a lease: tried again while the fence is still a sixth away
			const renewed = await this.#queue.renew(this.#node, this.#deps.config.leaseMs, runs, {
				timeoutMs: renewTimeoutMs(this.#deps.config)
			});
			held = new Map(renewed.map((task) => [task.id, task]));
			this.#healthy();
		} catch (err) {
			// tools keep running (but fenced ones: #fence); the lease is renewed once the database answers again
			this.#failed(err, this.#renewFailing ? null : 'renewing task leases failed; will try again');
			this.#renewFailing = true;
			return false;
		}
		this.#renewFailing = false;
		for (const [id, running] of before) {
			if (this.#running.get(id) !== running) continue;
			const task = held.get(id);
			if (task?.attempt === running.attempt) {
				running.heldSince = Math.max(running.heldSince, sent);
				// asked to stop on a node whose signal did not reach this one
				if (task.stopping) running.runner.stop(task.stopping);
				continue;
			}
			// another node took it over (this node was too slow to renew), or this node holds a later
			// attempt of it (it got the task back): stop the tool
			this.#log.warn({ task_id: id }, 'lost the hold on a running task; stopping its tool');
			running.runner.stop('interrupted');
		}
		this.#armFence();
		return true;
	}

	/**
	 * Stops the tools of tasks whose hold this node could not renew for long enough that another
	 * node may soon start them again (fence.ts says which, and when).
	 */
	#fence(): void {
		const now = performance.now();
		for (const [id, running] of this.#running) {
			if (running.fenceDeclined || !mustFence(running, now, this.#deps.config)) continue;
			if (!running.runner.fence(FENCED_REASON)) {
				running.fenceDeclined = true;
				continue;
			}
			running.fenced = true;
			this.#log.warn(
				{ task_id: id, attempt: running.attempt, unrenewed_ms: Math.round(now - running.heldSince) },
				'could not renew the hold on a running task that another node would start again; stopping its tool'
			);
		}
		this.#armFence();
	}

	/**
	 * Sets the fence timer for the earliest fence deadline of the tasks running here, so a fence
	 * comes at its deadline (the margin before the lease's end is for the timer's lag, not for a
	 * check interval). Only a shared store has leases to fence for.
	 */
	#armFence(): void {
		if (this.#fenceTimer) clearTimeout(this.#fenceTimer);
		this.#fenceTimer = null;
		if (!this.#queue.shared || this.#fenceOff) return;
		let next = Infinity;
		for (const running of this.#running.values())
			if (!running.fenceDeclined)
				next = Math.min(next, fenceDeadline(running, this.#deps.config) ?? Infinity);
		if (next === Infinity) return;
		// a timer may fire a little before performance.now() says it is due: #fence sets it again then
		this.#fenceTimer = setTimeout(() => this.#fence(), Math.max(0, Math.ceil(next - performance.now())));
		this.#fenceTimer.unref();
	}

	#stopFencing(): void {
		this.#fenceOff = true;
		this.#armFence();
	}

	async #reap(): Promise<void> {
		// after an outage every node renews first: its tasks must not look abandoned to the others
		if (Date.now() - this.#healthySince < this.#deps.config.leaseMs) return;
		let released: ReleasedTask[];
		let stalled: string[];
		try {
			released = await this.#queue.release({ expired: true }, NODE_LOST_REASON);
			stalled = await this.#queue.stalledRuns(this.#deps.config.leaseMs);
		} catch (err) {
			this.#failed(err, 'looking for abandoned tasks failed; will try again');
			return;
		}
		for (const runId of stalled) {
			this.#log.warn(
				{ run_id: runId },
				'a run was left unplanned (its node died while starting it); planning it'
			);
			await this.#plan(runId);
		}
		if (released.length === 0) {
			if (stalled.length) this.#pump();
			return;
		}
		for (const item of released) {
			this.#log.warn(
				{ task_id: item.task.id, node: item.node, requeued: item.requeued },
				item.requeued
					? 'a node stopped renewing a task; it starts again'
					: 'a node stopped renewing a task; it is interrupted'
			);
		}
		await this.#afterRelease(released);
		this.#pump();
	}

	#healthy(): void {
		if (this.#healthySince === Infinity) this.#healthySince = Date.now();
	}

	/** the store failed under this node; logged as `message` (null: the caller reports it) */
	#failed(err: unknown, message: string | null): void {
		this.#healthySince = Infinity;
		if (message !== null) this.#log.warn({ err }, message);
	}

	#track(promise: Promise<unknown>): void {
		this.#work.add(promise);
		void promise.finally(() => this.#work.delete(promise));
	}
}

/** resolves once every promise has settled, or after `ms`, whichever comes first */
async function settledWithin(promises: Promise<unknown>[], ms: number): Promise<void> {
	if (promises.length === 0) return;
	let timer: NodeJS.Timeout | undefined;
	const timeout = new Promise<void>((resolve) => {
		timer = setTimeout(resolve, ms);
		timer.unref();
	});
	try {
		await Promise.race([Promise.allSettled(promises), timeout]);
	} finally {
		clearTimeout(timer);
	}
}
