/**
 * @module http/log-stream
 * Streams an execution's log out of the store chunk by chunk, so a download of any size holds
 * one chunk in memory and a slow reader slows the reads (pull-based ReadableStream).
 */
import type { LogLine } from '../../protocol/models';
import { stripAnsi } from '../../log/ansi';
import type { Store } from '../store/types';

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
	const { format, ansi } = typeof options === 'string' ? { format: options, ansi: 'keep' } : options;
	let out = '';
	if (format === 'ndjson') {
		for (const line of lines) out += JSON.stringify(line) + '\n';
		return out;
	}
	const strip = ansi === 'strip';
	for (const line of lines) {
		const text = strip ? stripAnsi(line.text) : line.text;
		out += line.partial ? text : text + '\n';
	}
	return out;
}

export function logStream(
	store: Store,
	executionId: string,
	options: FormatOptions & { after?: number; upTo?: number }
): ReadableStream<Uint8Array> {
	const encoder = new TextEncoder();
	const lines = store.iterateLogLines(executionId, { after: options.after ?? 0, chunk: 2000 });
	const iterator = lines[Symbol.asyncIterator]();
	// A running tool keeps appending: stop at the line count seen when the download began, so
	// the file is a consistent prefix rather than a moving target.
	const upTo = options.upTo ?? Number.POSITIVE_INFINITY;
	return new ReadableStream<Uint8Array>({
		async pull(controller) {
			try {
				const { value, done } = await iterator.next();
				if (done) {
					controller.close();
					return;
				}
				const lines =
					value.length && value[value.length - 1].n > upTo ? value.filter((l) => l.n <= upTo) : value;
				if (lines.length) controller.enqueue(encoder.encode(formatLines(lines, options)));
				if (lines.length < value.length) {
					await iterator.return?.();
					controller.close();
				}
			} catch (err) {
				controller.error(err);
			}
		},
		async cancel() {
			await iterator.return?.();
		}
	});
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

/**
 * Several logs one after the other, each after its header (text) or with its fields on every
 * line (NDJSON). A header always starts on a line of its own, also after a partial last line.
 */
export function logSegmentsStream(
	store: Store,
	segments: LogSegment[],
	options: FormatOptions
): ReadableStream<Uint8Array> {
	const encoder = new TextEncoder();
	async function* chunks(): AsyncGenerator<string> {
		let atLineStart = true;
		for (const segment of segments) {
			if (options.format === 'text') {
				yield (atLineStart ? '' : '\n') + segment.header + '\n';
				atLineStart = true;
			}
			for await (const chunk of store.iterateLogLines(segment.executionId, { chunk: 2000 })) {
				const lines = chunk.filter((line) => line.n <= segment.upTo);
				if (lines.length === 0) break;
				if (options.format === 'ndjson') {
					yield lines.map((line) => JSON.stringify({ ...segment.fields, ...line })).join('\n') + '\n';
				} else {
					yield formatLines(lines, options);
					atLineStart = !lines[lines.length - 1].partial;
				}
				if (lines.length < chunk.length) break;
			}
		}
	}
	const iterator = chunks();
	return new ReadableStream<Uint8Array>({
		async pull(controller) {
			try {
				const { value, done } = await iterator.next();
				if (done) controller.close();
				else controller.enqueue(encoder.encode(value));
			} catch (err) {
				controller.error(err);
			}
		},
		async cancel() {
			await iterator.return(undefined);
		}
	});
}
