/**
 * @module downloads/log-reader
 * Where a download's lines are read and formatted: {@link LogReader} is what the routes ask for
 * a log's bytes. On SQLite a pool of worker threads does it (downloads/read-pool.ts), each
 * with its own read-only connection, so a download never holds the event loop; on PostgreSQL,
 * whose reads are async already, the store on this thread ({@link storeLogReader}).
 */
import {
	logSegmentsStream,
	logStream,
	type FormatOptions,
	type LogLineSource,
	type LogRange,
	type LogSegment
} from '../http/log-stream';

export interface LogReader {
	/** one execution's log (or its lines after `after`, up to `upTo`), pulled chunk by chunk */
	log(executionId: string, options: FormatOptions & LogRange): ReadableStream<Uint8Array>;
	/** several logs one after the other, each after its header ("Download all") */
	segments(segments: LogSegment[], options: FormatOptions): ReadableStream<Uint8Array>;
	/** ends every download still being read (they error) and stops the reader's threads; idempotent */
	close(): Promise<void>;
}

/** Reads through the store on the event loop: right for a store whose reads are async already. */
export function storeLogReader(source: LogLineSource): LogReader {
	return {
		log: (executionId, options) => logStream(source, executionId, options),
		segments: (segments, options) => logSegmentsStream(source, segments, options),
		close: async () => undefined
	};
}
