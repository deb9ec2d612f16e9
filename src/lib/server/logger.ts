/**
 * @module logger
 * Structured logging through pino: JSON lines on stdout, one child logger per component.
 */
import pino, { type Logger } from 'pino';

export type { Logger };

export function createLogger(level = 'info'): Logger {
	return pino({ level, base: { app: 'aco' } });
}
