/**
 * @module logger
 * Structured logging through pino, one child logger per component. Piped or redirected, the
 * server writes JSON lines (for log collectors and `jq`); on a terminal it writes one readable
 * line per entry through pino-pretty. `ACO_LOG_FORMAT=json|pretty` overrides the choice.
 */
import pino, { type DestinationStream, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export function createLogger(level = 'info'): Logger {
	return pino({ level, base: { app: 'aco' } });
}

/** `ACO_LOG_FORMAT` when set, else pretty on a terminal and JSON otherwise. */
export function logFormatFor(env: NodeJS.ProcessEnv, stream: { isTTY?: boolean }): LogFormat {
	const wanted = env.ACO_LOG_FORMAT?.trim().toLowerCase();
	if (wanted) {
		if (!(LOG_FORMATS as readonly string[]).includes(wanted)) {
			throw new Error(`ACO_LOG_FORMAT must be json or pretty, got "${env.ACO_LOG_FORMAT}".`);
		}
		return wanted as LogFormat;
	}
	return stream.isTTY ? 'pretty' : 'json';
}

/**
 * A readable line per entry: `08:41:07 INFO  hub: hub started epoch=… max_connections=1000`.
 * Synchronous, so nothing is lost when the process exits right after a line.
 */
export function prettyStream(destination: NodeJS.WritableStream = process.stdout): DestinationStream {
	return pretty({
		destination,
		sync: true,
		colorize: 'isTTY' in destination && Boolean((destination as { isTTY?: boolean }).isTTY),
		translateTime: 'SYS:HH:MM:ss',
		ignore: 'pid,hostname,app,component',
		messageFormat: '{if component}{component}: {end}{msg}',
		singleLine: true
	});
}

export interface ConsoleLogger {
	logger: Logger;
	/**
	 * Entries logged before this call are held back and written now: a server prints where it
	 * listens and where its data is first, then what it logged while starting.
	 */
	release(): void;
}

/** The server's logger on stdout, in the format {@link logFormatFor} picks, held until released. */
export function createConsoleLogger(level: string, format: LogFormat): ConsoleLogger {
	const out: DestinationStream =
		format === 'pretty' ? prettyStream() : pino.destination({ dest: 1, sync: true });
	let held: string[] | null = [];
	const stream: DestinationStream = {
		write(line: string) {
			if (held) held.push(line);
			else out.write(line);
		}
	};
	return {
		logger: pino({ level, base: { app: 'aco' } }, stream),
		release() {
			if (!held) return;
			const lines = held;
			held = null;
			for (const line of lines) out.write(line);
		}
	};
}
