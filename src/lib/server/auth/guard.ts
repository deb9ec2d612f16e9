/**
 * @module auth/guard
 * The decision every request and every WebSocket upgrade goes through before anything else
 * runs, in this order:
 * 1. `Host` must be one this server answers to (403 `forbidden_host`, DNS rebinding);
 * 2. an `Origin`, when the request has one, must be allowed (403 `forbidden_origin`); a change
 *    asked with a form's content type must name one, unless it carries a bearer token (not to a page);
 * 3. credentials: a bearer token or the session cookie (401; a page is sent to sign in); an
 *    `Authorization` header of another scheme (a proxy's HTTP Basic) is not aco's and is ignored;
 *    a client that presented too many wrong tokens waits (429 `too_many_attempts`, auth/attempt-limit);
 * 4. the role: changing anything (any method but GET/HEAD/OPTIONS) needs `operator` (403 `forbidden`).
 * Only the sign-in page, sign-out, the health check and the app's own static files are
 * reachable without credentials. The health check skips the Host check too: load balancers and
 * probes ask for it by the node's internal name (Caddy: `aco-1:3000`), and it tells nothing a
 * rebinding page could use.
 */
import { SIGN_IN_PATH, SIGN_OUT_PATH } from '../../protocol/auth';
import { retryAfterSeconds, tooManyAttemptsMessage, type AuthService, type Identification } from './auth';
import type { Principal } from './principal';
import { bearerHeader } from './tokens';

export interface RequestFacts {
	method: string;
	/** the URL's path, without the query */
	path: string;
	host: string | null | undefined;
	origin: string | null | undefined;
	authorization: string | null | undefined;
	/** the session cookie's value */
	session: string | null | undefined;
	/** the request's Content-Type; none for an upgrade */
	contentType?: string | null;
	/** the app's route the path matched (SvelteKit's `route.id`): null for none; none for an upgrade */
	routeId?: string | null;
	/** the client's address, whose wrong tokens are counted */
	address?: string;
}

/** The facts with `authorization` kept only when it is a bearer token (see {@link bearerHeader}). */
function withBearerOnly(facts: RequestFacts): RequestFacts {
	const authorization = bearerHeader(facts.authorization);
	return authorization === facts.authorization ? facts : { ...facts, authorization };
}

export type Verdict =
	/** go on; `principal` is null only on the public paths when no credentials came */
	| { kind: 'allow'; principal: Principal | null }
	/** a page asked for without credentials: show the sign-in page */
	| { kind: 'sign_in'; reason?: 'expired' }
	| { kind: 'deny'; status: 401 | 403 | 429; code: string; message: string; headers: Record<string, string> };

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
export const HEALTH_PATH = '/api/v1/healthz';
const PUBLIC_PATHS = new Set([SIGN_IN_PATH, SIGN_OUT_PATH, HEALTH_PATH, '/favicon.svg', '/robots.txt']);
/** the app's own code and assets (SvelteKit's output), which hold no data */
const PUBLIC_PREFIXES = ['/_app/'];
/** what an HTML form can send, so what another site's page can post without asking first (CORS) */
const FORM_CONTENT_TYPES = new Set([
	'application/x-www-form-urlencoded',
	'multipart/form-data',
	'text/plain'
]);

export function isPublicPath(path: string): boolean {
	return PUBLIC_PATHS.has(path) || PUBLIC_PREFIXES.some((prefix) => path.startsWith(prefix));
}

/**
 * The kinds of file a browser asks for beside pages (the app's code, styles, images, fonts, a
 * manifest): a path that matched no route and ends so is no page. Any other dot is part of a
 * page's name (a workflow called `deploy.prod` or `release-1.2`).
 */
const FILE_PATH = /\.(?:m?js|css|map|json|ico|png|svg|jpe?g|gif|webp|avif|woff2?|ttf|txt|xml|webmanifest)$/i;

/**
 * A page people open in a browser (as opposed to the API, /metrics, the hub or a file). A path
 * that matched a route (`routeId`) is a page unless the route is the API's or /metrics, whatever it
 * ends in (a workflow called `config.json`); one that matched none (null, or not known: the hub's
 * upgrade) by its look.
 */
export function isPagePath(path: string, routeId?: string | null): boolean {
	if (routeId) return !routeId.startsWith('/api/') && routeId !== '/metrics';
	return !path.startsWith('/api/') && path !== '/metrics' && path !== '/ws' && !FILE_PATH.test(path);
}

/** Whether the request changes something, which needs the operator role. */
export function needsOperator(method: string, path: string): boolean {
	return !SAFE_METHODS.has(method.toUpperCase()) && path !== SIGN_IN_PATH && path !== SIGN_OUT_PATH;
}

