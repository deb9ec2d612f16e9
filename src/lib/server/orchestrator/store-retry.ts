/**
 * @module orchestrator/store-retry
 * Waiting out a database that cannot be reached (PostgreSQL down or restarting, see
 * store/errors): a doubling delay between attempts, and a write retried until it is stored.
 * Every wait is a timer with an owner: aborting the signal ends it at once.
 *
 * @example
 * const done = await untilStored(() => store.updateTask(id, patch), { signal, onWait });
 */
import { isStoreUnavailable } from '../store/errors';

/** first wait before trying an unreachable store again */
export const DEFAULT_RETRY_FIRST_MS = 100;
/** longest wait between two attempts */
export const DEFAULT_RETRY_MAX_MS = 2_000;

/** delays that double from `firstMs` up to `maxMs`; `reset()` after a success */
export class Backoff {
	readonly #firstMs: number;
	readonly #maxMs: number;
	#nextMs: number;

	constructor(firstMs = DEFAULT_RETRY_FIRST_MS, maxMs = DEFAULT_RETRY_MAX_MS) {
		this.#firstMs = Math.min(firstMs, maxMs);
		this.#maxMs = maxMs;
		this.#nextMs = this.#firstMs;
	}

	next(): number {
		const delay = this.#nextMs;
		this.#nextMs = Math.min(this.#maxMs, delay * 2);
		return delay;
	}

	reset(): void {
		this.#nextMs = this.#firstMs;
	}
}

export interface UntilStoredOptions {
	backoff?: Backoff;
	/** aborted: stop waiting; the last store error is thrown */
	signal?: AbortSignal;
	/** called before each wait with the error that caused it */
	onWait?: (err: unknown, attempt: number) => void;
}

/**
 * Runs `write` until it does not fail with "the store cannot be reached"; any other error, or
 * one after `signal` is aborted, is thrown as is.
 */
export async function untilStored<T>(write: () => Promise<T>, options: UntilStoredOptions = {}): Promise<T> {
	const backoff = options.backoff ?? new Backoff();
	for (let attempt = 1; ; attempt++) {
		try {
			return await write();
		} catch (err) {
			if (!isStoreUnavailable(err) || options.signal?.aborted) throw err;
			options.onWait?.(err, attempt);
			await sleep(backoff.next(), options.signal);
		}
	}
}

/** resolves after `ms`, or at once when `signal` is aborted (the timer is cleared) */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
	return new Promise((resolve) => {
		if (signal?.aborted) return resolve();
		const done = () => {
			clearTimeout(timer);
			signal?.removeEventListener('abort', done);
			resolve();
		};
		const timer = setTimeout(done, ms);
		timer.unref();
		signal?.addEventListener('abort', done, { once: true });
	});
}
