import { describe, expect, it } from 'vitest';
import { parseNameList, secretNameTest, secretValues } from './secret-env';

describe('secretNameTest', () => {
	it('knows the usual secret suffixes, in any case', () => {
		const isSecret = secretNameTest();
		for (const name of ['NPM_TOKEN', 'aws_secret', 'DB_PASSWORD', 'API_KEY', 'GCP_CREDENTIALS', 'TOKEN'])
			expect(isSecret(name), name).toBe(true);
		for (const name of ['HOME', 'PATH', 'TOKENIZER', 'KEYBOARD', 'MONKEY', 'PASSWORDLESS'])
			expect(isSecret(name), name).toBe(false);
	});

	it('adds configured names and * patterns', () => {
		const isSecret = secretNameTest(parseNameList(' DATABASE_URL, *_DSN ,,'));
		expect(isSecret('DATABASE_URL')).toBe(true);
		expect(isSecret('sentry_dsn')).toBe(true);
		expect(isSecret('DATABASE_URLS')).toBe(false);
	});

	it('collects the non-empty values of secret variables', () => {
		const values = secretValues(
			{ A_TOKEN: 'one', B_KEY: '', HOME: '/root', C_SECRET: undefined },
			secretNameTest()
		);
		expect(values).toEqual(['one']);
	});
});
