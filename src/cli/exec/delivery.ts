/**
 * @module cli/exec/delivery
 * Sends a spool to the server in order: the task create (with the spool id as idempotency key),
 * then its events in batches, each acknowledged in the spool's state. While the server cannot
 * be reached it retries with backoff; every request is idempotent on the server (same key →
 * same task, same line numbers → stored once), so a batch whose answer was lost is resent safely.
 */
import type { IngestEventsResponse, IngestTaskResponse } from '../../lib/protocol/ingest';
import { CliError, MAX_TIMER_MS } from '../args';
import { HttpError, UnreachableError, type AcoHttp } from '../http';
import type { Spool } from './spool';

export const DEFAULT_BATCH_EVENTS = 200;
/** request bodies stay well under the server's limit (adapter-node's BODY_SIZE_LIMIT, 512 KiB) */
export const DEFAULT_BATCH_BYTES = 256 * 1024;
export const DEFAULT_RETRY_MIN_MS = 200;
export const DEFAULT_RETRY_MAX_MS = 2_000;

export interface DeliveryOptions {
	http: Pick<AcoHttp, 'request'>;
	spool: Spool;
	batchEvents?: number;
	batchBytes?: number;
	retryMinMs?: number;
	retryMaxMs?: number;
	/** the server could not be reached (called once per outage) */
	onOffline?: (err: UnreachableError) => void;
	/** the server answered again after an outage */
	onOnline?: () => void;
	/**
	 * the server refused the spool for good (bad token, invalid event: an {@link HttpError}), or
	 * what answers is not aco (a NotAcoError) or the request cannot be sent; delivery stops
	 */
	onRejected?: (err: CliError) => void;
	/** the server created the task (called once, when it first answers with its id) */
	onCreated?: (taskId: string) => void;
	/** the server's answer to each delivered batch of events (it may ask for a cancel) */
	onAnswer?: (answer: IngestEventsResponse) => void;
}

export type DeliveryOutcome = 'delivered' | 'pending' | 'rejected';

type Hooks = 'onOffline' | 'onOnline' | 'onRejected' | 'onCreated' | 'onAnswer';

export class Delivery {
	#options: Required<Omit<DeliveryOptions, Hooks>> & Pick<DeliveryOptions, Hooks>;
	#running: Promise<void> | null = null;
	#again = false;
	#offline = false;
	#rejected: CliError | null = null;
	#timer: NodeJS.Timeout | null = null;
	#wake: (() => void) | null = null;
	#stopped = false;
	#delay: number;
	#attemptsBegun = 0;
	#attemptsDone = 0;
	/** drains waiting for an attempt to end (at most one at a time) */
	#attemptWaiters: (() => void)[] = [];

