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

	it('counts an id once, keeps the newest ids within the bound, and never counts down', () => {
		expect(countedOnce(undefined, 't1')).toEqual({ count: 1, counted: ['t1'] });
		expect(countedOnce({ count: 1, counted: ['t1'] }, 't1')).toBeNull();
		// an entry stored before ids were kept
		expect(countedOnce({ count: 4 }, 't5')).toEqual({ count: 5, counted: ['t5'] });
		const full = Array.from({ length: MAX_COUNTED_IDS }, (_, i) => `t${i}`);
		const next = countedOnce({ count: MAX_COUNTED_IDS, counted: full }, 'new');
		expect(next?.count).toBe(MAX_COUNTED_IDS + 1);
		expect(next?.counted).toHaveLength(MAX_COUNTED_IDS);
		expect(next?.counted.at(-1)).toBe('new');
		const bad = JSON.stringify([{ ...entry('x'), at: 1, read: false, count: -1, counted: [1] }]);
		expect(parseStored(bad)[0]).not.toHaveProperty('count');
		expect(parseStored(bad)[0]).not.toHaveProperty('counted');
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
