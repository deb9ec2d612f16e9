import { describe, expect, it } from 'vitest';
import { MaskSet } from '../masking/mask-set';
import { toolEnvironment } from './tool-env';

describe('toolEnvironment', () => {
	it("removes the server's credentials and keeps everything else", () => {
		const { env, removed, secrets } = toolEnvironment({
			PATH: '/usr/bin',
			HOME: '/root',
			ACO_TOKEN: 'server-token-1',
			ACO_TOKENS_FILE: '/etc/aco/tokens',
			ACO_SESSION_SECRET: 'session-secret-2',
			ACO_DATABASE_URL: 'postgres://aco:pw@db/aco',
			ACO_DATA_DIR: '/var/lib/aco',
			NPM_TOKEN: 'the-operators-own',
			UNSET: undefined
		});
		expect(env).toEqual({
			PATH: '/usr/bin',
			HOME: '/root',
			ACO_DATA_DIR: '/var/lib/aco',
			NPM_TOKEN: 'the-operators-own'
		});
		expect(removed.sort()).toEqual([
			'ACO_DATABASE_URL',
			'ACO_SESSION_SECRET',
			'ACO_TOKEN',
			'ACO_TOKENS_FILE'
		]);
		expect(secrets.sort()).toEqual(['postgres://aco:pw@db/aco', 'server-token-1', 'session-secret-2']);
	});

	it('removes configured names and patterns too', () => {
		const { env } = toolEnvironment(
			{ VAULT_ADDR: 'x', MY_CORP_SSO: 'y', KEEP: 'z' },
			{ remove: ['VAULT_*', 'my_corp_sso'] }
		);
		expect(env).toEqual({ KEEP: 'z' });
	});

	it("masks each of the server's tokens on its own, from ACO_TOKENS and the tokens file too", () => {
		const files: Record<string, string> = {
			'/etc/aco/tokens': [
				'# role token name',
				'viewer  file-viewer-token-333  grafana',
				`operator sha256:${'ab'.repeat(32)}`,
				''
			].join('\n')
		};
		const { env, secrets } = toolEnvironment(
			{
				PATH: '/usr/bin',
				ACO_TOKENS: 'viewer:list-viewer-token-111,operator:list-operator-token-222',
				ACO_TOKENS_FILE: '/etc/aco/tokens'
			},
			{ readFile: (file) => files[file]! }
		);
		expect(env).toEqual({ PATH: '/usr/bin' });
		const masks = new MaskSet(secrets);
		expect(masks.mask('read from the config: list-operator-token-222')).toBe('read from the config: ***');
		expect(masks.mask('list-viewer-token-111 and file-viewer-token-333')).toBe('*** and ***');
		// a token given by its hash: the server never sees its text
		expect(secrets.some((s) => s.startsWith('sha256:'))).toBe(false);
	});

	it('masks no tokens from a tokens file it cannot read', () => {
		const { secrets } = toolEnvironment(
			{ ACO_TOKENS_FILE: '/nowhere' },
			{
				readFile: () => {
					throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
				}
			}
		);
		expect(secrets).toEqual([]);
	});
});
