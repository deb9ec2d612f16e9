import type { Handle } from '@sveltejs/kit';
import { getContext } from '$lib/server/global';
import { json } from '$lib/server/http/responses';
import { isAllowedOrigin } from '$lib/server/origin';
import { assertAuthorized } from '$lib/server/ingest/auth';
import { isIngestError } from '$lib/server/ingest/ingest-error';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export const handle: Handle = async ({ event, resolve }) => {
	const aco = getContext();
	if (!aco) {
		return json({ error: { code: 'not_ready', message: 'The aco server is not started yet.' } }, 503);
	}
	// A cross-site page may send "simple" POSTs without a preflight; it must not start or
	// cancel work. Requests without an Origin (curl, the CLI) are not from a browser page.
	const { request, url } = event;
	if (!SAFE_METHODS.has(request.method)) {
		const origin = request.headers.get('origin');
		if (!isAllowedOrigin(origin, url.host, aco.config.hub.allowedOrigins)) {
			return json(
				{
					error: {
						code: 'forbidden_origin',
						message: `Requests from pages on ${origin} are not allowed. Add the origin to ACO_ALLOWED_ORIGINS to allow them.`
					}
				},
				403
			);
		}
		// with ACO_TOKEN set, anything that starts, cancels or ingests work needs the token
		try {
			assertAuthorized(request.headers.get('authorization'), aco.config.token);
		} catch (err) {
			if (!isIngestError(err)) throw err;
			return json({ error: { code: err.code, message: err.message } }, 401, { 'www-authenticate': 'Bearer' });
		}
	}
	event.locals.aco = aco;
	const response = await resolve(event);
	// SvelteKit answers a method an endpoint lacks itself, in plain text; the API promises JSON errors
	if (
		response.status === 405 &&
		url.pathname.startsWith('/api/') &&
		!response.headers.get('content-type')?.includes('json')
	) {
		const allow = response.headers.get('allow') ?? '';
		return json(
			{
				error: {
					code: 'method_not_allowed',
					message: `${request.method} is not allowed on ${url.pathname}; use ${allow || 'another method'}.`
				}
			},
			405,
			allow ? { allow } : {}
		);
	}
	return response;
};
