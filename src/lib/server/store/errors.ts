/**
 * @module store/errors
 * The store failures callers treat specially. The database cannot be reached (PostgreSQL is
 * down or restarting): retryable, the REST API answers 503 with Retry-After, a producer gets a
 * retryable error, and background work backs off and tries again. The database refused a value
 * (StoreDataError): the same write fails the same way every time, so it is not retryable.
 *
 * Its message goes to callers, some without credentials (healthz, a request whose session is
 * looked up): it names no host, address or user. The driver's error is its `cause`, for the logs.
 */

export class StoreUnavailableError extends Error {
	override readonly name = 'StoreUnavailableError';
	readonly code = 'store_unavailable';
	readonly retryable = true;
	constructor(cause: unknown) {
		super('The database cannot be reached right now; nothing was stored. Retry shortly.', { cause });
	}
}

/** by name, not `instanceof`: routes load their own copy of this module (see ingest-error.ts) */
export function isStoreUnavailable(err: unknown): err is StoreUnavailableError {
	return err instanceof Error && err.name === 'StoreUnavailableError';
}

/**
 * The database refused a value it cannot hold: PostgreSQL's data exceptions (SQLSTATE class 22,
 * e.g. a NUL in text, a number out of an integer column's range). Sending the same again fails
 * again, so a producer is told not to retry (ingest answers 422 `invalid_data`). Its message is
 * the database's, which names the value, not the server: the sender sent that value.
 */
export class StoreDataError extends Error {
	override readonly name = 'StoreDataError';
	readonly code = 'invalid_data';
	readonly retryable = false;
	constructor(cause: unknown) {
		const reason = (cause as { message?: unknown } | null)?.message;
		super(
			`The database cannot store a value${typeof reason === 'string' && reason ? ` (${reason})` : ''}; sending it again fails the same way: change that value.`,
			{ cause }
		);
	}
}

/** by name, as {@link isStoreUnavailable} */
export function isStoreDataError(err: unknown): err is StoreDataError {
	return err instanceof Error && err.name === 'StoreDataError';
}
