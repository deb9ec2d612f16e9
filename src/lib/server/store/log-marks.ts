/**
 * @module store/log-marks
 * The log outline (groups, annotations, command lines) as rows kept beside the lines: a mark is
 * stored at ingest for each `::group::`, `::endgroup::`, `::error::`, `::warning::` and
 * `::notice::` line, and for each other workflow command (`::progress`, `::add-mask::`, kind
 * `command`), so the outline of a log of millions of lines is read from a few rows instead of a
 * scan, and a viewer can leave command lines out without reading them.
 */
import {
	MAX_OUTLINE_ENTRIES,
	MAX_OUTLINE_MARKS,
	type LogAnnotation,
	type LogCommandRange,
	type LogGroup,
	type LogOutlineResponse
} from '../../protocol/api';
import { parseLogCommand, parseWorkflowCommand } from '../../log/workflow-commands';

export interface LogMarkRow {
	n: number;
	kind: 'group' | 'endgroup' | 'error' | 'warning' | 'notice' | 'command';
	/** the group's name or the annotation's message */
	text: string;
	file: string | null;
	file_line: number | null;
}

/** groups, annotations and command ranges each listed at most this many times; a log that has more says `truncated` */
/**
 * marks an outline is built from at most (MAX_OUTLINE_MARKS): a tool printing a command on every
 * line makes a mark of each, and reading millions of them would hold up every other request
 * (SQLite reads synchronously)
 */
export { MAX_OUTLINE_ENTRIES, MAX_OUTLINE_MARKS };

/** the mark a line makes, or null for an ordinary line (cheap for those: one `includes`) */
export function logMarkOf(text: string): Omit<LogMarkRow, 'n'> | null {
	if (!text.includes('::')) return null;
	const command = parseLogCommand(text);
	if (!command) {
		// a command that only acts (progress, masks): a viewer hides its line
		return parseWorkflowCommand(text) ? { kind: 'command', text: '', file: null, file_line: null } : null;
	}
	if (command.kind === 'group') return { kind: 'group', text: command.name, file: null, file_line: null };
	if (command.kind === 'endgroup') return { kind: 'endgroup', text: '', file: null, file_line: null };
	return {
		kind: command.kind,
		text: command.message,
		file: command.file ?? null,
		file_line: command.line ?? null
	};
}

/**
 * Builds the outline from marks in line order (progress runs are added from their own table). Groups do not nest, as in GitHub Actions: a
 * `::group::` while one is open ends the open one on the line before it. Only the first
 * MAX_OUTLINE_MARKS marks count: a store reads one more, so that one says the outline is truncated.
 */
export function buildOutline(marks: Iterable<LogMarkRow>): LogOutlineResponse {
	const groups: LogGroup[] = [];
	const annotations: LogAnnotation[] = [];
	const commands: LogCommandRange[] = [];
	let open: LogGroup | null = null;
	let truncated = false;
	let read = 0;
	let last = 0;
	let commandsThrough: number | undefined;
	for (const mark of marks) {
		if (read === MAX_OUTLINE_MARKS) {
			truncated = true;
			// what follows is unread: a viewer must not hide command lines past the last mark read
			commandsThrough = last;
			break;
		}
		read++;
		last = mark.n;
		// lines a viewer may hide: consecutive ones make one range
		if (mark.kind === 'command' || mark.kind === 'endgroup') {
			const last = commands.at(-1);
			if (last && last.end === mark.n - 1) last.end = mark.n;
			else if (commands.length < MAX_OUTLINE_ENTRIES) commands.push({ start: mark.n, end: mark.n });
			else truncated = true;
			if (mark.kind === 'command') continue;
		}
		if (mark.kind === 'group') {
			if (open) open.end = mark.n - 1;
			open = null;
			if (groups.length >= MAX_OUTLINE_ENTRIES) {
				truncated = true;
				continue;
			}
			open = { name: mark.text, start: mark.n, end: null };
			groups.push(open);
		} else if (mark.kind === 'endgroup') {
			if (open) open.end = mark.n;
			open = null;
		} else if (annotations.length < MAX_OUTLINE_ENTRIES) {
			const annotation: LogAnnotation = { line: mark.n, level: mark.kind, message: mark.text };
			if (mark.file !== null) annotation.file = mark.file;
			if (mark.file_line !== null) annotation.file_line = mark.file_line;
			annotations.push(annotation);
		} else {
			truncated = true;
		}
	}
	const outline: LogOutlineResponse = {
		groups,
		annotations,
		progress: [],
		commands,
		marks: { count: read, last },
		truncated
	};
	if (commandsThrough !== undefined) outline.commands_through = commandsThrough;
	return outline;
}
