/**
 * @module hub/filter-index
 * Finds the subscribers of an event without looking at every client. Each subscription is
 * filed under its most selective criterion: its task and run ids when it has them, else its
 * event types (exact or family wildcard), else its statuses, else "everything". An event looks
 * up only the buckets its own task id, run id, type, family and status name, and checks just
 * those candidates against their full filter; clients filed elsewhere cost nothing. A match
 * allocates nothing: owners are marked with the match's number to be named once.
 */
import { EVENT_TYPES, eventStatus, type AnyDomainEvent } from '../../protocol/events';
import { matchesFilter } from '../../protocol/filter';
import type { EventFilter } from '../../protocol/messages';

interface Owner<T> {
	owner: T;
	subs: Map<string, Entry<T>>;
	/** the number of the last match that named this owner */
	mark: number;
}

interface Entry<T> {
	owner: Owner<T>;
	filter: EventFilter;
	buckets: Set<Entry<T>>[];
	/** where each keyed bucket is filed, to drop it once empty */
	places: [Map<string, Set<Entry<T>>>, string][];
}

/** `tool.lines` → `tool.*`, looked up rather than built per event */
const FAMILY: Record<string, string> = Object.fromEntries(
	EVENT_TYPES.map((type) => [type, `${type.slice(0, type.indexOf('.'))}.*`])
);

export class FilterIndex<T> {
	#all = new Set<Entry<T>>();
	#keyed: Record<'task' | 'run' | 'type' | 'status', Map<string, Set<Entry<T>>>> = {
		task: new Map(),
		run: new Map(),
		type: new Map(),
		status: new Map()
	};
	#owners = new Map<T, Owner<T>>();
	#marks = 0;
	#matched: T[] = [];

	/** subscriptions held across all owners */
	get size(): number {
		let n = 0;
		for (const owner of this.#owners.values()) n += owner.subs.size;
		return n;
	}

	/** keyed buckets held (task, run, type and status), for tests of what is freed */
	get buckets(): number {
		let n = 0;
		for (const map of Object.values(this.#keyed)) n += map.size;
		return n;
	}

	/** owners with at least one subscription */
	get owners(): number {
		return this.#owners.size;
	}

	/** Adds a subscription, replacing the owner's subscription of the same id. */
	set(owner: T, sub: string, filter: EventFilter): void {
		this.remove(owner, sub);
		let record = this.#owners.get(owner);
		if (!record) this.#owners.set(owner, (record = { owner, subs: new Map(), mark: 0 }));
		const places = this.#placesOf(filter);
		const buckets = places.length ? places.map(([map, key]) => this.#bucket(map, key)) : [this.#all];
		const entry: Entry<T> = { owner: record, filter, buckets, places };
		for (const bucket of buckets) bucket.add(entry);
		record.subs.set(sub, entry);
	}

	/** Removes one subscription; returns whether it was held. */
	remove(owner: T, sub: string): boolean {
		const record = this.#owners.get(owner);
		const entry = record?.subs.get(sub);
		if (!record || !entry) return false;
		for (const bucket of entry.buckets) bucket.delete(entry);
		for (const [map, key] of entry.places) if (map.get(key)?.size === 0) map.delete(key);
		record.subs.delete(sub);
		if (record.subs.size === 0) this.#owners.delete(owner);
		return true;
	}

	/** Removes every subscription of the owner (on close). */
	removeOwner(owner: T): void {
		const record = this.#owners.get(owner);
		if (!record) return;
		for (const sub of [...record.subs.keys()]) this.remove(owner, sub);
	}

	/**
	 * Each owner with a subscription that matches the event, once. The array is reused by the
	 * next call: use it before matching again.
	 */
	match(event: AnyDomainEvent): readonly T[] {
		const out = this.#matched;
		out.length = 0;
		const mark = ++this.#marks;
		const data = event.data as { task_id?: string; run_id?: string | null };
		const keyed = this.#keyed;
		this.#collect(this.#all, event, mark);
		if (data.task_id !== undefined) this.#collect(keyed.task.get(data.task_id), event, mark);
		if (data.run_id) this.#collect(keyed.run.get(data.run_id), event, mark);
		if (keyed.type.size) {
			this.#collect(keyed.type.get(event.type), event, mark);
			this.#collect(keyed.type.get(FAMILY[event.type]!), event, mark);
		}
		if (keyed.status.size) {
			const status = eventStatus(event);
			if (status !== null) this.#collect(keyed.status.get(status), event, mark);
		}
		return out;
	}

	#collect(bucket: Set<Entry<T>> | undefined, event: AnyDomainEvent, mark: number): void {
		if (!bucket) return;
		for (const entry of bucket) {
			const record = entry.owner;
			if (record.mark === mark || !matchesFilter(entry.filter, event)) continue;
			record.mark = mark;
			this.#matched.push(record.owner);
		}
	}

	/** The keyed buckets a filter is filed under; none means "everything". */
	#placesOf(filter: EventFilter): [Map<string, Set<Entry<T>>>, string][] {
		const { task, run, type, status } = this.#keyed;
		if (filter.task_ids?.length || filter.run_ids?.length) {
			return [
				...(filter.task_ids ?? []).map((id): [Map<string, Set<Entry<T>>>, string] => [task, id]),
				...(filter.run_ids ?? []).map((id): [Map<string, Set<Entry<T>>>, string] => [run, id])
			];
		}
		if (filter.types?.length) return filter.types.map((t) => [type, t]);
		if (filter.statuses?.length) return filter.statuses.map((s) => [status, s]);
		return [];
	}

	#bucket(map: Map<string, Set<Entry<T>>>, key: string): Set<Entry<T>> {
		let bucket = map.get(key);
		if (!bucket) map.set(key, (bucket = new Set()));
		return bucket;
	}
}
