/**
 * @module cli/exec/control
 * What `aco exec` hears back from the server while its command runs. Once the server has the
 * task, a heartbeat goes out every second (so the task is not failed as "lost contact" while the
 * command is quiet), and every answer, to a heartbeat or to delivered output, is read for
 * `cancel_requested`: a cancel from the dashboard or the API reaches the command within about a
 * second. Heartbeats are not spooled; one lost while the server is away costs nothing.
 */
import type { IngestEventsResponse } from '../../lib/protocol/ingest';
import { MAX_TIMER_MS } from '../args';
import type { AcoHttp } from '../http';

export const DEFAULT_HEARTBEAT_MS = 1_000;

export interface ControlOptions {
	http: Pick<AcoHttp, 'request'>;
	/** the server's id of the task, once it has one */
	taskId: () => string | null;
	/** called once, when the server asks for the command to stop */
	onCancel: () => void;
	/**
	 * called once, when an answer shows the server ended the task itself while the command runs
	 * (failed as "lost contact" after a long partition): the server ignores what it prints from now on
	 */
	onEnded?: (status: 'succeeded' | 'failed', error: string | null) => void;
	intervalMs?: number;
}

/**
 * @example
 * const control = new ProducerControl({ http, taskId: () => spool.state.task_id, onCancel: stop });
 * control.start();
 * // … delivery answers: control.observe(answer)
 * control.stop();
 */
export class ProducerControl {
	#options: Required<ControlOptions>;
	#timer: NodeJS.Timeout | null = null;
	#inFlight = false;
	#cancelled = false;
	#ended = false;
	#stopped = false;

	constructor(options: ControlOptions) {
		this.#options = { intervalMs: DEFAULT_HEARTBEAT_MS, onEnded: () => {}, ...options };
	}

	get cancelRequested(): boolean {
		return this.#cancelled;
	}

	start(): void {
		if (this.#timer || this.#stopped) return;
		// a longer interval would fire every millisecond
		this.#timer = setInterval(() => void this.#beat(), Math.min(this.#options.intervalMs, MAX_TIMER_MS));
		this.#timer.unref();
	}

	/** Reads an answer of the server to anything this producer sent. */
	observe(answer: Partial<IngestEventsResponse> | null | undefined): void {
		if (!answer || this.#cancelled || this.#stopped) return;
		const task = answer.task;
		if (answer.cancel_requested === true || task?.status === 'cancelled') {
			this.#cancelled = true;
			this.#options.onCancel();
		} else if (!this.#ended && (task?.status === 'failed' || task?.status === 'succeeded')) {
			this.#ended = true;
			this.#options.onEnded(task.status, task.error ?? null);
		}
	}

	stop(): void {
		this.#stopped = true;
		if (this.#timer) clearInterval(this.#timer);
		this.#timer = null;
	}

	async #beat(): Promise<void> {
		const taskId = this.#options.taskId();
		if (taskId === null || this.#inFlight || this.#stopped) return;
		this.#inFlight = true;
		try {
			const answer = await this.#options.http.request<IngestEventsResponse>(
				'POST',
				`/tasks/${encodeURIComponent(taskId)}/events`,
				{ body: { events: [{ type: 'heartbeat' }] }, timeoutMs: 5_000 }
			);
			this.observe(answer);
		} catch {
			// the server is away or refused: the spool's delivery says so; the next beat tries again
		} finally {
			this.#inFlight = false;
		}
	}
}
