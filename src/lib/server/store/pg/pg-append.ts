/**
 * @module store/pg/pg-append
 * One append of log lines to PostgreSQL, in the caller's transaction: the execution row is
 * locked first (every append does so, so appends of one log follow each other and each sees
 * what the one before stored), then only the lines not stored yet are written, ranked within
 * their stream from the counts kept on the execution row, with their outline marks and
 * progress runs.
 *
 * A large append goes in through `COPY … FROM STDIN` (pg-copy-streams), a small one through
 * one `INSERT … SELECT FROM unnest(arrays)` that also writes the marks and the counts. Neither
 * needs `ON CONFLICT`: under the lock, the lines already stored are known before writing (and
 * PostgreSQL's speculative insertion cost a third of the insert). `npm run bench -- log-ingest-pg`
 * measures it.
 */
import { once } from 'node:events';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { LogLine, LogStream } from '../../../protocol';
import { type ProgressLineInfo, progressInfo, progressStep } from '../../../log/progress-runs';
import { logMarkOf, type LogMarkRow } from '../log-marks';
import type { LogBatchSize } from '../types';
import { encodeText } from './pg-rows';

/**
 * From this many new lines an append uses COPY: below it, COPY's extra round trip (it waits for
 * the server's go-ahead before sending data) costs about what it saves, and a small append (an
 * ingest request of a few lines) keeps to one statement.
 */
export const COPY_FROM_LINES = 256;

/**
 * What one append should take when a backlog waits (Store.logBatch): the cost per line falls
 * until a few thousand lines, while a larger append holds its transaction (and the writer's
 * memory) longer for little more.
 */
export const PG_LOG_BATCH: LogBatchSize = { lines: 5_000, bytes: 2 * 1024 * 1024 };

interface AppendHead {
	line_count: number;
	stdout_lines: number;
	stderr_lines: number;
	prev_stream: LogStream | null;
	prev_partial: boolean | null;
	prev_cr: boolean | null;
}

type ProgressOp = { open?: number; close?: number };

/** the lines of a batch to write: only new ones, each with its rank, mark and progress step */
interface NewLines {
	lines: LogLine[];
	texts: string[];
	encs: number[];
	sns: number[];
	marks: (LogMarkRow & { n: number })[];
	progress: ProgressOp[];
	added: Record<LogStream, number>;
	/** the highest line number among them */
	last: number;
	/** a line's line before was not the one before it in the batch */
	gapped: boolean;
}

/**
 * One append in the caller's transaction (see the module comment); returns the lines it wrote,
 * which under the lock are exactly those no append before it stored (Store.appendLogLines).
 */
export async function appendLines(
	client: pg.ClientBase,
	executionId: string,
	batch: LogLine[]
): Promise<LogLine[]> {
	const first = batch[0].n;
	// the lock comes first: what the statements after it read includes every append before it
	const head = (
		await client.query<AppendHead>(
			`SELECT e.line_count, e.stdout_lines, e.stderr_lines,
				p.stream AS prev_stream, p.partial AS prev_partial, strpos(p.text, E'\\r') > 0 AS prev_cr
			 FROM executions e LEFT JOIN log_lines p ON p.execution_id = e.id AND p.n = $2
			 WHERE e.id = $1 FOR UPDATE OF e`,
			[executionId, first - 1]
		)
	).rows[0];
	if (!head) throw new Error(`execution ${executionId} not found`);

	// a line already stored (a repeated append) keeps its rank and adds none
	let known: Set<number> | null = null;
	if (batch.some((line) => line.n <= head.line_count)) {
		const stored = await client.query<{ n: number }>(
			'SELECT n FROM log_lines WHERE execution_id = $1 AND n = ANY($2::int[])',
			[executionId, batch.map((line) => line.n)]
		);
		known = new Set(stored.rows.map((row) => row.n));
	}
	const fresh = newLines(batch, head, known);
	if (fresh.lines.length === 0) return fresh.lines;
	const counts = [executionId, Math.max(head.line_count, fresh.last), fresh.added.stdout, fresh.added.stderr];
	if (fresh.lines.length >= COPY_FROM_LINES) {
		await copyLines(client, executionId, fresh);
		await client.query(`${MARKS_CTE} ${UPDATE_COUNTS}`, [...counts, ...marksValues(fresh.marks)]);
	} else {
		await client.query(
			`${MARKS_CTE}, added AS (
				INSERT INTO log_lines (execution_id, n, stream, ts, text, sn, partial, enc)
				SELECT $1, * FROM unnest($10::int[], $11::text[], $12::text[], $13::text[], $14::int[], $15::bool[], $16::smallint[])
			)
			${UPDATE_COUNTS}`,
			[
				...counts,
				...marksValues(fresh.marks),
				fresh.lines.map((line) => line.n),
				fresh.lines.map((line) => line.stream),
				fresh.lines.map((line) => line.ts),
				fresh.texts,
				fresh.sns,
				fresh.lines.map((line) => line.partial === true),
				fresh.encs
			]
		);
	}
	if (fresh.gapped) {
		// rare (lines out of order): recompute the steps, each with its line before as now stored
		await fixGappedProgress(client, executionId, fresh.lines, fresh.progress);
	}
	for (const op of fresh.progress) {
		if (op.close !== undefined) {
			await client.query(
				'UPDATE log_progress SET end_n = $1 WHERE execution_id = $2 AND end_n IS NULL AND start <= $1',
				[op.close, executionId]
			);
		}
		if (op.open !== undefined) {
			await client.query(
				'INSERT INTO log_progress (execution_id, start, end_n) VALUES ($1, $2, NULL) ON CONFLICT DO NOTHING',
				[executionId, op.open]
			);
		}
	}
	return fresh.lines;
}

