import { redirect } from '@sveltejs/kit';
import type { RequestHandler } from './$types';
import { signInHref } from '$lib/protocol/auth';
import { SESSION_COOKIE } from '$lib/server/auth/auth';

/**
 * Ends the browser's session (the sign-out form posts here): the store forgets it, its open
 * WebSockets are closed with 4503, the cookie is cleared, and the browser lands on the sign-in page.
 */
export const POST: RequestHandler = async ({ cookies, locals }) => {
	const value = cookies.get(SESSION_COOKIE);
	if (value) await locals.aco.auth.sessions.signOut(value);
	cookies.delete(SESSION_COOKIE, { path: '/' });
	redirect(303, locals.aco.auth.required ? signInHref('/', 'signed_out') : '/');
};
