/**
 * @module store/test-failing-store
 * For specs: a store that fails one method the way a full disk makes SQLite fail, while every
 * other method works on the real store underneath.
 */
import { StoreUnavailableError } from './errors';
import type { Store } from './types';

export function diskFullError(): Error {
	return Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
}

/** `store` with `method` rejecting with `err` (a full disk by default) */
export function failingStore(store: Store, method: keyof Store, err: Error = diskFullError()): Store {
	return new Proxy(store, {
		get: (target, prop) => {
			if (prop === method) return () => Promise.reject(err);
			const value = Reflect.get(target, prop);
			// the store keeps private fields: its own methods must run on it, not on the proxy
			return typeof value === 'function' ? value.bind(target) : value;
		}
	});
}

/**
 * `store` with `method` rejecting as an unreachable database while `outage.away` is true, and
 * working on the real store otherwise.
 * @example
 * const { store: flaky, outage } = storeWithOutage(store, 'appendLogLines');
 * outage.away = true;
 */
export function storeWithOutage(
	store: Store,
	method: keyof Store
): { store: Store; outage: { away: boolean } } {
	const outage = { away: false };
	const flaky = new Proxy(store, {
		get: (target, prop) => {
			if (prop === method && outage.away)
				return () => Promise.reject(new StoreUnavailableError(new Error('connect ECONNREFUSED')));
			const value = Reflect.get(target, prop);
			return typeof value === 'function' ? value.bind(target) : value;
		}
	});
	return { store: flaky, outage };
}
