/**
 * @module http/security-headers
 * Headers on every response the app sends. Pages get their Content-Security-Policy from
 * SvelteKit (`kit.csp` in svelte.config.js, with a nonce for its one inline script); anything
 * else (JSON, log downloads, metrics) gets a policy under which nothing in it can run, so a
 * log line that looks like HTML stays text even if a browser were talked into rendering it.
 */

/** on every response */
export const BASE_SECURITY_HEADERS: Readonly<Record<string, string>> = {
	'x-content-type-options': 'nosniff',
	'referrer-policy': 'same-origin',
	// frame-ancestors says the same to browsers that know CSP; this is for those that do not
	'x-frame-options': 'DENY',
	'cross-origin-opener-policy': 'same-origin',
	'cross-origin-resource-policy': 'same-origin'
};

/** the policy of responses that are not pages */
export const NON_PAGE_CSP =
	"default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'; sandbox";

/**
 * The response with the security headers added (a copy when its headers cannot be changed).
 * `page`: SvelteKit set the page's own CSP; keep it.
 */
export function withSecurityHeaders(response: Response, page: boolean): Response {
	let out = response;
	try {
		apply(out.headers, page);
	} catch {
		// headers of a response made by fetch() are immutable
		out = new Response(response.body, response);
		apply(out.headers, page);
	}
	return out;
}

/**
 * Pages carry who is signed in (name and role) and what they may see: no cache shared between
 * people (a proxy in front) may keep one. `no-cache`, not `no-store`: the browser's own back and
 * forward cache may still keep a page for the person who saw it.
 */
export const PAGE_CACHE_CONTROL = 'private, no-cache';

function apply(headers: Headers, page: boolean): void {
	for (const [name, value] of Object.entries(BASE_SECURITY_HEADERS)) headers.set(name, value);
	if (page && !headers.has('cache-control') && headers.get('content-type')?.startsWith('text/html')) {
		headers.set('cache-control', PAGE_CACHE_CONTROL);
	}
	if (!page || !headers.has('content-security-policy')) {
		const isHtml = headers.get('content-type')?.startsWith('text/html') ?? false;
		// an HTML page without SvelteKit's policy (an error page) still may not be framed
		headers.set('content-security-policy', isHtml && page ? "frame-ancestors 'none'" : NON_PAGE_CSP);
	}
}
