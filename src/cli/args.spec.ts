import { describe, expect, it } from 'vitest';
import { CliError, DEFAULT_URL, connectionOf, helpText, parseCommand, type CommandSpec } from './args';

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
			token: 't'
		});
		expect(connectionOf({}, {})).toEqual({ url: DEFAULT_URL, token: undefined });
		expect(() => connectionOf({ url: 'nope' }, {})).toThrow(/"nope" is not a server address/);
	});
});
