import type { RequestHandler } from './$types';

/** Prometheus text exposition of the hub's and the process's metrics. */
export const GET: RequestHandler = async ({ locals }) => {
	const { contentType, body } = await locals.aco.hub.metrics();
	return new Response(body, { headers: { 'content-type': contentType, 'cache-control': 'no-store' } });
};
