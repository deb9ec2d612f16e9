/**
 * @module realtime/runs-list
 * The /runs list: every run, newest first, filtered by workflow and status, a page at a time,
 * live: a new run that matches shows up at the top of the first page, a run that changes is
 * updated in place (and leaves the list when it no longer matches the status filter).
 */
import { ApiClient } from '$lib/api';
import { workflowRunOf, type AnyEventEnvelope, type RunStatus, type WorkflowRun } from '$lib/protocol';
import type { RealtimeConnection } from './connection.svelte';
import { LIST_MAX_RATE } from './connection-types';
import { handleError, type ErrorHandler } from './handle-error';
import { mergeRecord, newestFirst } from './records';

export const RUNS_PAGE_SIZE = 25;
export const RUNS_SUBSCRIPTION = 'runs-list';

export interface RunsFilter {
	workflow: string;
	status: RunStatus | '';
	/** 0-based page */
	page: number;
}

export interface RunsListOptions {
	connection: RealtimeConnection;
	api?: ApiClient;
	pageSize?: number;
	onError?: ErrorHandler;
}

export class RunsList {
	#runs = $state.raw<WorkflowRun[]>([]);
	#hasMore = $state(false);
	#status = $state<'idle' | 'loading' | 'ready' | 'error'>('idle');
	#error = $state<string | null>(null);
	#filter = $state.raw<RunsFilter>({ workflow: '', status: '', page: 0 });
	#workflows = $state.raw<string[]>([]);

	readonly #connection: RealtimeConnection;
	readonly #api: ApiClient;
	readonly #pageSize: number;
	readonly #onError: ErrorHandler;
	#teardown: (() => void)[] = [];
	#abort: AbortController | null = null;
	#generation = 0;
	/** the runs events brought while the newest load was out: its answer may predate them */
	#touched: Map<string, WorkflowRun> | null = null;

	constructor(options: RunsListOptions) {
		this.#connection = options.connection;
		this.#api = options.api ?? new ApiClient();
		this.#pageSize = options.pageSize ?? RUNS_PAGE_SIZE;
		this.#onError = options.onError ?? handleError;
	}

	get runs(): WorkflowRun[] {
		return this.#runs;
	}
	get hasMore(): boolean {
		return this.#hasMore;
	}
	get status(): 'idle' | 'loading' | 'ready' | 'error' {
		return this.#status;
	}
	get error(): string | null {
		return this.#error;
	}
	get filter(): RunsFilter {
		return this.#filter;
	}
	get pageSize(): number {
		return this.#pageSize;
	}
	/** workflow names for the filter: the loadable ones and any seen in runs */
	get workflows(): string[] {
		return this.#workflows;
	}

	start(filter: RunsFilter): void {
		this.#filter = filter;
		if (this.#teardown.length === 0) {
			this.#abort = new AbortController();
			this.#teardown.push(
				this.#connection.onEvent((event) => this.apply(event)),
				this.#connection.onReconnected(() => this.load())
			);
			this.#connection.subscribe(
				RUNS_SUBSCRIPTION,
				{ types: ['workflow.*'] },
				{ maxRate: LIST_MAX_RATE, reload: () => this.load() }
			);
			void this.#loadWorkflows();
		}
		void this.load();
	}

	destroy(): void {
		for (const off of this.#teardown) off();
		this.#teardown = [];
		this.#connection.unsubscribe(RUNS_SUBSCRIPTION);
		this.#abort?.abort();
	}

	/** A new filter or page: loads it (the page keeps it in the URL). */
	setFilter(filter: RunsFilter): void {
		const current = this.#filter;
		if (
			current.workflow === filter.workflow &&
			current.status === filter.status &&
			current.page === filter.page
		)
			return;
		this.#filter = filter;
		void this.load();
	}

	async load(): Promise<void> {
		const generation = ++this.#generation;
		const { workflow, status, page } = this.#filter;
		if (this.#status !== 'ready') this.#status = 'loading';
		// eslint-disable-next-line svelte/prefer-svelte-reactivity -- bookkeeping during a load, never rendered
		const touched = new Map<string, WorkflowRun>();
		this.#touched = touched;
		try {
			const res = await this.#api.listRuns(
				{
					workflow: workflow || undefined,
					status: status || undefined,
					limit: this.#pageSize,
					offset: page * this.#pageSize
				},
				this.#abort?.signal
			);
			if (generation !== this.#generation) return;
			this.#runs = res.runs;
			this.#hasMore = res.has_more ?? false;
			// a run that changed while the answer was on its way (finished, say) is shown as it is now
			for (const run of touched.values()) this.#upsert(run);
			this.#status = 'ready';
			this.#error = null;
			this.#noteWorkflows(res.runs.map((run) => run.workflow));
		} catch (err) {
			if (this.#abort?.signal.aborted || generation !== this.#generation) return;
			this.#status = 'error';
			this.#error = err instanceof Error ? err.message : String(err);
		} finally {
			if (this.#touched === touched) this.#touched = null;
		}
	}

	#matches(run: WorkflowRun): boolean {
		const { workflow, status } = this.#filter;
		return (!workflow || run.workflow === workflow) && (!status || run.status === status);
	}

	/** Applies one event (public for tests). */
	apply(event: AnyEventEnvelope): void {
		const run = workflowRunOf(event);
		if (!run) return;
		if (this.#touched) this.#touched.set(run.id, mergeRecord(this.#touched.get(run.id), run));
		this.#upsert(run);
	}

	/** `run` merged into the page where it is, or added at the top of the first page when it matches */
	#upsert(run: WorkflowRun): void {
		const index = this.#runs.findIndex((r) => r.id === run.id);
		if (index >= 0) {
			const merged = mergeRecord(this.#runs[index], run);
			if (!this.#matches(merged)) this.#runs = this.#runs.filter((r) => r.id !== run.id);
			else if (merged !== this.#runs[index])
				this.#runs = this.#runs.map((r, i) => (i === index ? merged : r));
			return;
		}
		// a new run belongs on the first page, newest first; it pushes the oldest to the next page
		if (this.#filter.page !== 0 || !this.#matches(run)) return;
		const oldest = this.#runs.at(-1);
		if (this.#runs.length >= this.#pageSize && oldest && newestFirst(run, oldest) > 0) return;
		const next = [...this.#runs, run].sort(newestFirst);
		if (next.length > this.#pageSize) {
			next.length = this.#pageSize;
			this.#hasMore = true;
		}
		this.#runs = next;
		this.#noteWorkflows([run.workflow]);
	}

	async #loadWorkflows(): Promise<void> {
		try {
			const { workflows } = await this.#api.listWorkflows(this.#abort?.signal);
			this.#noteWorkflows(workflows.map((w) => w.name));
		} catch (err) {
			if (!this.#abort?.signal.aborted) this.#onError(err, 'Could not list the workflows');
		}
	}

	#noteWorkflows(names: string[]): void {
		const added = names.filter((name, i) => !this.#workflows.includes(name) && names.indexOf(name) === i);
		if (added.length) this.#workflows = [...this.#workflows, ...added].sort();
	}
}
