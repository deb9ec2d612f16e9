/**
 * @module ingest/http
 * The REST side of ingest: runs a handler and answers an IngestError with its status and a
 * JSON error body, like every other API error.
 */
import { ApiError, handle } from '../http/responses';
import type { Logger } from '../logger';
import { isIngestError } from './ingest-error';

export function handleIngest(fn: () => Promise<Response>, logger: Logger, what: string): Promise<Response> {
	return handle(
		async () => {
			try {
				return await fn();
			} catch (err) {
				if (isIngestError(err)) throw new ApiError(err.status, err.code, err.message);
				throw err;
			}
		},
		(err) => logger.error({ err }, `${what} failed`)
	);
}
