/**
 * @module global
 * Hands the context built by server.ts (or the dev plugin) to SvelteKit's routes. The routes
 * are bundled separately from server.ts, so a module-level variable would not be shared;
 * a well-known symbol on globalThis is.
 */
import type { AcoContext } from './context';

const KEY = Symbol.for('aco.context');

type Holder = { [KEY]?: AcoContext };

export function setContext(context: AcoContext | undefined): void {
	(globalThis as Holder)[KEY] = context;
}

export function getContext(): AcoContext | undefined {
	return (globalThis as Holder)[KEY];
}
