import { describe, expect, it } from 'vitest';
import { TokenSet, bearerOf, hashToken, loadTokens, parseTokenList, parseTokensFile } from './tokens';

const OPERATOR = 'operator-token-0123456789';
const VIEWER = 'viewer-token-0123456789';

function load(
	env: Record<string, string>,
	files: Record<string, string> = {},
	modes: Record<string, number> = {}
) {
	const warnings: string[] = [];
	const tokens = loadTokens(env, {
		readFile: (file) => {
			if (!(file in files)) throw Object.assign(new Error('missing'), { code: 'ENOENT' });
			return files[file];
		},
		statMode: (file) => modes[file] ?? 0o100600,
		warn: (message) => warnings.push(message)
	});
	return { tokens, warnings };
}

describe('tokens', () => {
	it('reads ACO_TOKEN as an operator token and ACO_TOKENS as role:token pairs', () => {
		const { tokens } = load({
			ACO_TOKEN: OPERATOR,
			ACO_TOKENS: `viewer:${VIEWER}, operator:another-operator-token`
		});
		expect(tokens.map((t) => [t.role, t.name])).toEqual([
			['operator', 'ACO_TOKEN'],
			['viewer', 'ACO_TOKENS[1]'],
			['operator', 'ACO_TOKENS[2]']
		]);
	});

	it('keeps only hashes: no entry holds the token', () => {
		const { tokens } = load({ ACO_TOKEN: OPERATOR, ACO_TOKENS: `viewer:${VIEWER}` });
		expect(JSON.stringify(tokens)).not.toContain(OPERATOR);
		expect(JSON.stringify(tokens)).not.toContain(VIEWER);
		expect(tokens[0].hash.equals(hashToken(OPERATOR))).toBe(true);
	});

	it('reads a tokens file with names, comments and hashed tokens', () => {
		const hashed = hashToken('grafana-token-0123456789').toString('hex');
		const file = [
			'# who may look',
			`viewer  sha256:${hashed}  grafana`,
			'',
			`operator ${OPERATOR} ci runner  # the CI`
		].join('\n');
		const { tokens } = load({ ACO_TOKENS_FILE: '/etc/aco/tokens' }, { '/etc/aco/tokens': file });
		expect(tokens.map((t) => [t.role, t.name])).toEqual([
			['viewer', 'grafana'],
			['operator', 'ci runner']
		]);
		const set = new TokenSet(tokens);
		expect(set.verify('grafana-token-0123456789')?.name).toBe('grafana');
	});

	it('names the variable, file and line of a bad entry', () => {
		expect(() => parseTokenList('admin:whatever-long-enough-token')).toThrow(
			/ACO_TOKENS item 1: "admin" is not a role/
		);
		expect(() => parseTokenList('viewer:short')).toThrow(/at least 16 characters.*openssl rand/);
		expect(() => parseTokensFile('viewer\n', 'tokens.txt')).toThrow(
			/tokens.txt line 1 must be "role token \[name\]"/
		);
		expect(() => load({ ACO_TOKENS_FILE: 'missing.txt' })).toThrow(
			/ACO_TOKENS_FILE: cannot read missing.txt \(ENOENT\)/
		);
		expect(() => load({ ACO_TOKEN: OPERATOR, ACO_TOKENS: `viewer:${OPERATOR}` })).toThrow(/another role/);
	});

	it('refuses a token variable that is set but configures no token, naming it and the fix', () => {
		// every token commented out to revoke it: the server must not open up
		const revoked = `# operator ${OPERATOR} alice\n\n# viewer ${VIEWER}\n`;
		let message = '';
		try {
			load({ ACO_TOKENS_FILE: '/etc/aco/tokens' }, { '/etc/aco/tokens': revoked });
		} catch (err) {
			message = (err as Error).message;
		}
		expect(message).toMatch(
			/ACO_TOKENS_FILE: \/etc\/aco\/tokens holds no token.*Add a line "operator <token> <name>".*openssl rand.*or unset ACO_TOKENS_FILE/
		);
		expect(message).not.toContain(OPERATOR);
		expect(message).not.toContain(VIEWER);
		expect(() => load({ ACO_TOKENS_FILE: 'tokens' }, { tokens: '' })).toThrow(/tokens holds no token/);
		expect(() => load({ ACO_TOKENS_FILE: '' })).toThrow(/ACO_TOKENS_FILE names no file/);
		for (const list of ['', ' ', ', ,']) {
			expect(() => load({ ACO_TOKENS: list })).toThrow(
				/ACO_TOKENS holds no "role:token" item.*unset ACO_TOKENS/
			);
		}
	});

	it('accepts an emptied source while another still configures a token, and nothing set at all', () => {
		expect(
			load({ ACO_TOKEN: OPERATOR, ACO_TOKENS_FILE: 'tokens' }, { tokens: '# revoked\n' }).tokens
		).toHaveLength(1);
		expect(load({}).tokens).toEqual([]);
		// an empty ACO_TOKEN is how a shell or a test clears the client's token for `aco` commands
		expect(load({ ACO_TOKEN: '' }).tokens).toEqual([]);
	});

	it('warns when the tokens file can be read by others', () => {
		const { warnings } = load(
			{ ACO_TOKENS_FILE: 'tokens' },
			{ tokens: `viewer ${VIEWER}` },
			{ tokens: 0o100644 }
		);
		expect(warnings[0]).toMatch(/chmod 600 tokens/);
	});

	it('verifies a presented token against every entry and returns its role', () => {
		const set = new TokenSet(load({ ACO_TOKEN: OPERATOR, ACO_TOKENS: `viewer:${VIEWER}` }).tokens);
		expect(set.verify(OPERATOR)?.role).toBe('operator');
		expect(set.verify(VIEWER)?.role).toBe('viewer');
		expect(set.verify(`${VIEWER}x`)).toBeNull();
		expect(set.verify('')).toBeNull();
		expect(set.verify(null)).toBeNull();
		expect(set.describe()).toEqual([
			{ name: 'ACO_TOKEN', role: 'operator' },
			{ name: 'ACO_TOKENS[1]', role: 'viewer' }
		]);
	});

	it('reads the token of a bearer header only', () => {
		expect(bearerOf(`Bearer ${OPERATOR}`)).toBe(OPERATOR);
		expect(bearerOf(`bearer   ${OPERATOR} `)).toBe(OPERATOR);
		expect(bearerOf(`Basic ${OPERATOR}`)).toBeNull();
		expect(bearerOf('Bearer a b')).toBeNull();
		expect(bearerOf(undefined)).toBeNull();
	});
});
