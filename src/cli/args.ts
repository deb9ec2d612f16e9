/**
 * @module cli/args
 * Command-line parsing for every `aco` command, on node:util's `parseArgs` (strict: an unknown
 * option is an error, not silently ignored), plus each command's `--help` text and the server
 * address and token shared by the commands that talk to a server (flags, then ACO_URL/ACO_TOKEN).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

export const DEFAULT_URL = 'http://127.0.0.1:3000';

/** An error meant for the user: printed as one line, exits with `exitCode`. */
export class CliError extends Error {
	constructor(
		message: string,
		readonly exitCode = 2
	) {
		super(message);
		this.name = 'CliError';
	}
}

export interface OptionSpec {
	type: 'string' | 'boolean';
	short?: string;
	/** shown in --help, e.g. "<port>" */
	value?: string;
	description: string;
}

export interface CommandSpec {
	name: string;
	/** e.g. "aco run <workflow> [--follow]" */
	usage: string;
	summary: string;
	/** more lines for --help */
	details?: string[];
	options: Record<string, OptionSpec>;
	positionals?: { min: number; max: number; names: string };
}

/** The options every command that talks to a server accepts. */
export const CONNECTION_OPTIONS: Record<string, OptionSpec> = {
	url: {
		type: 'string',
		value: '<url>',
		description: `server address (env ACO_URL, default ${DEFAULT_URL})`
	},
	token: { type: 'string', value: '<token>', description: 'bearer token (env ACO_TOKEN)' }
};

const HELP: OptionSpec = { type: 'boolean', short: 'h', description: 'show this help' };

export interface Parsed {
	values: Record<string, string | boolean | undefined>;
	positionals: string[];
	help: boolean;
}

/** Parses a command's arguments; throws a CliError that names the bad argument. */
export function parseCommand(spec: CommandSpec, argv: string[]): Parsed {
	const options: ParseArgsConfig['options'] = { help: { type: 'boolean', short: 'h' } };
	for (const [name, option] of Object.entries(spec.options)) {
		options[name] = { type: option.type, ...(option.short ? { short: option.short } : {}) };
	}
	let parsed;
	try {
		parsed = parseArgs({ args: argv, options, strict: true, allowPositionals: true });
	} catch (err) {
		throw new CliError(
			`aco ${spec.name}: ${parseProblem(err)}. Run "aco ${spec.name} --help" for its options.`
		);
	}
	const values = parsed.values as Parsed['values'];
	const help = values.help === true;
	const { min, max, names } = spec.positionals ?? { min: 0, max: 0, names: '' };
	if (!help && parsed.positionals.length < min) {
		throw new CliError(`aco ${spec.name}: missing ${names}. Usage: ${spec.usage}`);
	}
	if (!help && parsed.positionals.length > max) {
		throw new CliError(
			`aco ${spec.name}: unexpected argument "${parsed.positionals[max]}". Usage: ${spec.usage}`
		);
	}
	return { values, positionals: parsed.positionals, help };
}

/**
 * node's message goes on about positionals after `--`, so its first sentence is the point; but a
 * value that starts with a dash (`--retry-for -5`) is "ambiguous", and only node's last sentence
 * (write `--retry-for=-XYZ`) says how to give it
 */
function parseProblem(err: unknown): string {
	const message = err instanceof Error ? err.message : String(err);
	const first = message.split(/\.(\s|$)/)[0];
	const hint = /\n(To specify an option argument starting with a dash .*?)\.?$/.exec(message)?.[1];
	return hint ? `${first}; ${hint[0].toLowerCase()}${hint.slice(1)}` : first;
}

