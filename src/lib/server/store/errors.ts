/**
 * @module store/errors
 * The one store failure callers treat specially: the database cannot be reached (PostgreSQL is
 * down or restarting). It is retryable: the REST API answers 503 with Retry-After, a producer
 * gets a retryable error, and background work backs off and tries again.
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
