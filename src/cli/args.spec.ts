import { describe, expect, it } from 'vitest';
import {
	CliError,
	DEFAULT_URL,
	MAX_WAIT_MS,
	connectionOf,
	helpText,
	intOption,
	parseCommand,
	type CommandSpec
} from './args';

const spec: CommandSpec = {
	name: 'demo',
	usage: 'aco demo <thing> [--fast]',
	summary: 'A demo command.',
	options: { fast: { type: 'boolean', short: 'f', description: 'go fast' } },
	positionals: { min: 1, max: 1, names: 'the thing' }
};

describe('command-line parsing', () => {
	it('parses options and positionals', () => {
		expect(parseCommand(spec, ['-f', 'x'])).toMatchObject({
			values: { fast: true },
			positionals: ['x'],
			help: false
		});
	});

	it('names an unknown option and points at --help in one line', () => {
		expect(() => parseCommand(spec, ['x', '--slow'])).toThrow(
			new CliError(`aco demo: Unknown option '--slow'. Run "aco demo --help" for its options.`)
		);
	});

	it('says which argument is missing or extra, with the usage', () => {
		expect(() => parseCommand(spec, [])).toThrow(/missing the thing\. Usage: aco demo <thing>/);
		expect(() => parseCommand(spec, ['a', 'b'])).toThrow(/unexpected argument "b"/);
	});

	it('lets --help through without the required arguments and lists every option', () => {
		expect(parseCommand(spec, ['--help']).help).toBe(true);
		expect(helpText(spec)).toMatch(/-f, --fast\s+go fast/);
		expect(helpText(spec)).toMatch(/-h, --help\s+show this help/);
	});

	it('takes the server from the flag, then ACO_URL, then the default', () => {
		expect(connectionOf({ url: 'http://a:1/' }, { ACO_URL: 'http://b:2' }).url).toBe('http://a:1');
		expect(connectionOf({}, { ACO_URL: 'http://b:2', ACO_TOKEN: 't' })).toEqual({
			url: 'http://b:2',
			token: 't',
			tokenSource: 'ACO_TOKEN'
		});
		expect(connectionOf({ token: 'f' }, { ACO_TOKEN: 't' })).toMatchObject({
			token: 'f',
			tokenSource: '--token'
		});
		expect(connectionOf({}, {})).toEqual({ url: DEFAULT_URL, token: undefined });
		expect(() => connectionOf({ url: 'nope' }, {})).toThrow(/"nope" is not a server address/);
	});

	it('trims the token from --token and ACO_TOKEN (a CRLF file read with $(cat …))', () => {
		expect(connectionOf({ token: ' tok-1\r\n' }, {}).token).toBe('tok-1');
		expect(connectionOf({}, { ACO_TOKEN: 'tok-2\r' }).token).toBe('tok-2');
		expect(connectionOf({}, { ACO_TOKEN: ' \r\n' }).token).toBeUndefined();
	});

	it('refuses a token that still holds a control or non-ASCII character, as a usage error that says which', () => {
		const refusal = (values: Record<string, string>, env: Record<string, string>) => {
			try {
				connectionOf(values, env);
			} catch (err) {
				return err as CliError;
			}
			throw new Error('accepted');
		};
		expect(refusal({ token: 'some\r\ntoken' }, {})).toMatchObject({
			exitCode: 2,
			message:
				'the token from --token contains a control character (a carriage return from a Windows file?) at position 5; a token has only visible ASCII characters.'
		});
		expect(refusal({}, { ACO_TOKEN: 'to\u0007ken' })).toMatchObject({
			exitCode: 2,
			message: expect.stringMatching(/^the token from ACO_TOKEN contains a control character \(U\+0007\)/)
		});
		expect(refusal({}, { ACO_TOKEN: 'tøken' }).message).toMatch(
			/a character outside visible ASCII \(U\+00F8\)/
		);
	});
});

describe('numeric options', () => {
	it('refuses a time past its limit, naming the option and the range', () => {
		expect(intOption('exec', 'retry-for', '86400000', 1, 0, MAX_WAIT_MS)).toBe(86_400_000);
		expect(() => intOption('exec', 'retry-for', '1e12', 1, 0, MAX_WAIT_MS)).toThrow(
			new CliError('aco exec: --retry-for must be a whole number from 0 to 86400000, got "1e12".')
		);
		expect(() => intOption('exec', 'kill-grace', '-5', 1, 0, MAX_WAIT_MS)).toThrow(/from 0 to 86400000/);
		// a value read from the environment is named as its variable
		expect(() => intOption('exec', 'ACO_EXEC_RETRY_MS', 'soon', 1, 0, MAX_WAIT_MS)).toThrow(
			new CliError('aco exec: ACO_EXEC_RETRY_MS must be a whole number from 0 to 86400000, got "soon".')
		);
	});

	it("keeps node's hint for a value that starts with a dash", () => {
		const withTime: CommandSpec = {
			...spec,
			options: { 'retry-for': { type: 'string', description: 'ms' } },
			positionals: { min: 0, max: 1, names: 'x' }
		};
		expect(() => parseCommand(withTime, ['--retry-for', '-5'])).toThrow(
			new CliError(
				`aco demo: Option '--retry-for' argument is ambiguous; to specify an option argument starting with a dash use '--retry-for=-XYZ'. Run "aco demo --help" for its options.`
			)
		);
	});
});
