/**
 * Every request passes here before any route: the access guard (Host, Origin, credentials,
 * role; see $lib/server/auth/guard.ts) decides first, then the route runs with
 * `locals.principal`, and every response leaves with the security headers. Errors no route
 * answered are logged by `handleError` as one JSON line.
 */
import { redirect, type Handle, type HandleServerError } from '@sveltejs/kit';
import { signInHref } from '$lib/protocol/auth';
import { bearerHeader } from '$lib/server/auth/tokens';
import { checkRequest, isPagePath } from '$lib/server/auth/guard';
import { getContext } from '$lib/server/global';
import { errorResponse, json } from '$lib/server/http/responses';
import { withSecurityHeaders } from '$lib/server/http/security-headers';
import { createLogger } from '$lib/server/logger';
import { isStoreUnavailable } from '$lib/server/store/errors';

export const handle: Handle = async ({ event, resolve }) => {
	const aco = getContext();
	if (!aco) {
		return json({ error: { code: 'not_ready', message: 'The aco server is not started yet.' } }, 503);
	}
	const { request, url, cookies } = event;
	const page = isPagePath(url.pathname, event.route.id);
	const sessionCookie = aco.auth.sessionCookie;
	const session = cookies.get(sessionCookie) ?? null;
	let verdict;
	try {
		verdict = await checkRequest(aco.auth, {
			method: request.method,
			path: url.pathname,
			host: request.headers.get('host'),
			origin: request.headers.get('origin'),
			authorization: request.headers.get('authorization'),
			session,
			contentType: request.headers.get('content-type'),
			routeId: event.route.id,
			address: event.getClientAddress()
		});
	} catch (err) {
		// a session is looked up in the store; with the database away that is a 503, not a 500
		if (!isStoreUnavailable(err)) throw err;
		return withSecurityHeaders(errorResponse(err), false);
	}
	const sessionEnded =
		(verdict.kind === 'sign_in' && verdict.reason === 'expired') ||
		(verdict.kind === 'deny' &&
			verdict.status === 401 &&
			!bearerHeader(request.headers.get('authorization')));
	// the cookie of a session that has ended: the browser may forget it
	const cleared = aco.auth.cookieOptions(url.protocol === 'https:', 0);
	if (session && sessionEnded) cookies.delete(sessionCookie, cleared);
	if (verdict.kind === 'sign_in') redirect(303, signInHref(url.pathname + url.search, verdict.reason));
	if (verdict.kind === 'deny') {
		const body = { error: { code: verdict.code, message: verdict.message } };
		const response = json(body, verdict.status, verdict.headers);
		// SvelteKit adds `cookies` changes only to responses it made
		if (session && sessionEnded) {
			response.headers.append('set-cookie', cookies.serialize(sessionCookie, '', cleared));
		}
		return withSecurityHeaders(response, false);
	}
	event.locals.aco = aco;
	event.locals.principal = verdict.principal;
	// SvelteKit answers a path it cannot decode with its HTML error page; the API promises JSON errors
	if (url.pathname.startsWith('/api/') && decodedPath(url.pathname) === null) {
		const message = `The path ${url.pathname} has a malformed percent-encoding: each "%" must start two hex digits that together spell UTF-8; encode each segment with encodeURIComponent.`;
		return withSecurityHeaders(json({ error: { code: 'invalid_path', message } }, 400), false);
	}
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

/**
 * Errors SvelteKit met outside a route's own handling (a page that threw, a path it could not
 * decode, a page not found): one line in the server's log, and for the client only a message
 * that shows no internals.
 */
export const handleError: HandleServerError = ({ error, event, status, message }) => {
	const logger = (event.locals.aco ?? getContext())?.logger ?? createLogger();
	const where = { method: event.request.method, path: event.url.pathname, status };
	if (status >= 500) {
		logger.error({ ...where, err: error }, `${event.request.method} ${event.url.pathname} failed`);
		return { message: 'The server hit an unexpected error.', code: 'internal' };
	}
	logger.debug(where, `${event.request.method} ${event.url.pathname}: ${message}`);
	return { message };
};

/** the path decoded as SvelteKit will decode it, or null when its percent-encoding is malformed */
function decodedPath(pathname: string): string | null {
	try {
		return decodeURI(pathname);
	} catch {
		return null;
	}
}
