/**
 * @module auth/upgrade
 * The node's access control as the hub sees it: an upgrade goes through the same guard as any
 * request (Host, Origin, credentials; a viewer may subscribe), and the hub learns of ended sessions.
 */
import type { IncomingMessage } from 'node:http';
import { parse as parseCookies } from 'cookie';
import type { ClientAddressOf } from '../http/client-address';
import type { Admission, HubAccess } from '../hub/access';
import type { AuthService } from './auth';
import { checkRequest, type Verdict } from './guard';

/** The value of the session cookie `name` (see {@link AuthService.sessionCookie}) in a raw request, or null. */
export function sessionCookieOf(req: IncomingMessage, name: string): string | null {
	const header = req.headers.cookie;
	if (!header) return null;
	return parseCookies(header)[name] ?? null;
}

function admissionOf(verdict: Verdict): Admission {
	if (verdict.kind === 'allow' && verdict.principal) return { ok: true, principal: verdict.principal };
	if (verdict.kind === 'deny') {
		return {
			ok: false,
			status: verdict.status,
			code: verdict.code,
			message: verdict.message,
			headers: verdict.headers
		};
	}
	return { ok: false, status: 401, code: 'unauthorized', message: 'Sign in first.' };
}

/** `clientAddress`: the client's address through trusted proxies, whose wrong tokens are counted */
export function hubAccessOf(auth: AuthService, clientAddress: ClientAddressOf): HubAccess {
	return {
		admit(req) {
			const verdict = checkRequest(auth, {
				method: 'GET',
				path: '/ws',
				host: req.headers.host,
				origin: req.headers.origin,
				authorization: req.headers.authorization,
				session: sessionCookieOf(req, auth.sessionCookie),
				address: clientAddress(req)
			});
			return verdict instanceof Promise ? verdict.then(admissionOf) : admissionOf(verdict);
		},
		revalidate: (sessionId) => auth.sessions.revalidate(sessionId),
		onSessionEnded: (listener) => auth.sessions.onEnded(listener),
		checkEveryMs: auth.config.sessionCheckMs
	};
}
