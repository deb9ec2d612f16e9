import type { LayoutServerLoad } from './$types';
import type { SignedInUser } from '$lib/protocol/auth';

/** Who is signed in, for the header's sign-out control and the pages' Run/Cancel buttons. */
export const load: LayoutServerLoad = ({ locals }) => {
	const principal = locals.principal;
	const user: SignedInUser | null = principal
		? { role: principal.role, via: principal.via, name: principal.name }
		: null;
	return { user, authRequired: locals.aco.auth.required };
};
