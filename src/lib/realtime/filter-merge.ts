/**
 * @module realtime/filter-merge
 * How subscriptions that differ only in the tasks and runs they name share one hub subscription
 * (connection-host): the shape they must have in common (the filter without its id lists, and
 * the rate), the union of their ids, whether a filter the hub holds serves one of them, and how
 * many entries a filter lists as the hub counts them against a client.
 *
 * A filter's scope is its task ids ∪ run ids (protocol/filter), so the union of two scoped
 * filters of one shape is one filter listing both sets of ids. A filter with no ids means every
 * task and run: it never merges with a scoped one, only shares with filters exactly like it.
 */
import type { EventFilter } from '../protocol/messages';
import type { Subscription } from './connection-core';

/** The id lists of a filter (its scope). */
export const ID_LISTS = ['task_ids', 'run_ids'] as const;
type IdList = (typeof ID_LISTS)[number];

/** Whether the filter names tasks or runs (an empty list means "any"). */
export function isScoped(filter: EventFilter): boolean {
	return ID_LISTS.some((list) => !!filter[list]?.length);
}

/** The filter without its id lists. */
export function withoutIds(filter: EventFilter): EventFilter {
	const rest: EventFilter = { ...filter };
	for (const list of ID_LISTS) delete rest[list];
	return rest;
}

/**
 * Subscriptions of one shape share a hub subscription: scoped ones with the same filter apart
 * from their ids and the same rate, the others only with an identical filter and rate.
 */
export function shapeOf(subscription: Subscription): string {
	const { filter, maxRate } = subscription;
	if (isScoped(filter)) return JSON.stringify(['ids', sortKeys(withoutIds(filter)), maxRate ?? null]);
	return keyOf(subscription);
}

/** One string per distinct filter and rate (the order of a list's entries does not count). */
export function keyOf({ filter, maxRate }: Subscription): string {
	return JSON.stringify([sortKeys(filter), maxRate ?? null]);
}

/** Entries a filter lists as the hub counts them against a client's limit (MAX_CLIENT_FILTER_IDS). */
export function listedIn(filter: EventFilter): number {
	return (
		(filter.task_ids?.length ?? 0) +
		(filter.run_ids?.length ?? 0) +
		(filter.types?.length ?? 0) +
		(filter.statuses?.length ?? 0)
	);
}

/** Whether the hub holding `held` delivers everything `filter` asks for: an unscoped filter serves every id. */
export function covers(held: EventFilter, filter: EventFilter): boolean {
	if (!isScoped(held)) return true;
	return ID_LISTS.every((list) => {
		const ids = filter[list];
		if (!ids?.length) return true;
		const have = new Set(held[list] ?? []);
		return ids.every((id) => have.has(id));
	});
}

/** The ids of the subscriptions sharing one hub subscription, counted by how many name each. */
export class IdUnion {
	readonly #counts: Record<IdList, Map<string, number>> = { task_ids: new Map(), run_ids: new Map() };
	#chars = 0;

	/** distinct ids, all lists together */
	get size(): number {
		return this.#counts.task_ids.size + this.#counts.run_ids.size;
	}

	/** about how many characters the ids take in a subscribe message (the hub caps a message's size) */
	get chars(): number {
		return this.#chars;
	}

	/** `filter`'s ids the union does not list yet: how many, and their characters in a message. */
	missing(filter: EventFilter): { ids: number; chars: number } {
		const missing = { ids: 0, chars: 0 };
		for (const list of ID_LISTS) {
			for (const id of new Set(filter[list] ?? [])) {
				if (this.#counts[list].has(id)) continue;
				missing.ids++;
				missing.chars += charsOf(id);
			}
		}
		return missing;
	}

	add(filter: EventFilter): void {
		for (const list of ID_LISTS) {
			const counts = this.#counts[list];
			for (const id of new Set(filter[list] ?? [])) {
				const count = counts.get(id) ?? 0;
				if (count === 0) this.#chars += charsOf(id);
				counts.set(id, count + 1);
			}
		}
	}

	remove(filter: EventFilter): void {
		for (const list of ID_LISTS) {
			const counts = this.#counts[list];
			for (const id of new Set(filter[list] ?? [])) {
				const left = (counts.get(id) ?? 0) - 1;
				if (left > 0) counts.set(id, left);
				else if (counts.delete(id)) this.#chars -= charsOf(id);
			}
		}
	}

	/** `base` (a filter without ids) listing the union's ids, in the order they first came. */
	filter(base: EventFilter): EventFilter {
		const merged: EventFilter = { ...base };
		for (const list of ID_LISTS) {
			const ids = [...this.#counts[list].keys()];
			if (ids.length) merged[list] = ids;
		}
		return merged;
	}
}

/** An id's characters in a message: itself, its quotes and a comma (escapes are rare in ids). */
function charsOf(id: string): number {
	return id.length + 3;
}

/** The value with keys in order and lists sorted: lists in a filter are sets (order means nothing to the hub). */
function sortKeys(value: unknown): unknown {
	if (Array.isArray(value)) return value.map(sortKeys).sort();
	if (value === null || typeof value !== 'object') return value;
	return Object.fromEntries(
		Object.entries(value as Record<string, unknown>)
			.filter(([, v]) => v !== undefined)
			.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
			.map(([k, v]) => [k, sortKeys(v)])
	);
}
