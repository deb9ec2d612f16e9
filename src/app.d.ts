import type { AcoContext } from '$lib/server/context';

declare global {
	namespace App {
		interface Error {
			code?: string;
		}
		interface Locals {
			aco: AcoContext;
		}
	}
}

export {};
