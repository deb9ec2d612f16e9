/**
 * @module store/errors
 * The one store failure callers treat specially: the database cannot be reached (PostgreSQL is
 * down or restarting). It is retryable: the REST API answers 503 with Retry-After, a producer
 * gets a retryable error, and background work backs off and tries again.
 */

export class StoreUnavailableError extends Error {
	override readonly name = 'StoreUnavailableError';
	readonly code = 'store_unavailable';
	readonly retryable = true;
	constructor(cause: unknown) {
		super(
			`The database cannot be reached right now (${(cause as Error)?.message ?? String(cause)}); nothing was stored. Retry shortly.`,
			{ cause }
		);
	}
}

/** by name, not `instanceof`: routes load their own copy of this module (see ingest-error.ts) */
export function isStoreUnavailable(err: unknown): err is StoreUnavailableError {
	return err instanceof Error && err.name === 'StoreUnavailableError';
}
