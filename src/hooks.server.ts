/**
 * Every request passes here before any route: the access guard (Host, Origin, credentials,
 * role; see $lib/server/auth/guard.ts) decides first, then the route runs with
 * `locals.principal`, and every response leaves with the security headers.
 */
import { redirect, type Handle } from '@sveltejs/kit';
import { signInHref } from '$lib/protocol/auth';
import { SESSION_COOKIE } from '$lib/server/auth/auth';
import { checkRequest, isPagePath } from '$lib/server/auth/guard';
import { getContext } from '$lib/server/global';
import { errorResponse, json } from '$lib/server/http/responses';
import { withSecurityHeaders } from '$lib/server/http/security-headers';
import { isStoreUnavailable } from '$lib/server/store/errors';

export const handle: Handle = async ({ event, resolve }) => {
	const aco = getContext();
	if (!aco) {
		return json({ error: { code: 'not_ready', message: 'The aco server is not started yet.' } }, 503);
	}
	const { request, url, cookies } = event;
	const page = isPagePath(url.pathname);
	const session = cookies.get(SESSION_COOKIE) ?? null;
	let verdict;
	try {
		verdict = await checkRequest(aco.auth, {
			method: request.method,
			path: url.pathname,
			host: request.headers.get('host'),
			origin: request.headers.get('origin'),
			authorization: request.headers.get('authorization'),
			session
		});
	} catch (err) {
		// a session is looked up in the store; with the database away that is a 503, not a 500
		if (!isStoreUnavailable(err)) throw err;
		return withSecurityHeaders(errorResponse(err), false);
	}
	const sessionEnded =
		(verdict.kind === 'sign_in' && verdict.reason === 'expired') ||
		(verdict.kind === 'deny' && verdict.status === 401 && !request.headers.get('authorization'));
	// the cookie of a session that has ended: the browser may forget it
	if (session && sessionEnded) cookies.delete(SESSION_COOKIE, { path: '/' });
	if (verdict.kind === 'sign_in') redirect(303, signInHref(url.pathname + url.search, verdict.reason));
	if (verdict.kind === 'deny') {
		const body = { error: { code: verdict.code, message: verdict.message } };
		const response = json(body, verdict.status, verdict.headers);
		// SvelteKit adds `cookies` changes only to responses it made
		if (session && sessionEnded) {
			response.headers.append('set-cookie', cookies.serialize(SESSION_COOKIE, '', { path: '/', maxAge: 0 }));
		}
		return withSecurityHeaders(response, false);
	}
	event.locals.aco = aco;
	event.locals.principal = verdict.principal;
	const response = await resolve(event);
	// SvelteKit answers a method an endpoint lacks itself, in plain text; the API promises JSON errors
	if (
		response.status === 405 &&
		url.pathname.startsWith('/api/') &&
		!response.headers.get('content-type')?.includes('json')
	) {
		const allow = response.headers.get('allow') ?? '';
		return withSecurityHeaders(
			json(
				{
					error: {
						code: 'method_not_allowed',
						message: `${request.method} is not allowed on ${url.pathname}; use ${allow || 'another method'}.`
					}
				},
				405,
				allow ? { allow } : {}
			),
			false
		);
	}
	return withSecurityHeaders(response, page);
};
