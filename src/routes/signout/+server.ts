import { redirect } from '@sveltejs/kit';
import type { RequestHandler } from './$types';
import { signInHref } from '$lib/protocol/auth';

/**
 * Ends the browser's session (the sign-out form posts here): the store forgets it, its open
 * WebSockets are closed with 4503, the cookie is cleared, and the browser lands on the sign-in page.
 */
export const POST: RequestHandler = async ({ cookies, locals, url }) => {
	const { auth } = locals.aco;
	const value = cookies.get(auth.sessionCookie);
	if (value) await auth.sessions.signOut(value);
	cookies.delete(auth.sessionCookie, auth.cookieOptions(url.protocol === 'https:', 0));
	redirect(303, auth.required ? signInHref('/', 'signed_out') : '/');
};
