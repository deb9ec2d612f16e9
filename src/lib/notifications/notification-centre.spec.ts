import { describe, expect, it } from 'vitest';
import {
	MAX_COUNTED_IDS,
	NOTIFICATIONS_KEY,
	NotificationCentre,
	countedOnce,
	parseStored
} from './notification-centre.svelte';
import { NotifyPrefs, PREFS_KEY } from './notify-prefs.svelte';

function memoryStorage(): Storage {
	const data = new Map<string, string>();
	return {
		getItem: (k: string) => data.get(k) ?? null,
		setItem: (k: string, v: string) => void data.set(k, v)
	} as Storage;
}

const entry = (id: string) => ({
	id,
	kind: 'task.failed' as const,
	level: 'error' as const,
	title: `Task ${id} failed`,
	body: null,
	href: `/tasks/${id}`,
	workflow: 'demo'
});

describe('NotificationCentre', () => {
	it('keeps the newest 200 across reloads, unread until marked', () => {
		const storage = memoryStorage();
		let clock = 0;
		const centre = new NotificationCentre({ storage, now: () => ++clock });
		centre.start();
		for (let i = 0; i < 205; i++) centre.add(entry(`t${i}`));
		expect(centre.items).toHaveLength(200);
		expect(centre.items[0].id).toBe('t204');
		expect(centre.unread).toBe(200);

		centre.markRead('t204');
		expect(centre.unread).toBe(199);
		const reloaded = new NotificationCentre({ storage });
		reloaded.start();
		expect(reloaded.items).toHaveLength(200);
		expect(reloaded.items[0]).toMatchObject({ id: 't204', read: true });
		reloaded.markAllRead();
		expect(reloaded.unread).toBe(0);
	});

	it('replaces an entry with the same id (a count going up) and moves it to the top, unread again', () => {
		const centre = new NotificationCentre({ storage: null });
		centre.add(entry('a'));
		centre.add(entry('b'));
		centre.markAllRead();
		centre.add({ ...entry('a'), title: 'changed' });
		expect(centre.items.map((i) => [i.id, i.title, i.read])).toEqual([
			['a', 'changed', false],
			['b', 'Task b failed', true]
		]);
	});

	it('updates an entry from what is stored now, also when another tab wrote it since, or leaves it be', () => {
		const storage = memoryStorage();
		const tab = new NotificationCentre({ storage, now: () => 1 });
		tab.start();
		const other = new NotificationCentre({ storage, now: () => 2 });
		other.start();
		other.add({ ...entry('a'), title: 'from the other tab' });
		const seen: (string | undefined)[] = [];
		tab.update('a', (previous) => (seen.push(previous?.title), { ...entry('a'), title: 'updated' }));
		expect(seen).toEqual(['from the other tab']);
		expect(parseStored(storage.getItem(NOTIFICATIONS_KEY)).map((i) => i.title)).toEqual(['updated']);
		tab.markAllRead();
		expect(tab.update('a', () => null)).toMatchObject({ title: 'updated', read: true });
		expect(tab.unread).toBe(0);
	});

	it('counts an id once while it holds every id it counted, whatever their number', () => {
		expect(countedOnce(undefined, 't1')).toEqual({ count: 1, counted: 't1' });
		expect(countedOnce({ count: 1, counted: 't1' }, 't1')).toBeNull();
		expect(countedOnce({ count: 2, counted: 't1 t2' }, 't2')).toBeNull();
		expect(countedOnce({ count: 2, counted: 't1 t2' }, 't')).toEqual({ count: 3, counted: 't1 t2 t' });
		// far more than a tab hears twice within moments: none of them counted again
		let entry: { count: number; counted?: string } | undefined;
		const ids = Array.from({ length: 1_000 }, (_, i) => `task_${i}`);
		for (const id of ids) entry = countedOnce(entry, id) ?? entry;
		for (const id of ids) expect(countedOnce(entry, id, 1)).toBeNull();
		expect(entry?.count).toBe(1_000);
		expect(MAX_COUNTED_IDS).toBeGreaterThanOrEqual(5_000);
	});

	it('past the ids it keeps, counts what this tab knows for sure: never twice, never down', () => {
		// holds every id (2 of max 2): a new one is counted, but no longer kept
		const full = countedOnce({ count: 2, counted: 'a b' }, 'c', 1, 2);
		expect(full).toEqual({ count: 3, counted: 'a b' });
		// now `d` may have been counted by another tab: the stored count stands unless this tab saw more
		expect(countedOnce(full!, 'd', 2, 2)).toBeNull();
		expect(countedOnce(full!, 'd', 4, 2)).toEqual({ count: 4, counted: 'a b' });
		expect(countedOnce(full!, 'a', 5, 2)).toEqual({ count: 5, counted: 'a b' });
		expect(countedOnce(full!, 'a', 1, 2)).toBeNull();
		// an entry that lost what it held (dropped from the list) starts from what this tab saw
		expect(countedOnce(undefined, 'e', 7)).toEqual({ count: 7, counted: 'e' });
	});

	it('keeps the number of an entry stored before counts were kept, and reads ids stored as a list', () => {
		const old = (title: string, more: object = {}) =>
			JSON.stringify([{ ...entry('blocked:r1'), kind: 'tasks.blocked', title, at: 1, read: false, ...more }]);
		const [legacy] = parseStored(old('5 tasks did not run'));
		expect(legacy.count).toBe(5);
		// no ids: whichever task a tab sees may be among the five
		expect(countedOnce(legacy, 't6')).toBeNull();
		expect(countedOnce(legacy, 't6', 6)).toMatchObject({ count: 6 });
		expect(parseStored(old('1 task did not run'))[0].count).toBe(1);
		const [list] = parseStored(old('3 tasks did not run', { count: 3, counted: ['a', 'b', 'c'] }));
		expect(list).toMatchObject({ count: 3, counted: 'a b c' });
		const bad = JSON.stringify([{ ...entry('x'), at: 1, read: false, count: -1, counted: [1] }]);
		expect(parseStored(bad)[0]).not.toHaveProperty('count');
		expect(parseStored(bad)[0]).not.toHaveProperty('counted');
	});

	it('keeps the counted ids of the newest entries within the budget, and every count', () => {
		const storage = memoryStorage();
		let clock = 0;
		const centre = new NotificationCentre({ storage, now: () => ++clock, countedBudget: 10 });
		centre.start();
		for (const run of ['r1', 'r2', 'r3'])
			centre.add({ ...entry(`blocked:${run}`), kind: 'tasks.blocked', count: 2, counted: `${run}a ${run}b` });
		const stored = parseStored(storage.getItem(NOTIFICATIONS_KEY));
		expect(stored.map((item) => [item.id, item.count, item.counted])).toEqual([
			['blocked:r3', 2, 'r3a r3b'],
			['blocked:r2', 2, undefined],
			['blocked:r1', 2, undefined]
		]);
	});

	it('ignores stored data it cannot read', () => {
		expect(parseStored('not json')).toEqual([]);
		expect(parseStored(JSON.stringify([{ id: 1 }, { ...entry('ok'), at: 1, read: false }]))).toHaveLength(1);
		const storage = memoryStorage();
		storage.setItem(NOTIFICATIONS_KEY, '{"x":1}');
		const centre = new NotificationCentre({ storage });
		centre.start();
		expect(centre.items).toEqual([]);
	});
});

describe('NotifyPrefs', () => {
	it('notifies for every kind and workflow by default, and remembers what is turned off', () => {
		const storage = memoryStorage();
		const prefs = new NotifyPrefs(storage);
		prefs.load();
		expect(prefs.wants('task.failed', 'demo')).toBe(true);
		expect(prefs.wants('run.succeeded', null)).toBe(true);
		expect(prefs.wants('tasks.blocked', 'demo')).toBe(false);
		prefs.set({ taskFailed: false });
		prefs.setMuted('nightly', true);
		prefs.setMuted(null, true);
		const again = new NotifyPrefs(storage);
		again.load();
		expect(again.wants('task.failed', 'demo')).toBe(false);
		expect(again.wants('run.failed', 'nightly')).toBe(false);
		expect(again.wants('run.failed', 'demo')).toBe(true);
		expect(again.wants('run.failed', null)).toBe(false);
		again.setMuted('nightly', false);
		expect(again.wants('run.failed', 'nightly')).toBe(true);
		storage.setItem(PREFS_KEY, 'garbage');
		again.load();
		expect(again.data.taskFailed).toBe(true);
	});
});
