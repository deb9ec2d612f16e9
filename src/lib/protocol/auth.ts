/**
 * @module protocol/auth
 * Roles and the sign-in state, shared by the server, the browser and the `aco` command.
 * A `viewer` may read (the dashboard, logs, downloads, live events); an `operator` may also
 * change things (start and cancel runs, cancel tasks, ingest).
 */

export const ROLES = ['viewer', 'operator'] as const;
export type Role = (typeof ROLES)[number];

/** How a caller proved who it is: nothing needed (loopback, no credentials configured), a bearer token, or a browser session. */
export type AuthVia = 'anonymous' | 'token' | 'session';

/** The browser's sign-in page and the form target that ends a session. */
export const SIGN_IN_PATH = '/signin';
export const SIGN_OUT_PATH = '/signout';

/** The hub's close reason (with 4503) for a session signed out, so other tabs can say so. */
export const SIGNED_OUT_REASON = 'signed out';

/** `GET /api/v1/session`: who the caller is (401 when it presented no valid credentials). */
export interface SessionResponse {
	/** whether this server asks for credentials at all (false: loopback without any configured) */
	auth_required: boolean;
	role: Role;
	via: AuthVia;
	/** the token's name as configured (never the token), or "anonymous" */
	name: string;
	/** when a browser session ends at the latest (ISO); null for tokens and anonymous access */
	expires_at: string | null;
}

/** The signed-in user as the app's layout receives it. */
export interface SignedInUser {
	role: Role;
	via: AuthVia;
	name: string;
}

export function isRole(value: unknown): value is Role {
	return (ROLES as readonly unknown[]).includes(value);
}

/** What a viewer is told where an operator would see Run or Cancel. */
export const VIEWER_REASON =
	'You are signed in as a viewer: starting and cancelling runs needs an operator token.';

/** Whether someone with this role may start, cancel and ingest work. */
export function canOperate(role: Role | null | undefined): boolean {
	return role === 'operator';
}

/** stands in for this site's origin while a path is resolved the way a browser would */
const THIS_SITE = 'http://this-site.invalid';

/**
 * Where to go back to after signing in: only a path on this site (an absolute URL or `//host`
 * would make the sign-in page an open redirect). The path is resolved as a browser resolves a
 * `Location`, which drops tabs and newlines and reads `\\` as `/` (so `/\t/evil.example` is
 * `//evil.example`), and given back in the form it resolved to.
 */
export function safeNextPath(next: string | null | undefined): string {
	if (!next || !next.startsWith('/')) return '/';
	let url: URL;
	try {
		url = new URL(next, THIS_SITE);
	} catch {
		return '/';
	}
	if (url.origin !== THIS_SITE) return '/';
	if (url.pathname === SIGN_IN_PATH) return '/';
	// dot segments resolved away can leave `//host/…` (`/.//evil.example`): as a Location, another site
	if (/^\/[/\\]/.test(url.pathname)) return '/';
	return `${url.pathname}${url.search}${url.hash}`;
}

/** The sign-in page's address that comes back to `next` (and says why, e.g. "expired"). */
export function signInHref(next: string, reason?: 'expired' | 'signed_out'): string {
	const params = new URLSearchParams();
	const path = safeNextPath(next);
	if (path !== '/') params.set('next', path);
	if (reason) params.set('reason', reason);
	const query = params.toString();
	return query ? `${SIGN_IN_PATH}?${query}` : SIGN_IN_PATH;
}