	constructor(options: DeliveryOptions) {
		this.#options = {
			batchEvents: DEFAULT_BATCH_EVENTS,
			batchBytes: DEFAULT_BATCH_BYTES,
			retryMinMs: DEFAULT_RETRY_MIN_MS,
			retryMaxMs: DEFAULT_RETRY_MAX_MS,
			...options
		};
		this.#delay = this.#options.retryMinMs;
	}

	get offline(): boolean {
		return this.#offline;
	}

	/** why the server refused the spool, once it did */
	get rejection(): CliError | null {
		return this.#rejected;
	}

	get outcome(): DeliveryOutcome {
		if (this.#rejected) return 'rejected';
		return this.#options.spool.delivered ? 'delivered' : 'pending';
	}

	/** Sends whatever is not acknowledged yet; call after appending to the spool. */
	kick(): void {
		if (this.#stopped || this.#rejected) return;
		if (this.#running) {
			this.#again = true;
			return;
		}
		this.#running = this.#loop().finally(() => {
			this.#running = null;
		});
	}

	/**
	 * Waits until everything is delivered, delivery is refused, or `timeoutMs` has passed, but
	 * always for one attempt begun now (with what the spool holds now): with `timeoutMs` 0 a
	 * server that is up still gets the end, and one that is down is asked once.
	 */
	async drain(timeoutMs: number): Promise<DeliveryOutcome> {
		const deadline = Date.now() + timeoutMs;
		const first = this.#attemptsBegun + 1;
		while (this.outcome === 'pending' && !this.#stopped) {
			const left = deadline - Date.now();
			const tried = this.#attemptsDone >= first;
			if (left <= 0 && tried) break;
			this.kick();
			if (!this.#running) break;
			// past the deadline the backoff is not waited out: the one attempt is made now
			if (left <= 0) this.#wake?.();
			// resolves the moment the last answer arrives: `aco exec` exits without a polling delay
			let timer: NodeJS.Timeout | undefined;
			const waits: Promise<void>[] = [this.#running];
			if (!tried) waits.push(new Promise<void>((resolve) => this.#attemptWaiters.push(resolve)));
			// a longer delay would fire at once (and warn): the loop waits again for what is left
			if (left > 0)
				waits.push(
					new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.min(left, MAX_TIMER_MS))))
				);
			await Promise.race(waits);
			clearTimeout(timer);
		}
		return this.outcome;
	}

	/** Stops retrying; what is not delivered stays in the spool. */
	stop(): void {
		this.#stopped = true;
		this.#wakeNow();
		for (const resolve of this.#attemptWaiters.splice(0)) resolve();
	}

	async #loop(): Promise<void> {
		do {
			this.#again = false;
			while (!this.#stopped && !this.#rejected && this.#pending()) {
				this.#attemptsBegun += 1;
				try {
					await this.#sendOnce();
					this.#attemptDone();
					this.#delay = this.#options.retryMinMs;
					if (this.#offline) {
						this.#offline = false;
						this.#options.onOnline?.();
					}
				} catch (err) {
					this.#attemptDone();
					if (final(err)) {
						this.#rejected = err;
						this.#options.onRejected?.(err);
						return;
					}
					if (!this.#offline && err instanceof UnreachableError) {
						this.#offline = true;
						this.#options.onOffline?.(err);
					}
					await this.#sleep(this.#delay);
					this.#delay = Math.min(this.#delay * 2, this.#options.retryMaxMs);
				}
			}
		} while (this.#again && !this.#stopped);
	}

	#attemptDone(): void {
		this.#attemptsDone += 1;
		for (const resolve of this.#attemptWaiters.splice(0)) resolve();
	}

	#pending(): boolean {
		const { spool } = this.#options;
		return spool.state.task_id === null || spool.state.acked < spool.count;
	}

	async #sendOnce(): Promise<void> {
		const { spool, http } = this.#options;
		let taskId = spool.state.task_id;
		if (taskId === null) {
			const created = await http.request<IngestTaskResponse>('POST', '/tasks', {
				body: spool.header.task,
				headers: { 'idempotency-key': spool.header.id },
				expect: ['task']
			});
			taskId = created.task.id;
			spool.acknowledge(taskId, 0);
			this.#options.onCreated?.(taskId);
		}
		const from = spool.state.acked;
		const events = spool.unacknowledged(this.#options.batchEvents, this.#options.batchBytes);
		if (events.length === 0) {
			// counted but not readable (the file was torn or changed): sending again would not help
			if (from < spool.count) throw new SpoolUnreadableError(spool.file, from);
			return;
		}
		const answer = await http.request<IngestEventsResponse>(
			'POST',
			`/tasks/${encodeURIComponent(taskId)}/events`,
			{ body: { events } }
		);
		spool.acknowledge(taskId, from + events.length);
		this.#options.onAnswer?.(answer);
	}

	#sleep(ms: number): Promise<void> {
		return new Promise((resolve) => {
			this.#wake = () => {
				if (this.#timer) clearTimeout(this.#timer);
				this.#timer = null;
				this.#wake = null;
				resolve();
			};
			this.#timer = setTimeout(() => this.#wake?.(), ms);
			this.#timer.unref();
		});
	}

	#wakeNow(): void {
		// only on stop (and for a drain's one attempt): the backoff is not cut short while the server is down
		if (this.#stopped) this.#wake?.();
	}
}

/** A spool whose events cannot be read back past some point. */
export class SpoolUnreadableError extends CliError {
	constructor(file: string, from: number) {
		super(`the kept log ${file} cannot be read past its event ${from + 1}`);
		this.name = 'SpoolUnreadableError';
	}
}

/**
 * an error that asking again does not mend: a refusal (but 408 and 429, which ask for patience),
 * an answer from something other than aco, a request node will not send, a spool that cannot be
 * read back. The server out of reach (or a 5xx) is retried; so is anything else (a failed write
 * of the spool's state, say)
 */
function final(err: unknown): err is CliError {
	if (err instanceof HttpError) return err.status !== 408 && err.status !== 429;
	return err instanceof CliError && !(err instanceof UnreachableError);
}
