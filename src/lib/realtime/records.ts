/**
 * @module realtime/records
 * How live stores merge records from two sources that race: REST snapshots and events. Neither
 * carries a version, so the lifecycle decides: a record never moves back from finished to
 * running, or from running to queued, whichever source arrived last — except a task sent back
 * to the queue (its node died and it may be tried again), which is queued after running.
 */
import { isTerminal } from '../protocol';

interface Lifecycle {
	id: string;
	status: string;
	progress?: number;
	started_at?: string | null;
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
 * The record to keep when `incoming` meets `current`: the one further along its lifecycle (a
 * task sent back to the queue is further along than the attempt it took back); between two
 * running records the later attempt, else the one with more progress, and `incoming` when they
 * are level.
 */
export function mergeRecord<T extends Lifecycle>(current: T | null | undefined, incoming: T): T {
	if (!current) return incoming;
	if (sentBack(incoming, current)) return incoming;
	if (sentBack(current, incoming)) return current;
	const a = lifecycleRank(current.status);
	const b = lifecycleRank(incoming.status);
	if (a !== b) return a > b ? current : incoming;
	if (a === 1) {
		// a later attempt of a task sent back to the queue is newer, whatever progress it has made
		if (startedLater(incoming, current)) return incoming;
		if (startedLater(current, incoming)) return current;
		if ((current.progress ?? 0) > (incoming.progress ?? 0)) return current;
	}
	return incoming;
}

/**
 * The record a live `task.status` event carries, merged into `current`. Events reach a store in
 * seq order, so a `queued` one is newer than every running record events brought: the task was
 * sent back to the queue, also when its attempt never got to start. Only a REST snapshot can be
 * newer than the event — a running record that started later is the next attempt, and a finished
 * task is never sent back — and those are kept, as by {@link mergeRecord}.
 */
export function mergeStatusEvent<T extends Lifecycle>(current: T | null | undefined, incoming: T): T {
	if (
		current &&
		incoming.status === 'queued' &&
		lifecycleRank(current.status) === 1 &&
		!startedLater(current, incoming)
	) {
		return incoming;
	}
	return mergeRecord(current, incoming);
}

/**
 * `queued` is `running` sent back to the queue: the queue keeps the start time of the attempt it
 * takes back, and the next attempt starts later, so a running record with that same start time
 * is older than the queued one, whichever source brought it.
 */
function sentBack(queued: Lifecycle, running: Lifecycle): boolean {
	return (
		queued.status === 'queued' &&
		lifecycleRank(running.status) === 1 &&
		(queued.started_at ?? null) !== null &&
		queued.started_at === running.started_at
	);
}

/** `a` started after `b` (a record that never started, started first) */
function startedLater(a: Lifecycle, b: Lifecycle): boolean {
	const at = a.started_at ?? null;
	const bt = b.started_at ?? null;
	return at !== null && (bt === null || at > bt);
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

/** Inserts or merges (by `merge`) one record into a newest-first list. Returns a new list. */
export function upsertRecord<T extends Dated>(
	list: readonly T[],
	record: T,
	cap: number,
	merge: (current: T, incoming: T) => T = mergeRecord
): T[] {
	const index = list.findIndex((r) => r.id === record.id);
	if (index === -1) return capRecords([...list, record].sort(newestFirst), cap);
	const merged = merge(list[index], record);
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
