/**
 * @module store/test-failing-store
 * For specs: a store that fails one method the way a full disk makes SQLite fail, while every
 * other method works on the real store underneath.
 */
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
