/**
 * @module store/log-pages
 * Pages of a log for a virtual list, each one or two index seeks plus a range scan, however long
 * the log: by line number over the primary key (execution_id, n), by position within one stream
 * over (execution_id, stream, sn), where `sn` is a line's 1-based rank in its own stream.
 *
 * Translating a line number into a stream rank needs no count: lines are numbered 1..n across
 * both streams, so at a line of the other stream with rank r, this stream has had n − r lines.
 */
import type { LogLine, LogStream } from '../../protocol/models';
import { DEFAULT_LOG_PAGE_LINES, MAX_LOG_PAGE_LINES } from '../../protocol/api';
import { toLogLine } from './rows';
import type { Statements } from './statements';
import type { LogPage, LogPageQuery } from './types';

function clampLimit(limit: number | undefined): number {
	if (limit === undefined || !Number.isFinite(limit)) return DEFAULT_LOG_PAGE_LINES;
	return Math.min(MAX_LOG_PAGE_LINES, Math.max(1, Math.floor(limit)));
}

export function readLogPage(stmt: Statements, executionId: string, query: LogPageQuery = {}): LogPage {
	const limit = clampLimit(query.limit);
	const lastLine = stmt.lastLine.get(executionId) ?? 0;
	const stream = query.stream ?? 'both';
	if (stream === 'both') return bothStreams(stmt, executionId, lastLine, limit, query);
	return oneStream(stmt, executionId, stream, lastLine, limit, query);
}

function bothStreams(
	stmt: Statements,
	executionId: string,
	lastLine: number,
	limit: number,
	query: LogPageQuery
): LogPage {
	let from: number;
	if (query.tail !== undefined) from = Math.max(1, lastLine - Math.max(0, query.tail) + 1);
	else if (query.index !== undefined) from = Math.max(0, query.index) + 1;
	else from = Math.max(1, query.from ?? 1);
	const pageLimit = query.tail !== undefined ? Math.min(limit, Math.max(0, query.tail)) : limit;
	const lines = pageLimit > 0 ? stmt.readLines.all(executionId, from - 1, pageLimit).map(toLogLine) : [];
	return { total: lastLine, last_line: lastLine, first_index: lines.length ? lines[0].n - 1 : null, lines };
}

function oneStream(
	stmt: Statements,
	executionId: string,
	stream: LogStream,
	lastLine: number,
	limit: number,
	query: LogPageQuery
): LogPage {
	const total = stmt.streamCount.get(executionId, stream) ?? 0;
	let rank: number;
	let pageLimit = limit;
	if (query.tail !== undefined) {
		const tail = Math.max(0, query.tail);
		rank = Math.max(1, total - tail + 1);
		pageLimit = Math.min(limit, tail);
	} else if (query.index !== undefined) {
		rank = Math.max(0, query.index) + 1;
	} else {
		rank = rankFrom(stmt, executionId, stream, Math.max(1, query.from ?? 1));
	}
	let lines: LogLine[] = [];
	if (pageLimit > 0 && rank <= total) {
		lines = stmt.readStreamLines.all(executionId, stream, rank, pageLimit).map(toLogLine);
	}
	return { total, last_line: lastLine, first_index: lines.length ? rank - 1 : null, lines };
}

/** the rank in `stream` of its first line numbered ≥ from (past the end when there is none) */
function rankFrom(stmt: Statements, executionId: string, stream: LogStream, from: number): number {
	const at = stmt.firstLineFrom.get(executionId, from);
	if (!at) return Number.MAX_SAFE_INTEGER;
	return at.stream === stream ? at.sn : at.n - at.sn + 1;
}
