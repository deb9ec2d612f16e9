/**
 * @module realtime/step-focus
 * Which step the task page shows. With none picked it is the running one, and the page moves to
 * the next step when it starts. A click on a step (or a `?exec=` link) picks it; so does reading:
 * a reader who scrolls up in the running step's log keeps that step on screen when the next one
 * starts, until they pick another or follow the running step again. Going back to the end of that
 * log lets go too, but only while the step is still running: once the next one has started, the
 * end of the finished step (its result, its error) is what the reader came for, and it stays.
 */
import type { Execution } from '$lib/protocol';

/** What the focus chooses from ({@link TaskView} is one). */
export interface StepSource {
	/** in step order */
	readonly executions: Execution[];
	/** the step to show when none is picked (the running one) */
	readonly focusExecution: Execution | null;
}

export class StepFocus {
	readonly #source: StepSource;
	#picked = $state<string | null>(null);
	/** the pick came from the reader pausing the log, not from a click */
	#pinnedByReading = false;

	constructor(source: StepSource, picked: string | null = null) {
		this.#source = source;
		this.#picked = picked;
	}

	/** the step picked (clicked, linked, or being read); null: the running one is followed */
	get picked(): string | null {
		return this.#picked;
	}

	/** the step shown: the one picked if it exists, else the running (or newest) one */
	get selected(): Execution | null {
		return this.#source.executions.find((e) => e.id === this.#picked) ?? this.#source.focusExecution ?? null;
	}

	/** whether the step shown is the one a new step would replace (nothing else picked) */
	get followsRunning(): boolean {
		return this.#picked === null || this.#picked === this.#source.focusExecution?.id;
	}

	/** A step was clicked or linked. */
	pick(executionId: string): void {
		this.#picked = executionId;
		this.#pinnedByReading = false;
	}

	/** Back to showing the running step, and each next one as it starts. */
	followRunning(): void {
		this.#picked = null;
		this.#pinnedByReading = false;
	}

	/**
	 * The log of the step shown paused (the reader scrolled up) or follows its end again. Pausing
	 * pins the step, so the next one starting does not take the page away mid-reading; following
	 * again lets go of a pin that pausing made (not one a click made) while that step is still the
	 * running one.
	 */
	noteLogFollowing(executionId: string, following: boolean): void {
		if (!following) {
			if (this.#picked !== null) return;
			this.#picked = executionId;
			this.#pinnedByReading = true;
		} else if (
			this.#pinnedByReading &&
			this.#picked === executionId &&
			this.#source.executions.find((e) => e.id === executionId)?.status === 'running'
		) {
			this.followRunning();
		}
	}
}
