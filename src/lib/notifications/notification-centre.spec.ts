import { describe, expect, it } from 'vitest';
import { NOTIFICATIONS_KEY, NotificationCentre, parseStored } from './notification-centre.svelte';
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
