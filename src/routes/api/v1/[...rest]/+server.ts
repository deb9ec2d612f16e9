import type { RequestHandler } from './$types';
import { json } from '$lib/server/http/responses';

const notFound: RequestHandler = ({ url, request }) =>
	json(
		{
			error: {
				code: 'not_found',
				message: `No API endpoint ${request.method} ${url.pathname}. See /api/v1/healthz.`
			}
		},
		404
	);

export const GET = notFound;
export const POST = notFound;
export const PUT = notFound;
export const PATCH = notFound;
export const DELETE = notFound;
