/**
 * @module realtime/resume-gate
 * Holds events back while a `resume` is unanswered. After a reconnect the subscriptions are live
 * before the hub has replayed the gap, so a live event can overtake older replayed ones; applied
 * as they come, a store would see a task finish and then start again. The gate releases what it
 * held in seq order once the hub answers (`resumed` or `reset`), and gives up waiting after a
 * timeout so a server that never answers cannot freeze the page.
 */
import type { AnyEventEnvelope } from '$lib/protocol';

/** How long a `resume` may stay unanswered before the client reloads over REST instead. */
export const DEFAULT_RESUME_TIMEOUT_MS = 10_000;

export class ResumeGate {
	#held: AnyEventEnvelope[] = [];
	#timer: ReturnType<typeof setTimeout> | null = null;
	#ref: string | null = null;
	#count = 0;

	/** whether a resume is waiting for its answer */
	get pending(): boolean {
		return this.#ref !== null;
	}
	/** the `id` the pending resume was sent with, so an `error` answering it can be recognised */
	get ref(): string | null {
		return this.#ref;
	}

	/**
	 * A resume was sent: hold events until {@link release}. `onTimeout` runs if no answer comes
	 * within `timeoutMs`. Returns the id to send the resume with.
	 */
	open(timeoutMs: number, onTimeout: () => void): string {
		this.discard();
		this.#ref = `resume-${++this.#count}`;
		this.#timer = setTimeout(() => {
			this.#timer = null;
			onTimeout();
		}, timeoutMs);
		return this.#ref;
	}

	/** Keeps `event` back while a resume is pending; returns whether it did. */
	hold(event: AnyEventEnvelope): boolean {
		if (!this.pending) return false;
		this.#held.push(event);
		return true;
	}

	/** The answer came: the gate opens and returns what it held, oldest seq first. */
	release(): AnyEventEnvelope[] {
		const held = this.#held;
		this.#stop();
		// sort is stable, so a repeated seq keeps its arrival order and the duplicate is dropped later
		return held.sort((a, b) => a.seq - b.seq);
	}

	/**
	 * The socket went away before the answer: forget what was held. Applying it would move the
	 * stream position past a gap that was never replayed; the next resume asks for it again.
	 */
	discard(): void {
		this.#stop();
	}

	#stop(): void {
		if (this.#timer) clearTimeout(this.#timer);
		this.#timer = null;
		this.#ref = null;
		this.#held = [];
	}
}
