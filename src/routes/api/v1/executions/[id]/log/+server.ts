import type { RequestHandler } from './$types';
import { handle, notFound } from '$lib/server/http/responses';
import { afterParam, lineCountParam, parseQuery } from '$lib/server/http/query';
import { DOWNLOAD_QUERY, logDownloadResponse } from '$lib/server/downloads/response';
import { workflowOf } from '$lib/server/downloads/segments';

/**
 * The whole log (or the lines after `after`, at most `limit` of them), streamed; also while the
 * tool still runs (what is stored when asked). Text is as the tool printed it (`?ansi=strip`
 * removes escape sequences); NDJSON has one LogLine a line. Named `<workflow>-<task>-<step>.log`
 * (`.ansi.log` with `ansi=keep`, `.ndjson`).
 */
export const GET: RequestHandler = ({ locals, params, url }) =>
	handle(
		async () => {
			const { store, logReader } = locals.aco;
			const {
				after = 0,
				limit,
				format = 'text',
				ansi
			} = parseQuery(url, {
				after: afterParam,
				limit: lineCountParam,
				...DOWNLOAD_QUERY
			});
			const execution = await store.getExecution(params.id);
			if (!execution) throw notFound('execution', params.id);
			const task = await store.getTask(execution.task_id);
			const workflow = task ? await workflowOf(store, task) : null;
			const stream = logReader.log(execution.id, {
				after,
				format,
				ansi: ansi ?? 'keep',
				upTo: limit === undefined ? execution.line_count : Math.min(execution.line_count, after + limit)
			});
			return logDownloadResponse(stream, {
				format,
				ansi,
				nameParts: [workflow, task?.key, execution.name],
				headers: {
					'x-aco-line-count': String(execution.line_count),
					'x-aco-execution-status': execution.status
				}
			});
		},
		(err) => locals.aco.logger.error({ err }, 'GET /executions/:id/log failed')
	);
