import type { Handle } from '@sveltejs/kit';
import { getContext } from '$lib/server/global';

export const handle: Handle = async ({ event, resolve }) => {
	const aco = getContext();
	if (!aco) {
		return new Response(
			JSON.stringify({ error: { code: 'not_ready', message: 'The aco server is not started yet.' } }),
			{ status: 503, headers: { 'content-type': 'application/json' } }
		);
	}
	event.locals.aco = aco;
	return resolve(event);
};
