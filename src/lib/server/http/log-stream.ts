/**
 * @module http/log-stream
 * A log download as text chunks, read page by page from a {@link LogLineSource} (the store, or
 * a read pool thread's read-only connection: both run these same generators, so both give the
 * same bytes), and as a pull-based ReadableStream, so a download of any size holds a chunk in
 * memory and a slow reader slows the reads. A chunk is bounded in characters as well as in lines:
 * a line may be 64 KiB, and NDJSON writes a control character as `\u00XX`, so a page of 2,000 such
 * lines would be a string longer than V8 allows.
 */
import type { LogLine } from '../../protocol/models';
import { stripAnsi } from '../../log/ansi';
import type { Store } from '../store/types';

/** what a download reads: the store itself, or a read-only connection in a worker thread */
export type LogLineSource = Pick<Store, 'iterateLogLines'>;

/** lines a download reads at a time (and so about what one chunk of it holds) */
export const DOWNLOAD_CHUNK_LINES = 2000;
/**
 * characters one chunk of a download holds at most (unless one line alone is longer), and about
 * the line text one page read holds: 2,000 ordinary lines fit, 2,000 lines of 64 KiB do not
 */
export const DOWNLOAD_CHUNK_CHARS = 1024 * 1024;

export type LogFormat = 'text' | 'ndjson';

export interface FormatOptions {
	format: LogFormat;
	/** text only: keep escape sequences as printed (default) or strip them */
	ansi?: 'keep' | 'strip';
}

/**
 * Text is the tool's output as printed: each line and its newline, except after a `partial` line
 * (a progress snapshot or a piece of an overlong line, stored before its newline came), which the
 * next line continues.
 */
export function formatLines(lines: LogLine[], options: FormatOptions | LogFormat): string {
	const format = lineFormatter(typeof options === 'string' ? { format: options } : options);
	let out = '';
	for (const line of lines) out += format(line);
	return out;
}

/** one line as a download writes it; NDJSON with `fields` added first (a combined download's) */
function lineFormatter(options: FormatOptions, fields?: Record<string, unknown>): (line: LogLine) => string {
	if (options.format === 'ndjson') {
		return fields
			? (line) => JSON.stringify({ ...fields, ...line }) + '\n'
			: (line) => JSON.stringify(line) + '\n';
	}
	const strip = options.ansi === 'strip';
	return (line) => {
		const text = strip ? stripAnsi(line.text) : line.text;
		return line.partial ? text : text + '\n';
	};
}

/** `lines` formatted, in chunks of at most {@link DOWNLOAD_CHUNK_CHARS} (or one line) */
function* formatChunks(
	lines: LogLine[],
	format: (line: LogLine) => string
): Generator<string, void, undefined> {
	let out = '';
	for (const line of lines) {
		const text = format(line);
		if (out.length > 0 && out.length + text.length > DOWNLOAD_CHUNK_CHARS) {
			yield out;
			out = '';
		}
		out += text;
	}
	if (out.length > 0) yield out;
}

/** One execution's log inside a combined download ("Download all" of a task or a run). */
export interface LogSegment {
	executionId: string;
	/** text: a line written before the segment's lines (a step header) */
	header: string;
	/** ndjson: fields added to each line (which task and step it belongs to) */
	fields: Record<string, unknown>;
	/** the line count when the download began (a consistent prefix of a running tool) */
	upTo: number;
}

/** which lines of one log: those after `after`, up to `upTo` (both line numbers) */
export interface LogRange {
	after?: number;
	upTo?: number;
}

/**
 * One execution's log as text chunks (a page of lines each). A running tool keeps appending:
 * it stops at `upTo`, the line count seen when the download began, so the file is a consistent
 * prefix rather than a moving target.
 */
export async function* logChunks(
	source: LogLineSource,
	executionId: string,
	options: FormatOptions & LogRange
): AsyncGenerator<string, void, undefined> {
	const upTo = options.upTo ?? Number.POSITIVE_INFINITY;
	const format = lineFormatter(options);
	for await (const chunk of source.iterateLogLines(executionId, {
		after: options.after ?? 0,
		chunk: DOWNLOAD_CHUNK_LINES
	})) {
		const lines = chunk.length && chunk[chunk.length - 1].n > upTo ? chunk.filter((l) => l.n <= upTo) : chunk;
		yield* formatChunks(lines, format);
		if (lines.length < chunk.length) return;
	}
}

/**
 * Several logs one after the other, each after its header (text) or with its fields on every
 * line (NDJSON). A header always starts on a line of its own, also after a partial last line.
 */
export async function* segmentChunks(
	source: LogLineSource,
	segments: LogSegment[],
	options: FormatOptions
): AsyncGenerator<string, void, undefined> {
	let atLineStart = true;
	for (const segment of segments) {
		if (options.format === 'text') {
			yield (atLineStart ? '' : '\n') + segment.header + '\n';
			atLineStart = true;
		}
		const format = lineFormatter(options, segment.fields);
		for await (const chunk of source.iterateLogLines(segment.executionId, { chunk: DOWNLOAD_CHUNK_LINES })) {
			const lines = chunk.filter((line) => line.n <= segment.upTo);
			if (lines.length === 0) break;
			yield* formatChunks(lines, format);
			atLineStart = !lines[lines.length - 1].partial;
			if (lines.length < chunk.length) break;
		}
	}
}

/** A pull-based byte stream of `chunks`: one chunk is read per pull, so a slow reader slows the reads. */
export function chunkStream(chunks: AsyncGenerator<string, void, undefined>): ReadableStream<Uint8Array> {
	const encoder = new TextEncoder();
	return new ReadableStream<Uint8Array>({
		async pull(controller) {
			try {
				const { value, done } = await chunks.next();
				if (done) controller.close();
				else controller.enqueue(encoder.encode(value));
			} catch (err) {
				controller.error(err);
			}
		},
		async cancel() {
			await chunks.return(undefined);
		}
	});
}

/** One execution's log read through the store on this thread (PostgreSQL's reads are async already). */
export function logStream(
	source: LogLineSource,
	executionId: string,
	options: FormatOptions & LogRange
): ReadableStream<Uint8Array> {
	return chunkStream(logChunks(source, executionId, options));
}

/** Several logs read through the store on this thread ("Download all" of a task or a run). */
export function logSegmentsStream(
	source: LogLineSource,
	segments: LogSegment[],
	options: FormatOptions
): ReadableStream<Uint8Array> {
	return chunkStream(segmentChunks(source, segments, options));
}
