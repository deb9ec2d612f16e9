/**
 * @module ingest/validate
 * Turns a request body into a validated ingest payload, or an IngestError (400) that names the
 * first wrong field, e.g. `events.2.lines.0.stream: Invalid option: expected one of "stdout"|"stderr"`.
 */
import type { z } from 'zod';
import { issuePath } from '../../protocol/ingest';
import { IngestError } from './ingest-error';

export function validate<S extends z.ZodType>(schema: S, body: unknown, what: string): z.output<S> {
	const result = schema.safeParse(body);
	if (result.success) return result.data;
	const issue = result.error.issues[0];
	const field = issuePath(issue?.path ?? []);
	throw new IngestError(400, 'invalid_request', `Invalid ${what}: ${field}: ${issue?.message ?? 'invalid'}.`);
}

/** Reads a JSON body; a body that is not JSON is a 400, not a crash. */
export async function readJson(request: Request): Promise<unknown> {
	let text: string;
	try {
		text = await request.text();
	} catch (err) {
		// SvelteKit's adapter errors the body stream with status 413 past BODY_SIZE_LIMIT
		if ((err as { status?: unknown } | null)?.status !== 413) throw err;
		throw new IngestError(
			413,
			'payload_too_large',
			`The request body is larger than this server accepts (${(err as Error).message}); send fewer lines per request.`
		);
	}
	if (!text.trim())
		throw new IngestError(400, 'invalid_request', 'The request body is empty; send a JSON object.');
	try {
		return JSON.parse(text);
	} catch {
		throw new IngestError(400, 'invalid_json', 'The request body is not valid JSON.');
	}
}
