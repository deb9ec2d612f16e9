/**
 * @module downloads/response
 * The response of a log download, one step's or combined ("Download all"): the query it reads
 * (`format=text|ndjson`, `ansi=keep|strip`), the file name that says what it holds, and the headers.
 */
import { z } from 'zod';
import { parseQuery } from '../http/query';
import type { LogSegment } from '../http/log-stream';
import type { LogReader } from './log-reader';
import { contentDisposition, downloadKind, downloadName } from './names';

/** the query fields of every log download */
export const DOWNLOAD_QUERY = {
	format: z.enum(['text', 'ndjson']).optional(),
	ansi: z.enum(['keep', 'strip']).optional()
};

export interface LogDownload {
	format: 'text' | 'ndjson';
	ansi: 'keep' | 'strip' | undefined;
	/** the name's parts: workflow, task, step… (missing ones are left out) */
	nameParts: (string | null | undefined)[];
	/** more headers (`x-aco-…`) */
	headers?: Record<string, string>;
}

/** A streamed log, named for what it holds (`<workflow>-<task>-<step>.log`, `.ansi.log`, `.ndjson`). */
export function logDownloadResponse(stream: ReadableStream<Uint8Array>, download: LogDownload): Response {
	const filename = downloadName(download.nameParts, downloadKind(download.format, download.ansi));
	return new Response(stream, {
		headers: {
			'content-type':
				download.format === 'ndjson' ? 'application/x-ndjson; charset=utf-8' : 'text/plain; charset=utf-8',
			'content-disposition': contentDisposition(filename),
			'cache-control': 'no-store',
			...download.headers
		}
	});
}

/** Every segment (step) of a task or run, one after the other ("Download all"). */
export function combinedLogResponse(
	reader: LogReader,
	url: URL,
	nameParts: (string | null | undefined)[],
	segments: LogSegment[]
): Response {
	const { format = 'text', ansi } = parseQuery(url, DOWNLOAD_QUERY);
	const stream = reader.segments(segments, { format, ansi: ansi ?? 'keep' });
	return logDownloadResponse(stream, {
		format,
		ansi,
		nameParts,
		headers: { 'x-aco-steps': String(segments.length) }
	});
}
