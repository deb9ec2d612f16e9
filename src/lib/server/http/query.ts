/**
 * @module http/query
 * Validated query parameters for the REST API; a bad value is a 400 naming the parameter.
 */
import { z } from 'zod';
import { TASK_STATUSES } from '../../protocol/models';
import { ApiError } from './responses';

export const limitParam = z.coerce.number().int().min(1).max(1000).optional();
export const statusParam = z.enum(TASK_STATUSES).optional();
export const afterParam = z.coerce.number().int().min(0).optional();
/** how many lines a log download holds at most (no cap of its own: the log is streamed) */
export const lineCountParam = z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional();
/** `0|1` (also `false|true`) */
export const flagParam = z
	.enum(['0', '1', 'false', 'true'], { message: 'expected 0 or 1' })
	.transform((v) => v === '1' || v === 'true')
	.optional();
export const streamParam = z.enum(['both', 'stdout', 'stderr']).optional();

/**
 * Parses `url.searchParams` against a shape of zod schemas; unknown parameters are ignored. A NUL
 * character is refused in any of them: no id, name or search text has one (PostgreSQL cannot even
 * compare with one).
 */
export function parseQuery<S extends z.ZodRawShape>(url: URL, shape: S): z.infer<z.ZodObject<S>> {
	const raw: Record<string, string> = {};
	for (const key of Object.keys(shape)) {
		const value = url.searchParams.get(key);
		if (value?.includes('\0')) {
			throw new ApiError(
				400,
				'invalid_query',
				`Query parameter "${key}" contains a NUL character; remove it.`
			);
		}
		if (value !== null && value !== '') raw[key] = value;
	}
	const result = z.object(shape).safeParse(raw);
	if (!result.success) {
		const issue = result.error.issues[0];
		const name = String(issue?.path[0] ?? 'query');
		throw new ApiError(400, 'invalid_query', `Query parameter "${name}": ${issue?.message ?? 'invalid'}.`);
	}
	return result.data;
}
