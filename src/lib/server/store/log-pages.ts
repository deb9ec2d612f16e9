/**
 * @module store/log-pages
 * Pages of a log for a virtual list, each one or two index seeks plus a range scan, however long
 * the log: by line number over the primary key (log_key, n), by position within one stream
 * over (log_key, stream, sn), where `sn` is a line's 1-based rank in its own stream (SQLite keys
 * a log by its execution's `log_key`, PostgreSQL by `execution_id`).
 *
 * Translating a line number into a stream rank needs no count: lines are numbered 1..n across
 * both streams, so at a line of the other stream with rank r, this stream has had n − r lines.
 *
 * A line may be 64 KiB, and JSON escapes a control character to `\u00XX`: 5,000 lines of a
 * binary's output would pass V8's longest string and fail the answer. So a page also ends at a
 * budget of characters (at least one line), its range scan read 512 lines at a time; a client
 * continues after its last line with no gap. The browser's pages (500 lines) always fit whole: it
 * fetches a short page again from its start, so a cut one would never complete.
 */
import type { LogLine, LogStream } from '../../protocol/models';
import { DEFAULT_LOG_PAGE_LINES, MAX_LOG_PAGE_LINES } from '../../protocol/api';
import { toLogLine } from './rows';
import type { Statements } from './statements';
import type { LogPage, LogPageQuery } from './types';

type Awaitable<T> = T | Promise<T>;

/** The reads a page is made of; each store answers them from its own indexes. */
export interface LogPageReads {
	/** the highest line number stored (0 for none) */
	lastLine(executionId: string): Awaitable<number>;
	/** lines stored of one stream */
	streamCount(executionId: string, stream: LogStream): Awaitable<number>;
	/** the first line numbered ≥ n, with its stream and rank in it */
	firstLineFrom(
		executionId: string,
		n: number
	): Awaitable<{ n: number; stream: string; sn: number } | undefined>;
	/** lines numbered > after, in order */
	readLines(executionId: string, after: number, limit: number): Awaitable<LogLine[]>;
	/** lines of one stream ranked ≥ rank, in order */
	readStreamLines(executionId: string, stream: LogStream, rank: number, limit: number): Awaitable<LogLine[]>;
}

/** the SQLite store's reads, from its prepared statements */
export function sqlitePageReads(stmt: Statements): LogPageReads {
	return {
		lastLine: (id) => stmt.lastLine.get(id) ?? 0,
		streamCount: (id, stream) => stmt.streamCount.get(id, stream) ?? 0,
		firstLineFrom: (id, n) => stmt.firstLineFrom.get(id, n),
		readLines: (id, after, limit) => stmt.readLines.all(id, after, limit).map(toLogLine),
		readStreamLines: (id, stream, rank, limit) =>
			stmt.readStreamLines.all(id, stream, rank, limit).map(toLogLine)
	};
}

/**
 * characters of JSON a page's line texts may take, each character counted at its longest escape
 * (`\u00XX`); a page holds at least one line however long. 500 lines of 64 KiB (the browser's
 * page, logview/line-cache) fit whole, and an answer stays far below V8's longest string
 * (2^29 − 24 characters), past which `JSON.stringify` throws.
 */
export const LOG_PAGE_JSON_CHARS = 192 * 1024 * 1024;
/**
 * characters of line text one chunk of a scan (search) or a store's line iteration reads at most,
 * past its first line: 2,000 lines of 64 KiB would be 128 MB read at once
 */
export const LOG_CHUNK_CHARS = 1024 * 1024;
const JSON_CHARS_PER_CHAR = 6;
/** lines read at a time: as many lines of 64 KiB as the budget holds, so a page reads past it by one batch at most */
const READ_BATCH_LINES = 512;

/**
 * Up to `limit` lines from `read(taken, count)` (the next `count` lines after those taken, in
 * order) while their JSON fits the budget.
 */
async function readWithinBudget(
	limit: number,
	read: (taken: readonly LogLine[], count: number) => Awaitable<LogLine[]>
): Promise<LogLine[]> {
	const lines: LogLine[] = [];
	let chars = 0;
	while (lines.length < limit) {
		const count = Math.min(READ_BATCH_LINES, limit - lines.length);
		const batch = await read(lines, count);
		for (const line of batch) {
			chars += line.text.length * JSON_CHARS_PER_CHAR;
			if (lines.length > 0 && chars > LOG_PAGE_JSON_CHARS) return lines;
			lines.push(line);
		}
		if (batch.length < count) break;
	}
	return lines;
}

function clampLimit(limit: number | undefined): number {
	if (limit === undefined || !Number.isFinite(limit)) return DEFAULT_LOG_PAGE_LINES;
	return Math.min(MAX_LOG_PAGE_LINES, Math.max(1, Math.floor(limit)));
}

export async function readLogPage(
	reads: LogPageReads,
	executionId: string,
	query: LogPageQuery = {}
): Promise<LogPage> {
	const limit = clampLimit(query.limit);
	const lastLine = await reads.lastLine(executionId);
	const stream = query.stream ?? 'both';
	if (stream === 'both') return bothStreams(reads, executionId, lastLine, limit, query);
	return oneStream(reads, executionId, stream, lastLine, limit, query);
}

async function bothStreams(
	reads: LogPageReads,
	executionId: string,
	lastLine: number,
	limit: number,
	query: LogPageQuery
): Promise<LogPage> {
	let from: number;
	if (query.tail !== undefined) from = Math.max(1, lastLine - Math.max(0, query.tail) + 1);
	else if (query.index !== undefined) from = Math.max(0, query.index) + 1;
	else from = Math.max(1, query.from ?? 1);
	const pageLimit = query.tail !== undefined ? Math.min(limit, Math.max(0, query.tail)) : limit;
	const lines = await readWithinBudget(pageLimit, (taken, count) =>
		reads.readLines(executionId, taken.at(-1)?.n ?? from - 1, count)
	);
	return { total: lastLine, last_line: lastLine, first_index: lines.length ? lines[0].n - 1 : null, lines };
}

async function oneStream(
	reads: LogPageReads,
	executionId: string,
	stream: LogStream,
	lastLine: number,
	limit: number,
	query: LogPageQuery
): Promise<LogPage> {
	const total = await reads.streamCount(executionId, stream);
	let rank: number;
	let pageLimit = limit;
	if (query.tail !== undefined) {
		const tail = Math.max(0, query.tail);
		rank = Math.max(1, total - tail + 1);
		pageLimit = Math.min(limit, tail);
	} else if (query.index !== undefined) {
		rank = Math.max(0, query.index) + 1;
	} else {
		rank = (await rankFrom(reads, executionId, stream, Math.max(1, query.from ?? 1))) ?? total + 1;
	}
	let lines: LogLine[] = [];
	if (pageLimit > 0 && rank <= total) {
		lines = await readWithinBudget(pageLimit, (taken, count) =>
			reads.readStreamLines(executionId, stream, rank + taken.length, count)
		);
	}
	return { total, last_line: lastLine, first_index: lines.length ? rank - 1 : null, lines };
}

/**
 * the rank in `stream` of its first line numbered ≥ from, or null when no line is: then there is
 * nothing to read (a rank past the end would not even fit PostgreSQL's integer column)
 */
export async function rankFrom(
	reads: Pick<LogPageReads, 'firstLineFrom'>,
	executionId: string,
	stream: LogStream,
	from: number
): Promise<number | null> {
	const at = await reads.firstLineFrom(executionId, from);
	if (!at) return null;
	return at.stream === stream ? at.sn : at.n - at.sn + 1;
}
