/**
 * @module orchestrator/task-progress
 * A task's progress and message: stored, then announced as `task.progress`. Writes never
 * overlap, and values set while one is in flight are merged so only the latest is written
 * (a tool printing a hundred `::progress` lines a second costs a few writes, not a hundred).
 *
 * A store that cannot be reached (PostgreSQL down, see store/errors) is waited out: the latest
 * values are kept (newer ones merged in) and written with backoff once it is back, so the
 * dashboard catches up rather than staying at what it showed before the outage. The wait ends
 * at `close()` or when `signal` aborts (the node shuts down); what is pending then is dropped.
 * Any other failure (a lost claim, a refused write) drops that write, as retrying would not help.
 */
import type { Task } from '../../protocol';
import type { EventBus } from '../bus/types';
import type { Logger } from '../logger';
import { isStoreUnavailable } from '../store/errors';
import type { Store, TaskPatch } from '../store/types';
import { taskProgress } from './emit';
import { Backoff, untilStored } from './store-retry';

type ProgressPatch = Pick<TaskPatch, 'progress' | 'message'>;

export interface TaskProgressOptions {
	/** only its updateTask is used: the task runner hands in the claim-guarded one */
	store: Pick<Store, 'updateTask'>;
	bus: EventBus;
	logger: Logger;
	task: Task;
	/** aborted: a store that cannot be reached is no longer waited for (the node shuts down) */
	signal?: AbortSignal;
	/** for tests: the delays between attempts while the store cannot be reached */
	backoff?: Backoff;
}

export class TaskProgress {
	#options: TaskProgressOptions;
	#pending: ProgressPatch | null = null;
	#writing: Promise<void> | null = null;
	#progress: number;
	#backoff: Backoff;
	#closed = new AbortController();
	#signal: AbortSignal;
	/** when the store was first found unreachable in the current outage (said once per outage) */
	#unreachableSince: number | null = null;
	/** a drop after `close()` or shutdown is said once */
	#gaveUp = false;

	constructor(options: TaskProgressOptions) {
		this.#options = options;
		this.#progress = options.task.progress;
		this.#backoff = options.backoff ?? new Backoff();
		this.#signal = options.signal
			? AbortSignal.any([options.signal, this.#closed.signal])
			: this.#closed.signal;
	}

	/** the latest progress set (stored or about to be) */
	get progress(): number {
		return this.#progress;
	}

	/**
	 * Sets progress (0–100) and/or message; `undefined` leaves a field as it is.
	 * @example progress.set(45, 'compiling') ; progress.set(undefined, 'linking')
	 */
	set(progress: number | undefined, message?: string | null): void {
		const patch: ProgressPatch = { ...this.#pending };
		if (progress !== undefined) {
			this.#progress = Math.min(100, Math.max(0, progress));
			patch.progress = this.#progress;
		}
		if (message !== undefined) patch.message = message;
		if (patch.progress === undefined && patch.message === undefined) return;
		this.#pending = patch;
		this.#writing ??= this.#drain();
	}

	/** resolves when everything set so far is stored and announced (or dropped, see the module) */
	async idle(): Promise<void> {
		while (this.#writing) await this.#writing;
	}

	/**
	 * Stops waiting for a store that cannot be reached: what is pending is tried once more at
	 * most, then dropped. Idempotent; values set afterwards get a single attempt each.
	 */
	close(): void {
		this.#closed.abort();
	}

	async #drain(): Promise<void> {
		const { bus, logger, task } = this.#options;
		try {
			while (this.#pending) {
				try {
					const stored = await untilStored(() => this.#write(), {
						backoff: this.#backoff,
						signal: this.#signal,
						onWait: (err) => this.#unreachable(err)
					});
					this.#reachable();
					taskProgress(bus, stored);
				} catch (err) {
					const dropped = this.#pending;
					this.#pending = null;
					if (!isStoreUnavailable(err))
						logger.warn({ err, task_id: task.id }, 'storing task progress failed');
					else if (!this.#gaveUp) {
						this.#gaveUp = true;
						logger.warn(
							{ task_id: task.id, dropped },
							'task progress not stored: stopped waiting for the database'
						);
					}
				}
			}
		} finally {
			this.#writing = null;
		}
	}

	/** one attempt with what is pending; a store that cannot be reached keeps it for the next */
	async #write(): Promise<Task> {
		const patch = this.#take();
		try {
			return await this.#options.store.updateTask(this.#options.task.id, patch);
		} catch (err) {
			if (isStoreUnavailable(err)) this.#keep(patch);
			throw err;
		}
	}

	#take(): ProgressPatch {
		const patch = this.#pending ?? {};
		this.#pending = null;
		return patch;
	}

	/** a patch that was not stored goes back under what was set meanwhile: newer values win */
	#keep(patch: ProgressPatch): void {
		this.#pending = { ...patch, ...this.#pending };
	}

	#unreachable(err: unknown): void {
		if (this.#unreachableSince !== null) return;
		this.#unreachableSince = Date.now();
		const { logger, task } = this.#options;
		logger.warn(
			{ err, task_id: task.id },
			'storing task progress: the database cannot be reached; the latest progress is stored once it is back'
		);
	}

	#reachable(): void {
		this.#backoff.reset();
		if (this.#unreachableSince === null) return;
		const { logger, task } = this.#options;
		logger.info(
			{ task_id: task.id, waited_ms: Date.now() - this.#unreachableSince },
			'the database is back; task progress is stored'
		);
		this.#unreachableSince = null;
	}
}
