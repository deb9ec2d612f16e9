import { describe, expect, it, vi } from 'vitest';
import { RealtimeConnection } from './connection.svelte';
import {
	NOTIFICATIONS_KEY,
	NotificationCentre,
	parseStored
} from '$lib/notifications/notification-centre.svelte';
import { NotifyPrefs } from '$lib/notifications/notify-prefs.svelte';
import { BURST_WINDOW_MS, missedUpdatesText, startToastFeed, type Toaster } from './toast-feed';
import { socketFactory } from './test-socket';
import { makeRun, makeTask } from './test-fixtures';

function setup(
	options: {
		hidden?: boolean;
		now?: () => number;
		prefs?: NotifyPrefs;
		storage?: Pick<Storage, 'getItem' | 'setItem'>;
	} = {}
) {
	const shown: string[] = [];
	/** the id of each error toast, in order: toasts with one id replace each other on screen */
	const errorIds: (string | undefined)[] = [];
	const durations: number[] = [];
	const toaster: Toaster = {
		success: (m) => shown.push(`success: ${m}`),
		error: (m, o) => shown.push(`error: ${m}`) && errorIds.push(o?.id),
		blank: (m) => shown.push(`blank: ${m}`),
		link: (t) => {
			shown.push(`${t.level}: ${t.text}${t.detail ? ` (${t.detail})` : ''} -> ${t.href}`);
			durations.push(t.duration);
			if (t.level === 'error') errorIds.push(t.id);
		}
	};
	const notified: string[] = [];
	const notifier = {
		notify: (title: string) => {
			if (options.hidden) notified.push(title);
			return !!options.hidden;
		}
	};
	const centre = new NotificationCentre({ storage: options.storage ?? null });
	centre.start();
	const factory = socketFactory();
	const connection = new RealtimeConnection({
		url: 'ws://aco.test/ws',
		createSocket: factory.create,
		target: new EventTarget(),
		backoff: { random: () => 0 }
	});
	const stop = startToastFeed(connection, {
		toaster,
		notifier,
		centre,
		notifyFilter: options.prefs,
		now: options.now
	});
	connection.connect();
	factory.last.open();
	factory.last.welcome();
	return { shown, errorIds, durations, notified, centre, factory, connection, stop };
}

/**
 * One browser's localStorage, shared by the tabs a case sets up (they hear nothing of each
 * other's writes: no storage events): the titles it holds, how many writes it took, and a task
 * of run r1 that did not run (a task it needs failed) as a tab hears of it.
 */
function sharedBrowser() {
	const data = new Map<string, string>();
	let writes = 0;
	const storage = {
		getItem: (k: string) => data.get(k) ?? null,
		setItem: (k: string, v: string) => {
			writes++;
			data.set(k, v);
		}
	};
	const stored = () => parseStored(storage.getItem(NOTIFICATIONS_KEY)).map((item) => item.title);
	const error = "needs 'root', which failed";
	let seq = 0;
	const didNotRun = (tab: ReturnType<typeof setup>, id: string) =>
		tab.factory.last.event({
			type: 'task.failed',
			seq: ++seq,
			data: {
				task_id: id,
				run_id: 'r1',
				status: 'failed',
				error,
				duration_ms: null,
				task: makeTask({ id, name: id, run_id: 'r1', status: 'failed', started_at: null, error })
			}
		});
	return { storage, stored, didNotRun, writes: () => writes };
}

/** the centre is written once per burst, when the events of the moment have been heard */
const written = () => Promise.resolve();

