/**
 * @module cli/realtime/rest-retry
 * Snapshots a terminal view cannot go on without (the task or execution it follows, the run's
 * tasks), asked for until they come. A failure that may pass ({@link RestError.retryable}: a
 * 5xx such as a proxy's 502 while the server restarts, the server out of reach) is tried again
 * after the CLI's back-off, as log tails do; any other (404, 401, 403) is thrown at once.
 *
 * The owner hears of an outage once, however many loads wait through it and however many times
 * each tries, and again when a load works (the next outage starts then). A load gives up with its
 * last error once it has failed for `budgetMs` (a server gone for good, a proxy that stays at
 * 502). Aborting the signal (the view ended) ends every wait and every request at once.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Backoff, type BackoffOptions } from '../../lib/realtime/backoff';
import { DEFAULT_CLI_BACKOFF } from './client';
import { RestError } from './rest';

export interface RestRetryOptions {
	/**
	 * aborted when the owner is done: waits and requests end with an AbortError; without one the
	 * retry has its own, aborted by {@link RestRetry.stop}
	 */
	signal?: AbortSignal;
	/** a load failed in a way that may pass, and none was failing before it */
	onOutage?: (err: unknown) => void;
	/** a load worked after {@link RestRetryOptions.onOutage} */
	onRecover?: () => void;
	/** the waits between tries; the CLI's reconnect back-off by default */
	backoff?: BackoffOptions;
	/** how long one load keeps asking before it gives up (DEFAULT_RETRY_BUDGET_MS) */
	budgetMs?: number;
	/** ms, monotonic (specs) */
	now?: () => number;
}

/** Long enough for a server restarting behind a proxy; a person is waiting at the terminal. */
export const DEFAULT_RETRY_BUDGET_MS = 120_000;

/**
 * @example
 * const retry = new RestRetry({ signal, onOutage: (err) => stderr.write(fetchRetryNotice('task t1', err)) });
 * const { task } = await retry.run((signal) => rest.getTask('t1', signal));
 */
export class RestRetry {
	readonly #options: RestRetryOptions;
	readonly #own = new AbortController();
	readonly #signal: AbortSignal;
	#outage = false;

	constructor(options: RestRetryOptions) {
		this.#options = options;
		this.#signal = options.signal ?? this.#own.signal;
	}

	/** Ends every wait and request of a retry that has no signal of its owner's (the view ended). */
	stop(): void {
		this.#own.abort();
	}

	/** `load`'s value once it works; throws what asking again will not mend, or the abort. */
	async run<T>(load: (signal: AbortSignal) => Promise<T>): Promise<T> {
		const signal = this.#signal;
		const { budgetMs = DEFAULT_RETRY_BUDGET_MS, now = () => performance.now() } = this.#options;
		// each load backs off on its own: one that has just started waits little
		const backoff = new Backoff({ ...DEFAULT_CLI_BACKOFF, ...this.#options.backoff });
		let failingSince: number | null = null;
		for (;;) {
			signal.throwIfAborted();
			try {
				const value = await load(signal);
				if (this.#outage) {
					this.#outage = false;
					this.#options.onRecover?.();
				}
				return value;
			} catch (err) {
				failingSince ??= now();
				const delay =
					err instanceof RestError && err.retryable && !signal.aborted && now() - failingSince < budgetMs
						? backoff.next()
						: null;
				if (delay === null) throw err;
				if (!this.#outage) {
					this.#outage = true;
					this.#options.onOutage?.(err);
				}
				await sleep(delay, undefined, { signal });
			}
		}
	}
}
