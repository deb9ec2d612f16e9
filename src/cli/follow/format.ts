/**
 * @module cli/follow/format
 * How followers and the dashboard word things: durations, status marks, retry notices, and
 * colour that is on only for a terminal and off under NO_COLOR (https://no-color.org).
 */
import stripAnsi from 'strip-ansi';
import type { TaskStatus } from '../../lib/protocol/models';

export interface Output {
	write(chunk: string): unknown;
	isTTY?: boolean;
}

export const SGR = {
	reset: '\x1b[0m',
	bold: '\x1b[1m',
	dim: '\x1b[2m',
	inverse: '\x1b[7m',
	red: '\x1b[31m',
	green: '\x1b[32m',
	yellow: '\x1b[33m',
	cyan: '\x1b[36m'
} as const;

export type Color = keyof typeof SGR;

export type Paint = (color: Color, text: string) => string;

/** A painter that colours for terminals and leaves text plain elsewhere (or under NO_COLOR). */
export function painter(out: Output, env: NodeJS.ProcessEnv = process.env): Paint {
	const enabled = !!out.isTTY && !env.NO_COLOR && env.TERM !== 'dumb';
	return enabled ? (color, text) => `${SGR[color]}${text}${SGR.reset}` : (_color, text) => text;
}

export const STATUS_MARK: Record<TaskStatus, string> = {
	queued: '·',
	running: '▶',
	succeeded: '✔',
	failed: '✖',
	cancelled: '⊘',
	interrupted: '!'
};

export const STATUS_COLOR: Record<TaskStatus, Color> = {
	queued: 'dim',
	running: 'cyan',
	succeeded: 'green',
	failed: 'red',
	cancelled: 'yellow',
	interrupted: 'yellow'
};

/**
 * The one line that says something is being asked for again (once per outage, not per try).
 * @example fetchRetryNotice('task t1', err) // 'aco: fetching task t1 failed, trying again with back-off: …'
 */
export function fetchRetryNotice(what: string, error: unknown): string {
	return `aco: fetching ${what} failed, trying again with back-off: ${errorText(error)}\n`;
}

/** What went wrong, as the one line a person reads: an error's message, anything else as text. */
export function errorText(err: unknown): string {
	return err instanceof Error ? err.message : String(err);
}

/** 850ms, 3.2s, 1m05s, 2h03m. */
export function formatDuration(ms: number | null | undefined): string {
	if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return '';
	if (ms < 1000) return `${Math.round(ms)}ms`;
	if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
	const s = Math.floor(ms / 1000);
	if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
	return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

// eslint-disable-next-line no-control-regex -- removing control characters is the point
const CONTROL_CHARACTERS = /[\x00-\x08\x0b-\x1f\x7f]/g;

/**
 * A tool's line made safe for a terminal: its own colours and cursor moves are removed (they
 * would move our cursor or bleed into our layout), tabs become spaces, other control characters go.
 */
export function cleanLine(text: string): string {
	return stripAnsi(text).replace(/\t/g, '    ').replace(CONTROL_CHARACTERS, '');
}
