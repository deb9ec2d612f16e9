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

/**
 * `target` with the members `override` answers for (anything but undefined) replaced, and every
 * other member its own: the stores keep private fields, so their methods must run on them, not
 * on the proxy.
 */
function overriding<T extends object>(target: T, override: (prop: string | symbol) => unknown): T {
	return new Proxy(target, {
		get: (object, prop) => {
			const replaced = override(prop);
			if (replaced !== undefined) return replaced;
			const value = Reflect.get(object, prop);
			return typeof value === 'function' ? value.bind(object) : value;
		}
	});
}

/** `store` with `method` rejecting with `err` (a full disk by default) */
export function failingStore(store: Store, method: keyof Store, err: Error = diskFullError()): Store {
	return overriding(store, (prop) => (prop === method ? () => Promise.reject(err) : undefined));
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
	const failOnce = () => {
		failed = true;
		return Promise.reject(err);
	};
	const queue = overriding(store.queue, (prop) => (prop === method && !failed ? failOnce : undefined));
	return overriding(store, (prop) => (prop === 'queue' ? queue : undefined));
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
	const away = () => Promise.reject(new StoreUnavailableError(new Error('connect ECONNREFUSED')));
	const flaky = overriding(store, (prop) => (prop === method && outage.away ? away : undefined));
	return { store: flaky, outage };
}
