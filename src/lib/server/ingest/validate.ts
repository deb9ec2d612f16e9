/**
 * @module ingest/validate
 * Turns a request body into a validated ingest payload, or an IngestError (400) that names the
 * first wrong field, e.g. `events.2.lines.0.stream: Invalid option: expected one of "stdout"|"stderr"`.
 */
import type { z } from 'zod';
import { createTaskSchema, issuePath } from '../../protocol/ingest';
import { IngestError } from './ingest-error';

/** the code of the 400 for a body whose sender hung up before it was complete */
export const INCOMPLETE_BODY = 'incomplete_body';

export function validate<S extends z.ZodType>(schema: S, body: unknown, what: string): z.output<S> {
	const result = schema.safeParse(body);
	if (result.success) return result.data;
	const issue = result.error.issues[0];
	const field = issuePath(issue?.path ?? []);
	throw new IngestError(400, 'invalid_request', `Invalid ${what}: ${field}: ${issue?.message ?? 'invalid'}.`);
}

/**
 * `application/json` or a `+json` type, with any parameters. The type is checked, not sniffed:
 * what a browser's form can send (urlencoded, multipart, text/plain) is never read as JSON.
 */
export function isJsonContentType(contentType: string | null): boolean {
	const type = contentType?.split(';', 1)[0]?.trim().toLowerCase() ?? '';
	return type === 'application/json' || /^application\/[\w.+-]+\+json$/.test(type);
}

/**
 * Reads a JSON body: a body sent as another type is a 415, one that is not UTF-8 or not JSON a
 * 400, one over the size limit a 413, and one whose sender hung up part way a 400 with
 * {@link INCOMPLETE_BODY}; never a crash.
 */
export async function readJson(request: Request): Promise<unknown> {
	if (!isJsonContentType(request.headers.get('content-type'))) {
		throw new IngestError(
			415,
			'unsupported_media_type',
			'The request body must be JSON: send Content-Type: application/json.'
		);
	}
	let bytes: ArrayBuffer;
	try {
		bytes = await request.arrayBuffer();
	} catch (err) {
		// SvelteKit's adapter errors the body stream with status 413 past BODY_SIZE_LIMIT
		if ((err as { status?: unknown } | null)?.status === 413) {
			throw new IngestError(
				413,
				'payload_too_large',
				`The request body is larger than this server accepts (${(err as Error).message}); send fewer lines per request.`
			);
		}
		// node's "aborted": the connection closed before Content-Length bytes came
		if ((err as NodeJS.ErrnoException | null)?.code === 'ECONNRESET') {
			throw new IngestError(
				400,
				INCOMPLETE_BODY,
				'The request body ended before it was complete; send it again.'
			);
		}
		throw err;
	}
	let text: string;
	try {
		// fatal: a lenient decode would store U+FFFD in place of what the producer sent
		text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
	} catch {
		throw new IngestError(400, 'invalid_utf8', 'The request body is not valid UTF-8.');
	}
	if (!text.trim())
		throw new IngestError(400, 'invalid_request', 'The request body is empty; send a JSON object.');
	try {
		return JSON.parse(text);
	} catch {
		throw new IngestError(400, 'invalid_json', 'The request body is not valid JSON.');
	}
}

/**
 * The `Idempotency-Key` header, held to the same rule as the body's `idempotency_key` (at most
 * 200 characters), or null when there is none.
 */
export function readIdempotencyKey(request: Request): string | null {
	const key = request.headers.get('idempotency-key');
	if (!key) return null;
	const result = createTaskSchema.shape.idempotency_key.safeParse(key);
	if (result.success) return key;
	throw new IngestError(
		400,
		'invalid_request',
		`Invalid Idempotency-Key header: ${result.error.issues[0]?.message ?? 'invalid'}.`
	);
}
