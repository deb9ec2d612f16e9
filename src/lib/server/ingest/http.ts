/**
 * @module ingest/http
 * The REST side of ingest: runs a handler and answers an IngestError with its status and a
 * JSON error body, like every other API error; a 503 (Redis, which holds a task's mask values
 * for every node, cannot be reached) says when to try again. A value the database refused is a 422
 * `invalid_data`, not a 500: a producer resends after a 500, and this would fail every time.
 */
import { ApiError, STORE_RETRY_AFTER_S, handle } from '../http/responses';
import type { Logger } from '../logger';
import { isStoreDataError } from '../store/errors';
import { isIngestError } from './ingest-error';
import { INCOMPLETE_BODY } from './validate';

export function handleIngest(fn: () => Promise<Response>, logger: Logger, what: string): Promise<Response> {
	return handle(
		async () => {
			try {
				return await fn();
			} catch (err) {
				if (isIngestError(err)) {
					// a producer that went away (killed, network gone) is no fault of the server's
					if (err.code === INCOMPLETE_BODY) {
						logger.info(`${what}: the client went away before sending the whole request body`);
					}
					const retry = err.status === 503 ? { 'retry-after': String(STORE_RETRY_AFTER_S) } : undefined;
					throw new ApiError(err.status, err.code, err.message, undefined, retry);
				}
				if (isStoreDataError(err)) {
					logger.warn({ err }, `${what}: the database refused a value`);
					throw new ApiError(422, err.code, err.message);
				}
				throw err;
			}
		},
		(err) => logger.error({ err }, `${what} failed`)
	);
}
