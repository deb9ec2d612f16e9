/**
 * @module downloads/response
 * The response of a combined download ("Download all"): the query it reads and the headers.
 */
import { z } from 'zod';
import { parseQuery } from '../http/query';
import { logSegmentsStream, type LogSegment } from '../http/log-stream';
import type { Store } from '../store/types';
import { contentDisposition, downloadKind, downloadName } from './names';

export function combinedLogResponse(
	store: Store,
	url: URL,
	nameParts: (string | null | undefined)[],
	segments: LogSegment[]
): Response {
	const query = parseQuery(url, {
		format: z.enum(['text', 'ndjson']).optional(),
		ansi: z.enum(['keep', 'strip']).optional()
	});
	const format = query.format ?? 'text';
	const filename = downloadName(nameParts, downloadKind(format, query.ansi));
	const stream = logSegmentsStream(store, segments, { format, ansi: query.ansi ?? 'keep' });
	return new Response(stream, {
		headers: {
			'content-type':
				format === 'ndjson' ? 'application/x-ndjson; charset=utf-8' : 'text/plain; charset=utf-8',
			'content-disposition': contentDisposition(filename),
			'cache-control': 'no-store',
			'x-aco-steps': String(segments.length)
		}
	});
}
