/**
 * @module hub/filter-index
 * Finds the subscribers of an event without looking at every client. Each subscription is
 * filed under its most selective criterion: its task and run ids when it has them, else its
 * event types (exact or family wildcard), else its statuses, else "everything". An event looks
 * up only the buckets its own task id, run id, type, family and status name, and checks just
 * those candidates against their full filter; clients filed elsewhere cost nothing.
 */
import { eventStatus, type AnyDomainEvent } from '../../protocol/events';
import { matchesFilter } from '../../protocol/filter';
import type { EventFilter } from '../../protocol/messages';

interface Entry<T> {
	owner: T;
	sub: string;
	filter: EventFilter;
	keys: string[];
}

/** The buckets a filter is filed under. */
function keysOf(filter: EventFilter): string[] {
	if (filter.task_ids?.length || filter.run_ids?.length) {
		return [
			...(filter.task_ids ?? []).map((id) => `t:${id}`),
			...(filter.run_ids ?? []).map((id) => `r:${id}`)
		];
	}
	if (filter.types?.length) return filter.types.map((type) => `y:${type}`);
	if (filter.statuses?.length) return filter.statuses.map((status) => `s:${status}`);
	return ['*'];
}

/** The buckets an event can be found in. */
function keysFor(event: AnyDomainEvent): string[] {
	const data = event.data as { task_id?: string; run_id?: string | null };
	const family = event.type.slice(0, event.type.indexOf('.'));
	const keys = ['*', `y:${event.type}`, `y:${family}.*`];
	if (data.task_id !== undefined) keys.push(`t:${data.task_id}`);
	if (data.run_id) keys.push(`r:${data.run_id}`);
	const status = eventStatus(event);
	if (status !== null) keys.push(`s:${status}`);
	return keys;
}

export class FilterIndex<T> {
	#buckets = new Map<string, Set<Entry<T>>>();
	/** owner → sub id → entry */
	#byOwner = new Map<T, Map<string, Entry<T>>>();

	/** subscriptions held across all owners */
	get size(): number {
		let n = 0;
		for (const subs of this.#byOwner.values()) n += subs.size;
		return n;
	}

	/** owners with at least one subscription */
	get owners(): number {
		return this.#byOwner.size;
	}

	/** Adds a subscription, replacing the owner's subscription of the same id. */
	set(owner: T, sub: string, filter: EventFilter): void {
		this.remove(owner, sub);
		const entry: Entry<T> = { owner, sub, filter, keys: keysOf(filter) };
		for (const key of entry.keys) {
			let bucket = this.#buckets.get(key);
			if (!bucket) this.#buckets.set(key, (bucket = new Set()));
			bucket.add(entry);
		}
		let subs = this.#byOwner.get(owner);
		if (!subs) this.#byOwner.set(owner, (subs = new Map()));
		subs.set(sub, entry);
	}

	/** Removes one subscription; returns whether it was held. */
	remove(owner: T, sub: string): boolean {
		const subs = this.#byOwner.get(owner);
		const entry = subs?.get(sub);
		if (!subs || !entry) return false;
		for (const key of entry.keys) {
			const bucket = this.#buckets.get(key);
			bucket?.delete(entry);
			if (bucket?.size === 0) this.#buckets.delete(key);
		}
		subs.delete(sub);
		if (subs.size === 0) this.#byOwner.delete(owner);
		return true;
	}

	/** Removes every subscription of the owner (on close). */
	removeOwner(owner: T): void {
		const subs = this.#byOwner.get(owner);
		if (!subs) return;
		for (const sub of [...subs.keys()]) this.remove(owner, sub);
	}

	/** Each owner with a subscription that matches the event, once. */
	match(event: AnyDomainEvent): Set<T> {
		const out = new Set<T>();
		for (const key of keysFor(event)) {
			const bucket = this.#buckets.get(key);
			if (!bucket) continue;
			for (const entry of bucket) {
				if (!out.has(entry.owner) && matchesFilter(entry.filter, event)) out.add(entry.owner);
			}
		}
		return out;
	}
}