/**
 * The verdict on a request; a promise only when a sign-in session must be looked up in the store
 * (every WebSocket handshake asks, and most carry a token or nothing).
 */
export function checkRequest(auth: AuthService, request: RequestFacts): Verdict | Promise<Verdict> {
	const facts = withBearerOnly(request);
	if (facts.path === HEALTH_PATH && SAFE_METHODS.has(facts.method.toUpperCase())) {
		return { kind: 'allow', principal: null };
	}
	if (!auth.hosts.allowsHost(facts.host)) {
		return deny(
			403,
			'forbidden_host',
			`This server does not answer to the host "${facts.host ?? ''}". ` +
				'Open it by an address it serves, or add the name to ACO_PUBLIC_URL or ACO_ALLOWED_HOSTS.'
		);
	}
	if (!auth.hosts.allowsOrigin(facts.origin)) {
		return deny(
			403,
			'forbidden_origin',
			`Requests from pages on ${facts.origin} are not allowed. Add the origin to ACO_ALLOWED_ORIGINS to allow them.`
		);
	}
	if (!facts.origin && isFormWithoutOrigin(facts)) {
		return deny(
			403,
			'forbidden_origin',
			isPagePath(facts.path, facts.routeId)
				? "A form may be posted here only from this server's own pages, and this request names no Origin. " +
						'Send it from the page in a current browser.'
				: 'A request with a form content type must name its Origin (browsers do) or carry a bearer token. ' +
						'Programs: send Authorization: Bearer <token>, or send JSON (Content-Type: application/json) or no body.'
		);
	}
	const identity = auth.identify({
		authorization: facts.authorization,
		session: facts.session,
		address: facts.address
	});
	return identity instanceof Promise
		? identity.then((found) => verdictFor(facts, found))
		: verdictFor(facts, identity);
}

/**
 * Browsers send `Origin` with every POST, so the check above refuses another site's page; a
 * browser too old to do so would pass it, with the session cookie (or on an open loopback server
 * with nothing at all), and a form needs no body to start a run or cancel one. So a change
 * asked with a form's content type must name its origin, as SvelteKit's own check required,
 * unless it carries a bearer token, which no page of another site can add. Programs send no
 * Origin: with a token, or JSON, or no content type, they are not held here.
 */
function isFormWithoutOrigin(facts: RequestFacts): boolean {
	if (SAFE_METHODS.has(facts.method.toUpperCase())) return false;
	const type = facts.contentType?.split(';', 1)[0]?.trim().toLowerCase() ?? '';
	if (!FORM_CONTENT_TYPES.has(type)) return false;
	return isPagePath(facts.path, facts.routeId) || !facts.authorization;
}

/** Steps 3 and 4, once the credentials are known. */
function verdictFor(facts: RequestFacts, identity: Identification): Verdict {
	if (isPublicPath(facts.path)) return { kind: 'allow', principal: identity.ok ? identity.principal : null };
	if (!identity.ok && identity.reason === 'too_many') {
		return deny(429, 'too_many_attempts', tooManyAttemptsMessage(identity.retryAfterMs), {
			'retry-after': retryAfterSeconds(identity.retryAfterMs)
		});
	}
	if (!identity.ok) {
		if (
			isPagePath(facts.path, facts.routeId) &&
			facts.method.toUpperCase() === 'GET' &&
			!facts.authorization
		) {
			return identity.reason === 'ended' ? { kind: 'sign_in', reason: 'expired' } : { kind: 'sign_in' };
		}
		return unauthorized(identity.reason);
	}
	const { principal } = identity;
	if (needsOperator(facts.method, facts.path) && principal.role !== 'operator') {
		return deny(
			403,
			'forbidden',
			`Starting, cancelling and ingesting work needs the operator role; "${principal.name}" is a ${principal.role}. ` +
				'Use an operator token, or sign in with one.'
		);
	}
	return { kind: 'allow', principal };
}

function unauthorized(reason: 'missing' | 'invalid' | 'ended'): Verdict {
	const messages = {
		missing:
			'This server requires credentials: send "Authorization: Bearer <token>" (the aco command: --token, ACO_TOKEN or "aco login"), or sign in at /signin in a browser.',
		invalid:
			"The bearer token is not one this server accepts; check it against the server's ACO_TOKEN, ACO_TOKENS or ACO_TOKENS_FILE.",
		ended: 'The sign-in session has expired or was signed out; sign in again at /signin.'
	};
	const challenge = reason === 'invalid' ? 'Bearer realm="aco", error="invalid_token"' : 'Bearer realm="aco"';
	return deny(401, 'unauthorized', messages[reason], { 'www-authenticate': challenge });
}

function deny(
	status: 401 | 403 | 429,
	code: string,
	message: string,
	headers: Record<string, string> = {}
): Verdict {
	return { kind: 'deny', status, code, message, headers };
}
