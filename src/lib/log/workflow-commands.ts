/**
 * @module log/workflow-commands
 * Recognises GitHub Actions-style workflow commands in a line of tool output
 * (`::name key=value,…::message`), so scripts written for Actions report progress, fold groups
 * and annotate here too. Parsing only; what a command does is up to the caller (the orchestrator
 * applies `progress` and `add-mask`, the store keeps the log outline, the browser folds groups).
 * Pure: shared by server and browser.
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
 * An `add-mask` line in {@link COMMAND}'s grammar (GitHub's runner reads the same): [1] all before
 * the value (leading whitespace, the name, params if any: `::add-mask ::`, `::add-mask k=v::`),
 * [2] the value as written. The masker recognises add-mask lines by it, so every line the parser
 * (and so the log view) takes for one has its value masked.
 */
export const ADD_MASK_LINE = /^(\s*::add-mask(?:\s+[^:]*)?::)(.*)$/is;

const ADD_MASK_NAME = '::add-mask';
/** past the name: params so far, then at most the first colon of the closing `::` */
const ADD_MASK_UNFINISHED = /^::add-mask(?:\s[^:]*)?:?$/s;

/** Whether a line beginning so could, continued, still be an {@link ADD_MASK_LINE} (`::add-mask k=v:`). */
export function couldBeAddMaskLine(start: string): boolean {
	const rest = start.trimStart().toLowerCase();
	if (rest.length <= ADD_MASK_NAME.length) return ADD_MASK_NAME.startsWith(rest);
	return ADD_MASK_UNFINISHED.test(rest);
}

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
	const data = unescapeData(match[3]);
	const message = withoutNul(data);

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
			// as printed: the value masks the lines that hold it, NUL and all
			return data.trim() ? { kind: 'add-mask', value: data.trim() } : null;
		default:
			return null;
	}
}

function parseParams(text: string): Record<string, string> {
	const params: Record<string, string> = {};
	for (const part of text.split(',')) {
		const eq = part.indexOf('=');
		if (eq <= 0) continue;
		params[part.slice(0, eq).trim().toLowerCase()] = withoutNul(unescapeProperty(part.slice(eq + 1)));
	}
	return params;
}

/**
 * What a command says (a message, a group's title, a file name) loses its NUL characters: a
 * terminal shows none, and PostgreSQL text cannot hold one, so the outline, the task's message
 * and the log view read the same on every store. The line itself keeps them.
 */
function withoutNul(text: string): string {
	return text.includes('\0') ? text.replaceAll('\0', '') : text;
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

/** The commands that shape how a log reads (groups and annotations), as the log view uses them. */
export type LogCommand =
	| { kind: 'group'; name: string }
	| { kind: 'endgroup' }
	| { kind: 'error' | 'warning' | 'notice'; message: string; file?: string; line?: number };

/**
 * @example
 * parseLogCommand('::group::Install') // { kind: 'group', name: 'Install' }
 * parseLogCommand('::error file=a.ts,line=3::Boom') // { kind: 'error', message: 'Boom', file: 'a.ts', line: 3 }
 */
export function parseLogCommand(text: string): LogCommand | null {
	const command = parseWorkflowCommand(text);
	if (!command) return null;
	switch (command.kind) {
		case 'group':
			return { kind: 'group', name: command.title };
		case 'endgroup':
			return command;
		case 'error':
		case 'warning':
		case 'notice': {
			const out: LogCommand = { kind: command.kind, message: command.message };
			if (command.params.file) out.file = command.params.file;
			const line = fileLine(command.params.line);
			if (line !== null) out.line = line;
			return out;
		}
		default:
			return null;
	}
}

/** the largest file line kept: stores keep it in a 32-bit integer (PostgreSQL `integer`) */
export const MAX_FILE_LINE = 2_147_483_647;

/** `line=12` → 12; a line that is not a whole number from 1 to {@link MAX_FILE_LINE} is left out */
function fileLine(value: string | undefined): number | null {
	const text = value?.trim() ?? '';
	if (!/^\d+$/.test(text)) return null;
	const line = Number(text);
	return line >= 1 && line <= MAX_FILE_LINE ? line : null;
}
