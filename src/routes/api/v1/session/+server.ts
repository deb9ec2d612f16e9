import type { RequestHandler } from './$types';
import type { SessionResponse } from '$lib/protocol';
import { json } from '$lib/server/http/responses';

/** Who the caller is: role, how it proved it, and when a browser session ends (401 without credentials). */
export const GET: RequestHandler = ({ locals }) => {
	const principal = locals.principal!;
	const body: SessionResponse = {
		auth_required: locals.aco.auth.required,
		role: principal.role,
		via: principal.via,
		name: principal.name,
		expires_at: principal.expiresAt === undefined ? null : new Date(principal.expiresAt).toISOString()
	};
	return json(body);
};
