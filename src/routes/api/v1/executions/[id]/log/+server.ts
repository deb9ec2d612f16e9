import type { RequestHandler } from './$types';
import { z } from 'zod';
import { handle, notFound } from '$lib/server/http/responses';
import { afterParam, parseQuery } from '$lib/server/http/query';
import { logStream } from '$lib/server/http/log-stream';
import { contentDisposition, downloadKind, downloadName } from '$lib/server/downloads/names';
import { workflowOf } from '$lib/server/downloads/segments';

/**
 * The whole log (or the lines after `after`), streamed; also while the tool still runs. Text is
 * as the tool printed it (`?ansi=strip` removes escape sequences); NDJSON has one LogLine a line.
 * Named `<workflow>-<task>-<step>.log` (`.ansi.log` with `ansi=keep`, `.ndjson`).
 */
export const GET: RequestHandler = ({ locals, params, url }) =>
	handle(
		async () => {
			const { store } = locals.aco;
			const query = parseQuery(url, {
				after: afterParam,
				format: z.enum(['text', 'ndjson']).optional(),
				ansi: z.enum(['keep', 'strip']).optional()
			});
			const execution = await store.getExecution(params.id);
			if (!execution) throw notFound('execution', params.id);
			const format = query.format ?? 'text';
			const task = await store.getTask(execution.task_id);
			const workflow = task ? await workflowOf(store, task) : null;
			const filename = downloadName([workflow, task?.key, execution.name], downloadKind(format, query.ansi));
			const stream = logStream(store, execution.id, {
				after: query.after,
				format,
				ansi: query.ansi ?? 'keep',
				upTo: execution.line_count
			});
			return new Response(stream, {
				headers: {
					'content-type':
						format === 'ndjson' ? 'application/x-ndjson; charset=utf-8' : 'text/plain; charset=utf-8',
					'content-disposition': contentDisposition(filename),
					'cache-control': 'no-store',
					'x-aco-line-count': String(execution.line_count),
					'x-aco-execution-status': execution.status
				}
			});
		},
		(err) => locals.aco.logger.error({ err }, 'GET /executions/:id/log failed')
	);
