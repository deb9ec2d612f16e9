/**
 * @module store/test-failing-store
 * For specs: a store that fails one method the way a full disk makes SQLite fail, while every
 * other method works on the real store underneath.
 */
import { StoreUnavailableError } from './errors';
import type { TaskQueue } from './queue';
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
 * `store` whose task queue's `method` rejects with `err` (a full disk by default) the first time
 * it is called, and works on the real queue from then on.
 */
export function storeWithQueueFailingOnce(
	store: Store,
	method: keyof TaskQueue,
	err: Error = diskFullError()
): Store {
	let failed = false;
	const queue = new Proxy(store.queue, {
		get: (target, prop) => {
			if (prop === method && !failed) {
				return () => {
					failed = true;
					return Promise.reject(err);
				};
			}
			const value = Reflect.get(target, prop);
			return typeof value === 'function' ? value.bind(target) : value;
		}
	});
	return new Proxy(store, {
		get: (target, prop) => {
			if (prop === 'queue') return queue;
			const value = Reflect.get(target, prop);
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
