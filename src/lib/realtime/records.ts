/**
 * @module realtime/records
 * How live stores merge records from two sources that race: REST snapshots and events. Neither
 * carries a version, so the lifecycle decides: a record never moves back from finished to
 * running, or from running to queued, whichever source arrived last.
 */
import { isTerminal } from '../protocol';

interface Lifecycle {
	id: string;
	status: string;
	progress?: number;
}

interface Dated extends Lifecycle {
	created_at: string;
}

/** 0 waiting, 1 running, 2 finished. */
export function lifecycleRank(status: string): number {
	if (isTerminal(status)) return 2;
	return status === 'queued' ? 0 : 1;
}

/**
 * The record to keep when `incoming` meets `current`: the one further along its lifecycle; on a
 * tie the one with more progress, and `incoming` when they are level.
 */
export function mergeRecord<T extends Lifecycle>(current: T | null | undefined, incoming: T): T {
	if (!current) return incoming;
	const a = lifecycleRank(current.status);
	const b = lifecycleRank(incoming.status);
	if (a !== b) return a > b ? current : incoming;
	if (a === 1 && (current.progress ?? 0) > (incoming.progress ?? 0)) return current;
	return incoming;
}

/** Newest first by creation time; ids break ties so the order is stable. */
export function newestFirst(a: Dated, b: Dated): number {
	if (a.created_at !== b.created_at) return a.created_at < b.created_at ? 1 : -1;
	return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/** Keeps the newest `cap` records, plus any older ones still unfinished (they are what people watch). */
export function capRecords<T extends Dated>(sorted: T[], cap: number): T[] {
	if (sorted.length <= cap) return sorted;
	return sorted.filter((record, i) => i < cap || !isTerminal(record.status));
}

/** Inserts or merges one record into a newest-first list. Returns a new list. */
export function upsertRecord<T extends Dated>(list: readonly T[], record: T, cap: number): T[] {
	const index = list.findIndex((r) => r.id === record.id);
	if (index === -1) return capRecords([...list, record].sort(newestFirst), cap);
	const merged = mergeRecord(list[index], record);
	if (merged === list[index]) return list as T[];
	const next = list.slice();
	next[index] = merged;
	return next;
}

/** Changes fields of one record in place of the old object; the list is new, the others are kept. */
export function patchRecord<T extends Lifecycle>(
	list: readonly T[],
	id: string,
	patch: (record: T) => T | null
): T[] {
	const index = list.findIndex((r) => r.id === id);
	if (index === -1) return list as T[];
	const next = patch(list[index]);
	if (!next || next === list[index]) return list as T[];
	const copy = list.slice();
	copy[index] = next;
	return copy;
}

/**
 * A fresh snapshot combined with the records events delivered while it was in flight (`touched`):
 * the snapshot wins except where an event is further along; touched records missing from the
 * snapshot were created meanwhile and are kept.
 */
export function mergeSnapshot<T extends Dated>(
	snapshot: readonly T[],
	touched: ReadonlyMap<string, T>,
	cap: number
): T[] {
	const byId = new Map<string, T>();
	for (const record of snapshot) byId.set(record.id, record);
	for (const [id, record] of touched) byId.set(id, mergeRecord(byId.get(id), record));
	return capRecords([...byId.values()].sort(newestFirst), cap);
}

/** The first record of each id, in order. */
export function uniqueById<T extends { id: string }>(records: readonly T[]): T[] {
	const seen = new Set<string>();
	return records.filter((record) => !seen.has(record.id) && !!seen.add(record.id));
}

/** `current` with each of `incoming` merged in by id ({@link mergeRecord}); order not kept. */
export function mergeById<T extends Lifecycle>(current: readonly T[], incoming: readonly T[]): T[] {
	const byId = new Map(current.map((record) => [record.id, record]));
	for (const record of incoming) byId.set(record.id, mergeRecord(byId.get(record.id), record));
	return [...byId.values()];
}
