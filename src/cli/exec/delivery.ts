/**
 * @module cli/exec/delivery
 * Sends a spool to the server in order: the task create (with the spool id as idempotency key),
 * then its events in batches, each acknowledged in the spool's state. While the server cannot
 * be reached it retries with backoff; every request is idempotent on the server (same key →
 * same task, same line numbers → stored once), so a batch whose answer was lost is resent safely.
 */
import type { IngestEventsResponse, IngestTaskResponse } from '../../lib/protocol/ingest';
import { CliError, MAX_TIMER_MS } from '../args';
import { DEFAULT_REQUEST_TIMEOUT_MS, HttpError, UnreachableError, type AcoHttp } from '../http';
import type { Spool } from './spool';

export const DEFAULT_BATCH_EVENTS = 200;
/** request bodies stay well under the server's limit (adapter-node's BODY_SIZE_LIMIT, 512 KiB) */
export const DEFAULT_BATCH_BYTES = 256 * 1024;
export const DEFAULT_RETRY_MIN_MS = 200;
export const DEFAULT_RETRY_MAX_MS = 2_000;
/**
 * How long a drain with no time to retry (`--retry-for 0`) waits at most, a request under way
 * included: one request's timeout, not that one's and then another's.
 */
export const DEFAULT_LAST_CHANCE_MS = DEFAULT_REQUEST_TIMEOUT_MS;

export interface DeliveryOptions {
	http: Pick<AcoHttp, 'request'>;
	spool: Spool;
	batchEvents?: number;
	batchBytes?: number;
	retryMinMs?: number;
	retryMaxMs?: number;
	/** what {@link Delivery.drain} with no time to retry waits at most */
	lastChanceMs?: number;
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
	/** requests that failed (the server away, or not taking them) */
	#failures = 0;
	/** a drain waiting for the request under way to end (at most one) */
	#attemptWaiter: (() => void) | null = null;

	constructor(options: DeliveryOptions) {
		this.#options = {
			batchEvents: DEFAULT_BATCH_EVENTS,
			batchBytes: DEFAULT_BATCH_BYTES,
			retryMinMs: DEFAULT_RETRY_MIN_MS,
			retryMaxMs: DEFAULT_RETRY_MAX_MS,
			lastChanceMs: DEFAULT_LAST_CHANCE_MS,
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
	 * Waits until everything is delivered, delivery is refused, or `timeoutMs` has passed. With no
	 * time to retry (`timeoutMs` 0) it still sends what the spool holds, for as long as the server
	 * takes it: it stops at the first request that fails, and after `lastChanceMs` in all.
	 */
	async drain(timeoutMs: number): Promise<DeliveryOutcome> {
		if (timeoutMs <= 0) return this.#lastChance();
		const deadline = Date.now() + timeoutMs;
		while (this.outcome === 'pending' && !this.#stopped) {
			const left = deadline - Date.now();
			if (left <= 0) break;
			this.kick();
			if (!this.#running) break;
			// resolves the moment the last answer arrives: `aco exec` exits without a polling delay
			let timer: NodeJS.Timeout | undefined;
			// a longer delay would fire at once (and warn): the loop waits again for what is left
			const timeout = new Promise<void>(
				(resolve) => (timer = setTimeout(resolve, Math.min(left, MAX_TIMER_MS)))
			);
			await Promise.race([this.#running, timeout]);
			clearTimeout(timer);
		}
		return this.outcome;
	}

	async #lastChance(): Promise<DeliveryOutcome> {
		const failures = this.#failures;
		let timer: NodeJS.Timeout | undefined;
		let over = false;
		const bound = new Promise<void>(
			(resolve) =>
				(timer = setTimeout(
					() => {
						over = true;
						resolve();
					},
					Math.min(this.#options.lastChanceMs, MAX_TIMER_MS)
				))
		);
		try {
			while (this.outcome === 'pending' && !this.#stopped && !over && this.#failures === failures) {
				this.kick();
				if (!this.#running) break;
				// a backoff after an earlier failure is not waited out: the request is made now
				this.#wake?.();
				const attempt = new Promise<void>((resolve) => (this.#attemptWaiter = resolve));
				await Promise.race([this.#running, attempt, bound]);
			}
		} finally {
			clearTimeout(timer);
			this.#attemptWaiter = null;
		}
		return this.outcome;
	}

	/** Stops retrying; what is not delivered stays in the spool. */
	stop(): void {
		this.#stopped = true;
		this.#wakeNow();
		this.#attemptDone();
	}

	async #loop(): Promise<void> {
		do {
			this.#again = false;
			while (!this.#stopped && !this.#rejected && this.#pending()) {
				try {
					await this.#sendOnce();
					this.#attemptDone();
					this.#delay = this.#options.retryMinMs;
					if (this.#offline) {
						this.#offline = false;
						this.#options.onOnline?.();
					}
				} catch (err) {
					this.#failures += 1;
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
		const waiter = this.#attemptWaiter;
		this.#attemptWaiter = null;
		waiter?.();
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
		// only on stop (and for a last chance): the backoff is not cut short while the server is down
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
