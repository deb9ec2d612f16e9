/**
 * @module logview/commands
 * Workflow command lines as the log view shows them: `::progress`, `::add-mask::` and
 * `::endgroup::` only act, so they take no row by default; `::error::`, `::warning::` and
 * `::notice::` read as "Error: message". The same rule as the server's outline (store/log-marks),
 * applied to live lines and to lines the outline does not cover. A toggle shows the raw text.
 */
import { parseLogCommand, parseWorkflowCommand } from '$lib/log/workflow-commands';

/**
 * whether the server's outline keeps a mark for a line (a group, an annotation or a workflow
 * command: store/log-marks' logMarkOf is not null), which its MAX_OUTLINE_MARKS counts
 */
export function isLogMark(text: string): boolean {
	if (!text.includes('::')) return false;
	return parseLogCommand(text) !== null || parseWorkflowCommand(text) !== null;
}

/** whether a line only acts (hidden by default) */
export function isHiddenCommand(text: string): boolean {
	if (!text.includes('::')) return false;
	const command = parseWorkflowCommand(text);
	return (
		!!command && (command.kind === 'progress' || command.kind === 'add-mask' || command.kind === 'endgroup')
	);
}

/**
 * What a command line reads as when it is not hidden (commands off, or a filtered view that
 * shows every line), or null for an ordinary line or a `::group::` (the fold toggle draws it).
 */
export function commandText(text: string): string | null {
	if (!text.includes('::')) return null;
	const command = parseWorkflowCommand(text);
	if (!command) return null;
	switch (command.kind) {
		case 'progress':
			return `Progress ${command.value}%${command.message ? ` · ${command.message}` : ''}`;
		case 'add-mask':
			return 'A value is masked from here on';
		case 'endgroup':
			return 'End of group';
		case 'group':
			return null;
		default: {
			const where = command.params.file
				? ` (${command.params.file}${command.params.line ? `:${command.params.line}` : ''})`
				: '';
			const label = command.kind === 'error' ? 'Error' : command.kind === 'warning' ? 'Warning' : 'Notice';
			return `${label}: ${command.message}${where}`;
		}
	}
}