function newLines(batch: LogLine[], head: AppendHead, known: Set<number> | null): NewLines {
	const ranks = { stdout: head.stdout_lines, stderr: head.stderr_lines };
	const fresh: NewLines = {
		lines: [],
		texts: [],
		encs: [],
		sns: [],
		marks: [],
		progress: [],
		added: { stdout: 0, stderr: 0 },
		last: 0,
		gapped: false
	};
	const seen = new Set<number>();
	const first = batch[0].n;
	let prev: ProgressLineInfo | undefined =
		head.prev_stream === null
			? undefined
			: {
					n: first - 1,
					stream: head.prev_stream,
					partial: head.prev_partial === true,
					cr: head.prev_cr === true
				};
	for (const line of batch) {
		if (known?.has(line.n) || seen.has(line.n)) continue;
		seen.add(line.n);
		const [text, enc] = encodeText(line.text);
		fresh.lines.push(line);
		fresh.texts.push(text);
		fresh.encs.push(enc);
		fresh.sns.push((ranks[line.stream] += 1));
		fresh.added[line.stream] += 1;
		if (line.n > fresh.last) fresh.last = line.n;
		const mark = logMarkOf(line.text);
		if (mark) fresh.marks.push({ n: line.n, ...mark });
		// the line before is the batch's previous one, or stored before (read with the head)
		if (prev?.n !== line.n - 1) {
			prev = undefined;
			fresh.gapped = true;
		}
		const info = progressInfo(line);
		const step = progressStep(prev, info);
		if (step.closeAt !== null) fresh.progress.push({ close: step.closeAt });
		if (step.start) fresh.progress.push({ open: line.n });
		prev = info;
	}
	return fresh;
}

/** the marks of the new lines ($5–$9; most batches have none, and an empty unnest costs nothing) */
const MARKS_CTE = `WITH marked AS (
	INSERT INTO log_marks (execution_id, n, kind, text, file, file_line)
	SELECT $1, * FROM unnest($5::int[], $6::text[], $7::text[], $8::text[], $9::int[])
	ON CONFLICT DO NOTHING
)`;

/** the log's last line ($2) and the lines added per stream ($3, $4), which rank the next append's lines */
const UPDATE_COUNTS = `UPDATE executions
	SET line_count = $2, stdout_lines = stdout_lines + $3, stderr_lines = stderr_lines + $4
	WHERE id = $1`;

/** $5–$9 of {@link MARKS_CTE} */
function marksValues(marks: NewLines['marks']): unknown[] {
	return [
		marks.map((m) => m.n),
		marks.map((m) => m.kind),
		marks.map((m) => m.text),
		marks.map((m) => m.file),
		marks.map((m) => m.file_line)
	];
}

const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };
const COPY_SPECIAL = /[\\\t\n\r]/;
const COPY_SPECIAL_ALL = /[\\\t\n\r]/g;

/** a value in COPY's text format: backslash, tab, newline and carriage return escaped */
export function copyField(value: string): string {
	return COPY_SPECIAL.test(value) ? value.replace(COPY_SPECIAL_ALL, (c) => COPY_ESCAPES[c]) : value;
}

async function copyLines(client: pg.ClientBase, executionId: string, fresh: NewLines): Promise<void> {
	const id = copyField(executionId);
	let data = '';
	for (let i = 0; i < fresh.lines.length; i++) {
		const line = fresh.lines[i];
		data += `${id}\t${line.n}\t${line.stream}\t${copyField(line.ts)}\t${copyField(fresh.texts[i])}\t${fresh.sns[i]}\t${line.partial === true ? 't' : 'f'}\t${fresh.encs[i]}\n`;
	}
	const copy = client.query(
		copyFrom('COPY log_lines (execution_id, n, stream, ts, text, sn, partial, enc) FROM STDIN')
	);
	const done = once(copy, 'finish');
	copy.end(data);
	await done;
}

/** the progress steps of lines that do not all follow each other, each with its stored line before */
async function fixGappedProgress(
	client: pg.ClientBase,
	executionId: string,
	lines: LogLine[],
	into: ProgressOp[]
): Promise<void> {
	into.length = 0;
	let prev: ProgressLineInfo | undefined;
	for (const line of lines) {
		if (prev?.n !== line.n - 1) {
			const row = (
				await client.query<{ stream: LogStream; partial: boolean; cr: boolean }>(
					`SELECT stream, partial, strpos(text, E'\\r') > 0 AS cr FROM log_lines WHERE execution_id = $1 AND n = $2`,
					[executionId, line.n - 1]
				)
			).rows[0];
			prev = row ? { n: line.n - 1, stream: row.stream, partial: row.partial, cr: row.cr } : undefined;
		}
		const info = progressInfo(line);
		const step = progressStep(prev, info);
		if (step.closeAt !== null) into.push({ close: step.closeAt });
		if (step.start) into.push({ open: line.n });
		prev = info;
	}
}
