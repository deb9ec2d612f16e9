/**
 * @module realtime/workflows-list
 * What /workflows shows: the workflows, the files that do not load, and each workflow's last run,
 * kept live by `workflow.*` events. Loads coalesce (one at a time, and one more after it when
 * asked meanwhile), and a load merges each last run with what events brought, so a reload read
 * before an event never puts back an older run or an earlier state of the same one.
 */
import { ApiClient } from '$lib/api';
import {
	workflowRunOf,
	type AnyEventEnvelope,
	type WorkflowLoadError,
	type WorkflowRun,
	type WorkflowSummary
} from '$lib/protocol';
import type { RealtimeConnection } from './connection.svelte';
import { LIST_MAX_RATE } from './connection-types';
import { coalescedLoad } from './record-load';
import { mergeRecord, newestFirst } from './records';

export const WORKFLOWS_SUBSCRIPTION = 'workflows-page';
/** runs read to find each workflow's last one */
export const LAST_RUNS_LIMIT = 200;

export interface WorkflowsListOptions {
	connection: RealtimeConnection;
	api?: ApiClient;
}

/** The run to show as a workflow's last: the newer one, or the same run further along. */
export function lastRun(current: WorkflowRun | undefined, incoming: WorkflowRun): WorkflowRun {
	if (!current) return incoming;
	if (current.id === incoming.id) return mergeRecord(current, incoming);
	return newestFirst(current, incoming) > 0 ? incoming : current;
}

export class WorkflowsList {
	#workflows = $state.raw<WorkflowSummary[]>([]);
	#errors = $state.raw<WorkflowLoadError[]>([]);
	#lastRuns = $state.raw<Record<string, WorkflowRun>>({});
	#status = $state<'loading' | 'ready' | 'error'>('loading');
	#error = $state<string | null>(null);

	readonly #connection: RealtimeConnection;
	readonly #api: ApiClient;
	readonly #abort = new AbortController();
	#teardown: (() => void)[] = [];

	constructor(options: WorkflowsListOptions) {
		this.#connection = options.connection;
		this.#api = options.api ?? new ApiClient();
	}

	get workflows(): WorkflowSummary[] {
		return this.#workflows;
	}
	/** files that do not load, each with its reason */
	get errors(): WorkflowLoadError[] {
		return this.#errors;
	}
	/** each workflow's last run, by workflow name */
	get lastRuns(): Record<string, WorkflowRun> {
		return this.#lastRuns;
	}
	get status(): 'loading' | 'ready' | 'error' {
		return this.#status;
	}
	get error(): string | null {
		return this.#error;
	}

	/** Subscribes to `workflow.*`, then loads. Call from onMount. */
	start(): void {
		if (this.#teardown.length) return;
		this.#teardown.push(
			this.#connection.onEvent((event) => this.apply(event)),
			this.#connection.onReconnected(() => this.load())
		);
		this.#connection.subscribe(
			WORKFLOWS_SUBSCRIPTION,
			{ types: ['workflow.*'] },
			{ maxRate: LIST_MAX_RATE, reload: () => this.load() }
		);
		void this.load();
	}

	destroy(): void {
		for (const off of this.#teardown) off();
		this.#teardown = [];
		this.#connection.unsubscribe(WORKFLOWS_SUBSCRIPTION);
		this.#abort.abort();
	}

	/** Loads the list; concurrent calls share one load and one follow-up (never two at once). */
	readonly load = coalescedLoad(() => this.#loadOnce());

	async #loadOnce(): Promise<void> {
		const signal = this.#abort.signal;
		try {
			const [listed, runs] = await Promise.all([
				this.#api.listWorkflows(signal),
				this.#api.listRuns({ limit: LAST_RUNS_LIMIT }, signal)
			]);
			this.#workflows = listed.workflows;
			this.#errors = listed.errors;
			// events applied while the answer was on its way may be newer than it
			const next = { ...this.#lastRuns };
			for (const run of runs.runs) next[run.workflow] = lastRun(next[run.workflow], run);
			this.#lastRuns = next;
			this.#status = 'ready';
			this.#error = null;
		} catch (err) {
			if (signal.aborted) return;
			this.#status = 'error';
			this.#error = err instanceof Error ? err.message : String(err);
		}
	}

	/** Applies one event (public for tests; the connection calls it). */
	apply(event: AnyEventEnvelope): void {
		const run = workflowRunOf(event);
		if (!run) return;
		const current = this.#lastRuns[run.workflow];
		const next = lastRun(current, run);
		if (next !== current) this.#lastRuns = { ...this.#lastRuns, [run.workflow]: next };
	}
}
