/**
 * @module logview/progress-line
 * Whether a line is a progress snapshot a terminal has already drawn over. A tool that redraws a
 * line with `\r` and prints no newline for a while has the line so far stored as a `partial`
 * line; the next line continues it. The view draws such a snapshot muted once a later line
 * exists, and normal while it is the newest: then it is the bar's current state, the one thing
 * the reader is watching.
 */
import type { LogLine } from './types';

/** `lastLine`: the newest line number of the execution (any stream) */
export function isSuperseded(line: LogLine | undefined, lastLine: number): boolean {
	if (!line || line.n >= lastLine) return false;
	return line.partial === true || line.text.endsWith('\r');
}