describe('toast feed', () => {
	it('shows a failed task as an error toast with a link to the task that stays until dismissed', () => {
		const { shown, durations, centre, factory, connection } = setup();
		const task = makeTask({ id: 'abc', name: 'Flaky', status: 'failed' });
		factory.last.event({
			type: 'task.failed',
			seq: 1,
			data: { task_id: 'abc', run_id: 'r1', status: 'failed', error: 'exit code 1', duration_ms: 3, task }
		});
		expect(shown).toEqual(['error: Task "Flaky" failed (exit code 1) -> /tasks/abc']);
		expect(durations).toEqual([Infinity]);
		expect(centre.items).toMatchObject([{ kind: 'task.failed', href: '/tasks/abc', read: false }]);
		connection.destroy();
	});

	it('toasts a workflow that finished or failed, and stays quiet about tasks inside it', () => {
		const { shown, durations, factory, connection } = setup();
		const task = makeTask({ run_id: 'r1', status: 'succeeded' });
		factory.last.event({
			type: 'task.completed',
			seq: 1,
			data: { task_id: task.id, run_id: 'r1', status: 'succeeded', duration_ms: 1, task }
		});
		factory.last.event({
			type: 'workflow.completed',
			seq: 2,
			data: { run_id: 'r1', workflow: 'demo', status: 'succeeded', duration_ms: 1, run: makeRun() }
		});
		factory.last.event({
			type: 'workflow.failed',
			seq: 3,
			data: {
				run_id: 'r2',
				workflow: 'nightly',
				status: 'failed',
				error: 'lint failed',
				duration_ms: 1,
				run: makeRun({ id: 'r2', workflow: 'nightly' })
			}
		});
		expect(shown).toEqual([
			'success: Workflow "demo" succeeded -> /runs/r1',
			'error: Workflow "nightly" failed (lint failed) -> /runs/r2'
		]);
		// a success goes quickly, a failure stays
		expect(durations[0]).toBeLessThanOrEqual(3000);
		expect(durations[1]).toBe(Infinity);
		connection.destroy();
	});

	it('does not toast the same event twice', () => {
		const { shown, factory, connection } = setup();
		const data = {
			run_id: 'r1',
			workflow: 'demo',
			status: 'succeeded' as const,
			duration_ms: 1,
			run: makeRun()
		};
		factory.last.event({ type: 'workflow.completed', seq: 1, data });
		factory.last.receive({
			type: 'reset',
			timestamp: '',
			data: { missed: 1, epoch: 'e1', seq: 0, reason: '' }
		});
		factory.last.event({ type: 'workflow.completed', seq: 1, data });
		expect(shown).toHaveLength(1);
		connection.destroy();
	});

	it('tells of a lost and a restored connection, but not of the first connect', () => {
		vi.useFakeTimers();
		const { shown, factory, connection } = setup();
		expect(shown).toEqual([]);
		factory.last.serverClose(1006);
		expect(shown).toEqual(['error: Connection lost; reconnecting…']);
		vi.runOnlyPendingTimers();
		factory.last.open();
		factory.last.welcome();
		expect(shown.at(-1)).toBe('success: Connection restored');
		connection.destroy();
		vi.useRealTimers();
	});

	it('tells once per reset that updates were missed and reloaded, and nothing after a clean resume', async () => {
		vi.useFakeTimers();
		const { shown, factory, connection } = setup();
		connection.onReconnected(() => Promise.resolve());
		const missed = () => shown.filter((m) => m.includes('Missed'));
		factory.last.serverClose(1006);
		vi.runOnlyPendingTimers();
		factory.last.open();
		factory.last.welcome();
		factory.last.resumed(3);
		factory.last.dropped(2, 5, 6);
		await vi.advanceTimersByTimeAsync(0);
		expect(missed()).toEqual([]);

		factory.last.serverClose(1012);
		vi.runOnlyPendingTimers();
		factory.last.open();
		factory.last.welcome({ epoch: 'e2' });
		factory.last.reset({ missed: 12, epoch: 'e2' });
		await vi.advanceTimersByTimeAsync(0);
		expect(missed()).toEqual(['blank: Missed 12 updates while disconnected — reloaded']);
		connection.destroy();
		vi.useRealTimers();
	});

	it('words the missed-updates toast for one and for an unknown count', () => {
		expect(missedUpdatesText(1)).toBe('Missed 1 update while disconnected — reloaded');
		expect(missedUpdatesText(null)).toBe('Missed updates while disconnected — reloaded');
		expect(missedUpdatesText(0)).toBe('Missed updates while disconnected — reloaded');
	});

	it('says why the server closed the connection for good', () => {
		const { shown, factory, connection } = setup();
		factory.last.serverClose(4501, '');
		expect(shown.at(-1)).toBe(
			'error: The server closed the connection: The page origin is not allowed. (code 4501) Press Retry now to try again.'
		);
		connection.destroy();
	});

	it('sends a browser notification for failures when the tab is hidden', () => {
		const { notified, factory, connection } = setup({ hidden: true });
		const task = makeTask({ id: 'abc', name: 'Flaky', status: 'failed' });
		factory.last.event({
			type: 'task.failed',
			seq: 1,
			data: { task_id: 'abc', run_id: null, status: 'failed', error: null, duration_ms: 3, task }
		});
		expect(notified).toEqual(['Task "Flaky" failed']);
		connection.destroy();
	});

	it('stops and unsubscribes', () => {
		const { shown, factory, connection, stop } = setup();
		stop();
		expect(factory.last.sentOfType('unsubscribe')).toEqual([{ type: 'unsubscribe', sub: 'toasts' }]);
		factory.last.event({
			type: 'workflow.completed',
			seq: 1,
			data: { run_id: 'r1', workflow: 'demo', status: 'succeeded', duration_ms: 1, run: makeRun() }
		});
		expect(shown).toEqual([]);
		connection.destroy();
	});

	it('keeps the tasks that did not run because a task they need failed out of the toasts, counted in one entry per run', async () => {
		const { shown, notified, centre, factory, connection } = setup({ hidden: true });
		const root = makeTask({ id: 'root', name: 'Root', run_id: 'r1', status: 'failed' });
		root.started_at = root.created_at;
		factory.last.event({
			type: 'task.failed',
			seq: 1,
			data: { task_id: 'root', run_id: 'r1', status: 'failed', error: 'exit 2', duration_ms: 3, task: root }
		});
		['d1', 'd2', 'd3'].forEach((id, i) => {
			const error = "needs 'root', which failed";
			const task = makeTask({ id, name: id, run_id: 'r1', status: 'failed', started_at: null, error });
			factory.last.event({
				type: 'task.failed',
				seq: 2 + i,
				data: { task_id: id, run_id: 'r1', status: 'failed', error, duration_ms: null, task }
			});
		});
		expect(shown).toEqual(['error: Task "Root" failed (exit 2) -> /tasks/root']);
		await written();
		expect(centre.items.map((item) => item.title)).toEqual(['3 tasks did not run', 'Task "Root" failed']);
		expect(notified).toEqual(['Task "Root" failed']);
		connection.destroy();
	});

	it('counts each task that did not run once, in every tab and across a reload, never fewer than were counted', async () => {
		const { storage, stored, didNotRun } = sharedBrowser();

		const first = setup({ storage });
		for (const id of ['d1', 'd2', 'd3']) didNotRun(first, id);
		await written();
		expect(stored()).toEqual(['3 tasks did not run']);
		// a tab opened mid-run hears of the fourth only
		const second = setup({ storage });
		didNotRun(second, 'd4');
		await written();
		expect(stored()).toEqual(['4 tasks did not run']);
		// both tabs hear of the fourth and the fifth: each counted once
		didNotRun(first, 'd4');
		didNotRun(first, 'd5');
		didNotRun(second, 'd5');
		await written();
		expect(stored()).toEqual(['5 tasks did not run']);
		// the first tab reloaded
		first.connection.destroy();
		const reloaded = setup({ storage });
		didNotRun(reloaded, 'd6');
		await written();
		expect(stored()).toEqual(['6 tasks did not run']);
		await written();
		expect(reloaded.centre.items.map((item) => item.title)).toEqual(['6 tasks did not run']);
		second.connection.destroy();
		reloaded.connection.destroy();
	});

	it('counts a large run once when a second tab hears its tasks that did not run long after the first', async () => {
		const { storage, stored, didNotRun, writes } = sharedBrowser();
		const ids = Array.from({ length: 500 }, (_, i) => `task_${String(i).padStart(19, '0')}`);
		const first = setup({ storage });
		const second = setup({ storage });
		// a matrix blocked at once: the second tab (asleep, reconnecting) hears of it all after the first
		for (const id of ids) didNotRun(first, id);
		await written();
		// a matrix blocked at once is written once, not once per task (each write holds every id)
		expect(writes()).toBe(1);
		for (const id of ids) didNotRun(second, id);
		await written();
		expect(stored()).toEqual(['500 tasks did not run']);
		first.connection.destroy();
		second.connection.destroy();
	});

	it('keeps the number of an entry stored before counts were kept', async () => {
		const { storage, stored, didNotRun } = sharedBrowser();
		const old = {
			id: 'blocked:r1',
			kind: 'tasks.blocked',
			level: 'error',
			title: '5 tasks did not run',
			body: null,
			href: '/runs/r1',
			workflow: null,
			at: 1,
			read: false
		};
		storage.setItem(NOTIFICATIONS_KEY, JSON.stringify([old]));
		const tab = setup({ storage });
		didNotRun(tab, 'd6');
		await written();
		expect(stored()).toEqual(['5 tasks did not run']);
		tab.connection.destroy();
	});

	it('groups a burst of failures into one toast that counts them', () => {
		let clock = 1_000;
		const { shown, errorIds, centre, factory, connection } = setup({ now: () => clock });
		const fail = (id: string, runId: string, seq: number) => {
			const task = makeTask({ id, name: id, run_id: runId, status: 'failed', started_at: 'x' });
			factory.last.event({
				type: 'task.failed',
				seq,
				data: { task_id: id, run_id: runId, status: 'failed', error: 'boom', duration_ms: 1, task }
			});
		};
		for (let i = 1; i <= 5; i++) fail(`t${i}`, 'r1', i);
		expect(shown.at(-1)).toBe('error: 5 tasks failed (…, t3, t4, t5) -> /runs/r1');
		// one toast on screen: every update replaces it
		expect(new Set(errorIds).size).toBe(1);
		fail('t6', 'r2', 6);
		expect(shown.at(-1)).toBe('error: 6 tasks failed (…, t4, t5, t6) -> /runs');
		// a failure after a quiet while is a toast of its own
		clock += BURST_WINDOW_MS + 1;
		fail('t7', 'r2', 7);
		expect(shown.at(-1)).toBe('error: Task "t7" failed (boom) -> /tasks/t7');
		expect(new Set(errorIds).size).toBe(2);
		// each failure is in the notification centre
		expect(centre.items).toHaveLength(7);
		connection.destroy();
	});

	it('notifies the browser only for the events and workflows the preferences allow', () => {
		const prefs = new NotifyPrefs(null);
		prefs.set({ runSucceeded: false });
		prefs.setMuted('nightly', true);
		const { notified, factory, connection } = setup({ hidden: true, prefs });
		const ended = (seq: number, workflow: string, status: 'succeeded' | 'failed') =>
			factory.last.event(
				status === 'succeeded'
					? {
							type: 'workflow.completed',
							seq,
							data: {
								run_id: `r${seq}`,
								workflow,
								status,
								duration_ms: 1,
								run: makeRun({ id: `r${seq}`, workflow })
							}
						}
					: {
							type: 'workflow.failed',
							seq,
							data: {
								run_id: `r${seq}`,
								workflow,
								status,
								error: 'x',
								duration_ms: 1,
								run: makeRun({ id: `r${seq}`, workflow })
							}
						}
			);
		ended(1, 'demo', 'succeeded');
		ended(2, 'demo', 'failed');
		ended(3, 'nightly', 'failed');
		expect(notified).toEqual(['Workflow "demo" failed']);
		connection.destroy();
	});
});