export function helpText(spec: CommandSpec): string {
	const rows = Object.entries({ ...spec.options, help: HELP }).map(([name, option]) => {
		const flag = `${option.short ? `-${option.short}, ` : '    '}--${name}${option.value ? ` ${option.value}` : ''}`;
		return [flag, option.description] as const;
	});
	const width = Math.max(...rows.map(([flag]) => flag.length)) + 2;
	return [
		`Usage: ${spec.usage}`,
		'',
		spec.summary,
		...(spec.details?.length ? ['', ...spec.details] : []),
		'',
		'Options:',
		...rows.map(([flag, description]) => `  ${flag.padEnd(width)}${description}`),
		''
	].join('\n');
}

export interface Connection {
	url: string;
	token: string | undefined;
	/** where `token` came from; without a token, the one `aco login` kept is sent, if any */
	tokenSource?: TokenSource;
}

/** where a token given to a command came from, as an error names it */
export type TokenSource = '--token' | 'ACO_TOKEN';

/** The server address and token: flags first, then ACO_URL / ACO_TOKEN, then the default address. */
export function connectionOf(values: Parsed['values'], env: NodeJS.ProcessEnv = process.env): Connection {
	const raw = (typeof values.url === 'string' && values.url) || env.ACO_URL || DEFAULT_URL;
	let url: URL;
	try {
		url = new URL(raw);
	} catch {
		throw new CliError(`"${raw}" is not a server address; give one like ${DEFAULT_URL} (--url or ACO_URL).`);
	}
	if (!/^(https?|wss?):$/.test(url.protocol)) {
		throw new CliError(
			`"${raw}" is not an http(s) address; give one like ${DEFAULT_URL} (--url or ACO_URL).`
		);
	}
	const flag = checkToken(typeof values.token === 'string' ? values.token : undefined, '--token');
	const token = flag ?? checkToken(env.ACO_TOKEN, 'ACO_TOKEN');
	const tokenSource: TokenSource | undefined = flag ? '--token' : token ? 'ACO_TOKEN' : undefined;
	return { url: raw.replace(/\/+$/, ''), token, ...(tokenSource ? { tokenSource } : {}) };
}

/**
 * A token as given, without surrounding white space (`ACO_TOKEN=$(cat token.txt)` keeps the CR
 * of a Windows file); undefined when nothing is left. A token that still holds a character no
 * token has is a usage error here: node would refuse the header, which reads as a network failure.
 */
export function checkToken(raw: string | undefined, source: string): string | undefined {
	const token = raw?.trim();
	if (!token) return undefined;
	const bad = /[^\x21-\x7e]/.exec(token);
	if (bad) {
		throw new CliError(
			`the token from ${source} contains ${describeCharacter(bad[0])} at position ${bad.index + 1}; a token has only visible ASCII characters.`
		);
	}
	return token;
}

function describeCharacter(char: string): string {
	const code = char.codePointAt(0)!;
	const hex = `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
	if (char === '\r') return 'a control character (a carriage return from a Windows file?)';
	if (char === '\n') return 'a control character (a line break: two lines pasted?)';
	if (code < 0x20 || code === 0x7f) return `a control character (${hex})`;
	if (char === ' ') return 'a space';
	return `a character outside visible ASCII (${hex})`;
}

/** the longest delay setTimeout takes; past it node warns and fires after 1 ms */
export const MAX_TIMER_MS = 2 ** 31 - 1;
/** the longest wait a command's option sets (--retry-for, --kill-grace): a day */
export const MAX_WAIT_MS = 24 * 60 * 60 * 1000;

/** An integer option, or its default; a CliError naming the option otherwise. */
export function intOption(
	command: string,
	name: string,
	value: string | boolean | undefined,
	fallback: number,
	min = 0,
	max = Number.MAX_SAFE_INTEGER
): number {
	if (value === undefined || value === '') return fallback;
	const n = Number(value);
	if (!Number.isInteger(n) || n < min || n > max) {
		const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `from ${min} to ${max}`;
		// an environment variable's value is named as the variable, an option's as the option
		const what = /^[A-Z][A-Z0-9_]*$/.test(name) ? name : `--${name}`;
		throw new CliError(`aco ${command}: ${what} must be a whole number ${range}, got "${String(value)}".`);
	}
	return n;
}
