import { describe, expect, it } from 'vitest';
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
		const { env } = toolEnvironment({ VAULT_ADDR: 'x', MY_CORP_SSO: 'y', KEEP: 'z' }, [
			'VAULT_*',
			'my_corp_sso'
		]);
		expect(env).toEqual({ KEEP: 'z' });
	});
});
