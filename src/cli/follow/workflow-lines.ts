/**
 * @module cli/follow/workflow-lines
 * How a terminal shows a tool's line: workflow commands as what they mean, not as written.
 * `::progress` is shown by the task's own line (progress, message), `::add-mask::` and
 * `::endgroup::` show nothing, a group opens with its title, annotations read as
 * `✖ error: message (file:line)`. Used by `aco run --follow` and `aco watch`.
 */
import { parseWorkflowCommand } from '../../lib/log/workflow-commands';
import { cleanLine, type Color } from './format';

export interface ShownLine {
	text: string;
	/** a colour for the whole line, when the command has one */
	color?: Color;
}

const ANNOTATION = {
	error: { mark: '✖', color: 'red' },
	warning: { mark: '⚠', color: 'yellow' },
	notice: { mark: 'ℹ', color: 'cyan' }
} as const;

/** What to print for a tool's output line, or null when it is a command with nothing to show. */
export function showLine(raw: string): ShownLine | null {
	const command = raw.includes('::') ? parseWorkflowCommand(raw) : null;
	if (!command) return { text: cleanLine(raw) };
	switch (command.kind) {
		case 'progress':
		case 'endgroup':
		case 'add-mask':
			return null;
		case 'group':
			return { text: `▸ ${cleanLine(command.title)}`, color: 'bold' };
		default: {
			const { mark, color } = ANNOTATION[command.kind];
			const file = command.params.file;
			const where = file ? ` (${file}${command.params.line ? `:${command.params.line}` : ''})` : '';
			return { text: `${mark} ${command.kind}: ${cleanLine(command.message)}${where}`, color };
		}
	}
}
