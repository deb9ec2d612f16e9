/**
 * @module realtime/workflow-view
 * /workflows/[name]: the workflow (description, YAML, tasks and needs, or why its file does not
 * load) and its recent runs, live, with Run. A load merges the runs it reads with those events
 * brought (records.ts), so an answer read before an event never undoes it.
 */
import { ApiClient } from '$lib/api';
import {
	workflowRunOf,
	type AnyEventEnvelope,
	type WorkflowDetailResponse,
	type WorkflowRun
} from '$lib/protocol';
import type { RealtimeConnection } from './connection.svelte';
import { LIST_MAX_RATE } from './connection-types';
import { handleError, type ErrorHandler } from './handle-error';
import { coalescedLoad } from './record-load';
import { upsertRecord } from './records';

export const WORKFLOW_RUNS_LIMIT = 20;

export interface WorkflowViewOptions {
	connection: RealtimeConnection;
	name: string;
	api?: ApiClient;
	onError?: ErrorHandler;
}

export class WorkflowView {
	readonly name: string;

	#detail = $state.raw<WorkflowDetailResponse | null>(null);
	#runs = $state.raw<WorkflowRun[]>([]);
	#status = $state<'loading' | 'ready' | 'not_found' | 'error'>('loading');
	#error = $state<string | null>(null);
	#starting = $state(false);

	readonly #connection: RealtimeConnection;
	readonly #api: ApiClient;
	readonly #onError: ErrorHandler;
	readonly #abort = new AbortController();
	#teardown: (() => void)[] = [];

	constructor(options: WorkflowViewOptions) {
		this.name = options.name;
		this.#connection = options.connection;
		this.#api = options.api ?? new ApiClient();
		this.#onError = options.onError ?? handleError;
	}

	get detail(): WorkflowDetailResponse | null {
		return this.#detail;
	}
	/** newest first */
	get runs(): WorkflowRun[] {
		return this.#runs;
	}
	get status(): 'loading' | 'ready' | 'not_found' | 'error' {
		return this.#status;
	}
	get error(): string | null {
		return this.#error;
	}
	get starting(): boolean {
		return this.#starting;
	}

	#subscription(): string {
		return `workflow:${this.name}`;
	}

	start(): void {
		if (this.#teardown.length) return;
		this.#teardown.push(
			this.#connection.onEvent((event) => this.apply(event)),
			this.#connection.onReconnected(() => this.load())
		);
		this.#connection.subscribe(
			this.#subscription(),
			{ types: ['workflow.*'] },
			{ maxRate: LIST_MAX_RATE, reload: () => this.load() }
		);
		void this.load();
	}

	destroy(): void {
		for (const off of this.#teardown) off();
		this.#teardown = [];
		this.#connection.unsubscribe(this.#subscription());
		this.#abort.abort();
	}

	/**
	 * Loads the workflow and its runs; concurrent calls (the mount's and the confirmation's, a
	 * resync's) share one load and one follow-up, so an older answer never lands after a newer one.
	 */
	readonly load = coalescedLoad(() => this.#loadOnce());

	async #loadOnce(): Promise<void> {
		const signal = this.#abort.signal;
		try {
			const [detail, runs] = await Promise.all([
				this.#api.getWorkflow(this.name, signal),
				this.#api.listRuns({ workflow: this.name, limit: WORKFLOW_RUNS_LIMIT }, signal)
			]);
			this.#detail = detail;
			let list = runs.runs;
			for (const run of this.#runs) list = upsertRecord(list, run, WORKFLOW_RUNS_LIMIT);
			this.#runs = list;
			this.#status = 'ready';
			this.#error = null;
		} catch (err) {
			if (signal.aborted) return;
			const status = (err as { status?: number }).status;
			this.#status = status === 404 ? 'not_found' : 'error';
			this.#error = err instanceof Error ? err.message : String(err);
		}
	}

	apply(event: AnyEventEnvelope): void {
		const run = workflowRunOf(event);
		if (run?.workflow !== this.name) return;
		this.#runs = upsertRecord(this.#runs, run, WORKFLOW_RUNS_LIMIT);
	}

	/** Starts a run; returns it (the page opens it), or null after showing the error. */
	async startRun(): Promise<WorkflowRun | null> {
		if (this.#starting) return null;
		this.#starting = true;
		try {
			const { run } = await this.#api.startRun(this.name);
			this.#runs = upsertRecord(this.#runs, run, WORKFLOW_RUNS_LIMIT);
			return run;
		} catch (err) {
			this.#onError(err, `Could not start workflow "${this.name}"`);
			return null;
		} finally {
			this.#starting = false;
		}
	}
}
