import type { Principal } from '$lib/server/auth/principal';
import type { AcoContext } from '$lib/server/context';

declare global {
	namespace App {
		interface Error {
			code?: string;
		}
		interface Locals {
			aco: AcoContext;
			/** who the request acts for; null only on public paths (sign-in, health) without credentials */
			principal: Principal | null;
		}
	}
}

export {};
