import { describe, expect, it } from 'vitest';
import { safeNextPath, signInHref } from './auth';

describe('safeNextPath', () => {
	it('keeps a path on this site with its query and fragment', () => {
		expect(safeNextPath('/runs/r1?tab=logs#line-20')).toBe('/runs/r1?tab=logs#line-20');
		expect(safeNextPath('/')).toBe('/');
	});

	it('goes home for nothing, a relative path or another site', () => {
		for (const next of [
			null,
			undefined,
			'',
			'runs',
			'https://evil.example/x',
			'//evil.example/x',
			'/\\evil.example'
		])
			expect(safeNextPath(next)).toBe('/');
	});

	it('goes home for a path that a browser resolves to another site (tabs and newlines are dropped)', () => {
		for (const next of [
			'/\t/evil.example/x',
			'/\n/evil.example',
			'/\r/evil.example',
			'/\t\\evil.example',
			'\\/evil.example'
		])
			expect(safeNextPath(next)).toBe('/');
	});

	it('goes home for a path whose dot segments resolve to //host', () => {
		for (const next of [
			'/.//evil.example/x',
			'/..//evil.example',
			'/a/..//evil.example',
			'/./\\evil.example'
		])
			expect(safeNextPath(next), next).toBe('/');
		// a double slash further on stays a path on this site
		expect(safeNextPath('/runs//r1')).toBe('/runs//r1');
	});

	it('never sends back to the sign-in page itself', () => {
		expect(safeNextPath('/signin')).toBe('/');
		expect(safeNextPath('/signin?next=/runs')).toBe('/');
	});

	it('gives back the form the browser would go to', () => {
		expect(safeNextPath('/runs/a b')).toBe('/runs/a%20b');
		expect(safeNextPath('/ru\tns')).toBe('/runs');
	});
});

describe('signInHref', () => {
	it('carries a safe next and the reason', () => {
		expect(signInHref('/runs/r1', 'expired')).toBe('/signin?next=%2Fruns%2Fr1&reason=expired');
		expect(signInHref('/\t/evil.example')).toBe('/signin');
	});
});
