/**
 * @module tests/helpers/sign-in
 * Signing in against a real server the way a browser's sign-in form does.
 */
import { expect } from 'vitest';

/** Signs in with `token` through the sign-in form of the server at `url`; returns the session cookie (`aco_session=…`). */
export async function signInCookie(url: string, token: string): Promise<string> {
	const res = await fetch(`${url}/signin`, {
		method: 'POST',
		redirect: 'manual',
		headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html', origin: url },
		body: new URLSearchParams({ token, next: '/' })
	});
	expect(res.status).toBe(303);
	const cookie = res.headers.get('set-cookie') ?? '';
	expect(cookie).toMatch(/^aco_session=[\w-]+;/);
	return cookie.split(';')[0]!;
}
