import { fail, redirect } from '@sveltejs/kit';
import type { Actions, PageServerLoad } from './$types';
import { safeNextPath } from '$lib/protocol/auth';
import { retryAfterSeconds, tooManyAttemptsMessage } from '$lib/server/auth/auth';
import { STORE_RETRY_AFTER_S } from '$lib/server/http/responses';
import { isStoreUnavailable } from '$lib/server/store/errors';

/** shown on the form when its body cannot be parsed (a broken multipart body, a client that hung up) */
const UNREADABLE_FORM_MESSAGE = 'The sign-in form could not be read; send it again.';
/** shown on the form when the session cannot be stored (PostgreSQL down or restarting) */
const STORE_UNAVAILABLE_MESSAGE =
	'The database cannot be reached right now, so no session could be started. Try again shortly.';

export const load: PageServerLoad = ({ locals, url }) => {
	const next = safeNextPath(url.searchParams.get('next'));
	// nothing to sign in to, or signed in already
	if (!locals.aco.auth.required || locals.principal?.via === 'session') redirect(303, next);
	const reason = url.searchParams.get('reason');
	return { next, reason: reason === 'expired' || reason === 'signed_out' ? reason : null };
};

export const actions: Actions = {
	/** Exchanges a token for a session cookie; a new session every time (the old one ends). */
	default: async ({ request, cookies, locals, url, getClientAddress, setHeaders }) => {
		let form: FormData;
		try {
			form = await request.formData();
		} catch {
			return fail(400, { error: UNREADABLE_FORM_MESSAGE, next: safeNextPath(url.searchParams.get('next')) });
		}
		const token = String(form.get('token') ?? '').trim();
		const next = safeNextPath(String(form.get('next') ?? '/'));
		const { auth, logger } = locals.aco;
		if (!token) return fail(400, { error: 'Paste a token to sign in.', next });
		// a wrong token is counted against the address (and logged) by checkToken
		const checked = auth.checkToken(token, getClientAddress(), 'sign-in with a token');
		if (!checked.ok && checked.reason === 'too_many') {
			setHeaders({ 'retry-after': retryAfterSeconds(checked.retryAfterMs) });
			return fail(429, { error: tooManyAttemptsMessage(checked.retryAfterMs), next });
		}
		if (!checked.ok) {
			return fail(401, {
				error: 'That token is not valid on this server. Check it with whoever runs aco here.',
				next
			});
		}
		const entry = checked.entry;
		let signedIn;
		try {
			signedIn = await auth.sessions.create(entry, cookies.get(auth.sessionCookie));
		} catch (err) {
			// sessions live in the store: with the database away this is a 503 on the form, not a 500 page
			if (!isStoreUnavailable(err)) throw err;
			logger.warn({ err, remote: getClientAddress() }, 'sign-in refused: the database cannot be reached');
			setHeaders({ 'retry-after': String(STORE_RETRY_AFTER_S) });
			return fail(503, { error: STORE_UNAVAILABLE_MESSAGE, next });
		}
		cookies.set(
			auth.sessionCookie,
			signedIn.value,
			auth.cookieOptions(url.protocol === 'https:', signedIn.maxAgeS)
		);
		redirect(303, next);
	}
};
