/**
 * @module orchestrator/task-progress
 * A task's progress and message: stored, then announced as `task.progress`. Writes never
 * overlap, and values set while one is in flight are merged so only the latest is written
 * (a tool printing a hundred `::progress` lines a second costs a few writes, not a hundred).
 */
import type { Task } from '../../protocol';
import type { EventBus } from '../bus/types';
import type { Logger } from '../logger';
import type { Store, TaskPatch } from '../store/types';
import { taskProgress } from './emit';

export interface TaskProgressOptions {
	/** only its updateTask is used: the task runner hands in the claim-guarded one */
	store: Pick<Store, 'updateTask'>;
	bus: EventBus;
	logger: Logger;
	task: Task;
}

export class TaskProgress {
	#options: TaskProgressOptions;
	#pending: Pick<TaskPatch, 'progress' | 'message'> | null = null;
	#writing: Promise<void> | null = null;
	#progress: number;

	constructor(options: TaskProgressOptions) {
		this.#options = options;
		this.#progress = options.task.progress;
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
		const patch: Pick<TaskPatch, 'progress' | 'message'> = { ...this.#pending };
		if (progress !== undefined) {
			this.#progress = Math.min(100, Math.max(0, progress));
			patch.progress = this.#progress;
		}
		if (message !== undefined) patch.message = message;
		if (patch.progress === undefined && patch.message === undefined) return;
		this.#pending = patch;
		this.#writing ??= this.#drain();
	}

	/** resolves when everything set so far is stored and announced */
	async idle(): Promise<void> {
		while (this.#writing) await this.#writing;
	}

	async #drain(): Promise<void> {
		const { store, bus, logger, task } = this.#options;
		try {
			while (this.#pending) {
				const patch = this.#pending;
				this.#pending = null;
				try {
					taskProgress(bus, await store.updateTask(task.id, patch));
				} catch (err) {
					logger.warn({ err, task_id: task.id }, 'storing task progress failed');
				}
			}
		} finally {
			this.#writing = null;
		}
	}
}
