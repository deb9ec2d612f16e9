/**
 * @module log/progress-runs
 * Which lines form one progress bar. A tool that redraws a line with `\r` and prints no newline
 * for a while has the line so far stored as a `partial` snapshot; a run is a stretch of such
 * snapshots of one stream on consecutive line numbers, plus the line that continues them when it
 * redraws too (holds a `\r`): its display after the last `\r` is the bar's final state, so a
 * viewer may show the whole run as that one line, as a terminal would. The store applies the
 * rule at ingest and the browser to live lines, so both draw the same runs.
 *
 * A line of the other stream, or a continuation without `\r` (it adds to the text instead of
 * redrawing it), ends the run at the snapshot before it; the pieces of an overlong line (partial
 * but without `\r`) never start one, so no text is ever hidden.
 */
import type { LogLine, LogStream } from '../protocol/models';

/** what the rule needs to know about a line */
export interface ProgressLineInfo {
	n: number;
	stream: LogStream;
	partial: boolean;
	/** the text holds a `\r` */
	cr: boolean;
}

/** What a line does to the runs: opens one at itself, and/or ends the open one at `closeAt`. */
export interface ProgressStep {
	start: boolean;
	closeAt: number | null;
}

export function progressInfo(line: Pick<LogLine, 'n' | 'stream' | 'partial' | 'text'>): ProgressLineInfo {
	return { n: line.n, stream: line.stream, partial: line.partial === true, cr: line.text.includes('\r') };
}

/** whether a line is a progress snapshot (may be inside a run) */
export function isProgressSnapshot(line: ProgressLineInfo): boolean {
	return line.partial && line.cr;
}

/** `prev`: the line numbered `line.n - 1`, when known */
export function progressStep(prev: ProgressLineInfo | undefined, line: ProgressLineInfo): ProgressStep {
	const inRun = prev !== undefined && prev.n === line.n - 1 && isProgressSnapshot(prev);
	if (inRun && prev.stream === line.stream && line.cr) {
		return { start: false, closeAt: line.partial ? null : line.n };
	}
	return { start: isProgressSnapshot(line), closeAt: inRun ? line.n - 1 : null };
}
