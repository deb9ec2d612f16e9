/**
 * @module orchestrator/workflow-commands
 * Recognises GitHub Actions-style workflow commands in a line of tool output
 * (`::name key=value,…::message`), so scripts written for Actions report progress here too.
 * Parsing only; what a command does is up to the caller.
 */

export type WorkflowCommand =
	| { kind: 'progress'; value: number; message: string | null }
	| { kind: 'group'; title: string }
	| { kind: 'endgroup' }
	| { kind: 'error' | 'warning' | 'notice'; message: string; params: Record<string, string> }
	| { kind: 'add-mask'; value: string };

/** `::name params::message`; the name is lower-case letters and dashes, params are optional */
const COMMAND = /^\s*::([a-z][a-z-]*)(?:\s+([^:]*))?::(.*)$/i;

/**
 * @example
 * parseWorkflowCommand('::progress value=45::Compiling') // { kind: 'progress', value: 45, message: 'Compiling' }
 * parseWorkflowCommand('plain output') // null
 */
export function parseWorkflowCommand(line: string): WorkflowCommand | null {
	if (!line.includes('::')) return null;
	const match = COMMAND.exec(line);
	if (!match) return null;
	const name = match[1].toLowerCase();
	const params = parseParams(match[2] ?? '');
	const message = unescapeData(match[3]);

	switch (name) {
		case 'progress': {
			const raw = params.value ?? '';
			const value = Number(raw.trim().replace(/%$/, ''));
			if (raw.trim() === '' || !Number.isFinite(value)) return null;
			return { kind: 'progress', value: Math.min(100, Math.max(0, value)), message: message.trim() || null };
		}
		case 'group':
			return { kind: 'group', title: message };
		case 'endgroup':
			return { kind: 'endgroup' };
		case 'error':
		case 'warning':
		case 'notice':
			return { kind: name, message, params };
		case 'add-mask':
			return message.trim() ? { kind: 'add-mask', value: message.trim() } : null;
		default:
			return null;
	}
}

function parseParams(text: string): Record<string, string> {
	const params: Record<string, string> = {};
	for (const part of text.split(',')) {
		const eq = part.indexOf('=');
		if (eq <= 0) continue;
		params[part.slice(0, eq).trim().toLowerCase()] = unescapeProperty(part.slice(eq + 1));
	}
	return params;
}

// GitHub's escaping: data escapes %, CR and LF; properties also escape ':' and ','
function unescapeData(text: string): string {
	return text.replace(/%0D/gi, '\r').replace(/%0A/gi, '\n').replace(/%25/g, '%');
}

function unescapeProperty(text: string): string {
	return text
		.replace(/%0D/gi, '\r')
		.replace(/%0A/gi, '\n')
		.replace(/%3A/gi, ':')
		.replace(/%2C/gi, ',')
		.replace(/%25/g, '%');
}
