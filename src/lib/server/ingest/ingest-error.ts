/**
 * @module ingest/ingest-error
 * The one error the ingest service throws for a request it cannot apply: an HTTP status, a
 * machine code and a message that names the field and says how to fix it. REST answers it as
 * `{ error: { code, message } }`; the WebSocket producer role as an `error` reply.
 */

export class IngestError extends Error {
	override readonly name = 'IngestError';

	constructor(
		readonly status: number,
		readonly code: string,
		message: string
	) {
		super(message);
	}
}

/**
 * Routes and server.ts load separate copies of this module, so `instanceof` cannot be trusted
 * across them; the name and fields can.
 */
export function isIngestError(err: unknown): err is IngestError {
	return (
		err instanceof Error &&
		err.name === 'IngestError' &&
		typeof (err as IngestError).status === 'number' &&
		typeof (err as IngestError).code === 'string'
	);
}
