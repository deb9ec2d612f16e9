import { describe, expect, it } from 'vitest';
import { isAllowedOrigin, parseOrigins } from './origin';

describe('origin policy', () => {
	it('lets requests without an Origin through (curl, the CLI)', () => {
		expect(isAllowedOrigin(undefined, '127.0.0.1:3000', [])).toBe(true);
		expect(isAllowedOrigin(null, '127.0.0.1:3000', [])).toBe(true);
	});

	it('allows the page served by this host, whatever the scheme', () => {
		expect(isAllowedOrigin('http://127.0.0.1:3000', '127.0.0.1:3000', [])).toBe(true);
		expect(isAllowedOrigin('https://aco.local', 'aco.local', [])).toBe(true);
		expect(isAllowedOrigin('http://LOCALHOST:3000', 'localhost:3000', [])).toBe(true);
	});

	it('refuses other sites, other ports and opaque origins', () => {
		expect(isAllowedOrigin('https://evil.example', '127.0.0.1:3000', [])).toBe(false);
		expect(isAllowedOrigin('http://127.0.0.1:4000', '127.0.0.1:3000', [])).toBe(false);
		expect(isAllowedOrigin('null', '127.0.0.1:3000', [])).toBe(false);
		expect(isAllowedOrigin('http://127.0.0.1:3000', undefined, [])).toBe(false);
		expect(isAllowedOrigin('file://', '127.0.0.1:3000', [])).toBe(false);
	});

	it('allows exactly the listed origins', () => {
		const allowed = parseOrigins('https://ci.example.com, http://localhost:5173/');
		expect(allowed).toEqual(['https://ci.example.com', 'http://localhost:5173']);
		expect(isAllowedOrigin('https://ci.example.com', '127.0.0.1:3000', allowed)).toBe(true);
		expect(isAllowedOrigin('https://ci.example.com.evil.io', '127.0.0.1:3000', allowed)).toBe(false);
	});

	it('rejects allowlist entries that are not bare origins, naming the variable', () => {
		expect(() => parseOrigins('not a url')).toThrow(/ACO_ALLOWED_ORIGINS/);
		expect(() => parseOrigins('https://ci.example.com/path')).toThrow(/bare origin/);
		expect(parseOrigins('')).toEqual([]);
	});
});
