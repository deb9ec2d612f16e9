import { describe, expect, it } from 'vitest';
import { assertCredentialsWhenPublished, assertSafeBinding } from './bind';

const TOKEN = { id: 'x' };

describe('binding without credentials', () => {
	it('is allowed on loopback only', () => {
		for (const host of ['127.0.0.1', 'localhost', '::1', '127.0.0.2'])
			expect(() => assertSafeBinding(host, 0)).not.toThrow();
	});

	it('refuses any other address, saying how to configure credentials', () => {
		for (const host of ['0.0.0.0', '::', '192.168.1.20', 'aco.example.com']) {
			expect(() => assertSafeBinding(host, 0)).toThrow(
				/refusing to listen on .* without credentials.*ACO_TOKEN=.*ACO_TOKENS_FILE/
			);
		}
		expect(() => assertSafeBinding('0.0.0.0', 1)).not.toThrow();
	});
});

describe('a published server without credentials', () => {
	const access = (publicUrls: string[], allowedHosts: string[] = [], tokens: unknown[] = []) => ({
		tokens,
		publicUrls,
		allowedHosts
	});

	it('is refused when ACO_PUBLIC_URL names it beyond this machine, since a proxy connects from loopback', () => {
		expect(() => assertCredentialsWhenPublished(access(['https://aco.example.com']))).toThrow(
			/refusing to start without credentials: ACO_PUBLIC_URL \(https:\/\/aco\.example\.com\).*ACO_TOKEN=.*ACO_TOKENS_FILE=.*or unset ACO_PUBLIC_URL and ACO_ALLOWED_HOSTS/
		);
	});

	it('is refused when ACO_ALLOWED_HOSTS names it beyond this machine', () => {
		for (const host of ['aco.internal:3000', '10.0.0.5', '[fd00::1]:3000']) {
			expect(() => assertCredentialsWhenPublished(access([], [host]))).toThrow(
				new RegExp(`ACO_ALLOWED_HOSTS \\(${host.replace(/[[\]]/g, '\\$&')}\\)`)
			);
		}
		// one name beyond loopback among loopback ones is enough
		expect(() =>
			assertCredentialsWhenPublished(access(['http://localhost:8080'], ['127.0.0.1:8080', 'ci.lan']))
		).toThrow(/ACO_ALLOWED_HOSTS \(ci\.lan\)/);
	});

	it('starts with a token, or when every name it answers to is a loopback one', () => {
		expect(() => assertCredentialsWhenPublished(access([]))).not.toThrow();
		expect(() =>
			assertCredentialsWhenPublished(access(['https://aco.example.com'], ['ci.lan'], [TOKEN]))
		).not.toThrow();
		expect(() =>
			assertCredentialsWhenPublished(
				access(['http://localhost:8080', 'https://127.0.0.1:8443'], ['[::1]:8080', 'localhost'])
			)
		).not.toThrow();
	});
});
