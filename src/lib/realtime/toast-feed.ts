/**
 * @module realtime/toast-feed
 * Turns events into toasts, notification-centre entries and background (browser) notifications,
 * kept quiet on purpose: failures and finished workflows are what people need to hear about; a
 * task succeeding inside a workflow is not (the workflow's own toast covers it). Failures that
 * come in a burst share one toast ("5 tasks failed"), and the dependants a failure stopped are
 * one centre entry per run, not a toast each. Failure toasts stay until dismissed; successes go
 * quickly. Also tells of the connection being lost and restored (but not of the very first
 * connect), and once per `reset` that events were missed and the page reloaded them — not after
 * a clean resume, whose replay lost nothing.
 */
import toast, { type Renderable } from 'svelte-french-toast';
import type { ResolvedPathname } from '$app/types';
import type { AnyEventEnvelope, Task } from '$lib/protocol';
import ToastLink from '$lib/components/ToastLink.svelte';
import { runHref, runsHref, taskHref } from '$lib/components/paths';
import {
	countedOnce,
	type NotificationCentre,
	type NotificationKind
} from '$lib/notifications/notification-centre.svelte';
import { closeExplanation } from './close-policy';
import { LIST_MAX_RATE } from './connection-types';
import type { ConnectionState, RealtimeConnection, ResyncInfo } from './connection.svelte';
import type { NotifyOptions } from './notifications.svelte';

export const TOAST_SUBSCRIPTION = 'toasts';
/** Remembered event keys, so a replayed event does not toast twice. */
const SEEN_LIMIT = 500;
const CONNECTION_TOAST_ID = 'connection';
/** its own id: it follows "Connection restored" rather than replacing it */
const RESYNC_TOAST_ID = 'resync';
/** failures this close to the previous one join its toast */
export const BURST_WINDOW_MS = 5_000;
/** how long a success stays; failures stay until dismissed */
export const SUCCESS_TOAST_MS = 3_000;
/** run ids whose workflow name is remembered */
const RUN_NAMES_LIMIT = 500;
/** runs whose tasks that did not run this tab remembers (each run's all, for countedOnce) */
const BLOCKED_RUNS_LIMIT = 200;

/**
 * The toast after a `reset` whose reload finished. Without a count (or with 0: after a restart
 * the hub counts only the new epoch's events, and the old one's tail is unknown) it says so.
 */
export function missedUpdatesText(missed: number | null): string {
	if (!missed) return 'Missed updates while disconnected — reloaded';
	return `Missed ${missed} update${missed === 1 ? '' : 's'} while disconnected — reloaded`;
}

export interface LinkToast {
	level: 'error' | 'success';
	text: string;
	detail?: string | null;
	href: ResolvedPathname;
	linkText: string;
	/** a toast with the same id replaces the one on screen */
	id?: string;
	/** ms; Infinity stays until dismissed */
	duration: number;
}

/** The toast calls the feed makes; svelte-french-toast by default. */
export interface Toaster {
	success(message: string, options?: { id?: string; duration?: number }): void;
	error(message: string, options?: { id?: string; duration?: number }): void;
	blank(message: string, options?: { id?: string; duration?: number }): void;
	/** a toast with a link and a Dismiss button */
	link(toast: LinkToast): void;
}

export interface Notifier {
	notify(title: string, options?: NotifyOptions): boolean;
}

/** Decides which events raise a browser notification (see notify-prefs). */
export interface NotifyFilter {
	wants(kind: NotificationKind, workflow: string | null): boolean;
}

export interface ToastFeedOptions {
	toaster?: Toaster;
	notifier?: Notifier;
	notifyFilter?: NotifyFilter;
	centre?: Pick<NotificationCentre, 'add' | 'has' | 'update'>;
	/** the workflow of a run this feed has not heard of yet (REST), for per-workflow preferences */
	lookupWorkflow?: (runId: string) => Promise<string | null>;
	/** opens a task or run page when a browser notification is clicked */
	open?: (href: string) => void;
	/** which succeeded tasks get a (short) toast: stand-alone ones (default), all, or none */
	taskSucceeded?: 'standalone' | 'all' | 'none';
	now?: () => number;
}

export const frenchToaster: Toaster = {
	success: (message, options) => void toast.success(message, options),
	error: (message, options) => void toast.error(message, options),
	blank: (message, options) => void toast(message, options),
	link: ({ level, text, detail, href, linkText, id, duration }) => {
		const component = ToastLink as unknown as Renderable<Record<string, unknown>>;
		const options = { id, duration, props: { text, detail, href, linkText } };
		if (level === 'error') toast.error(component, options);
		else toast.success(component, options);
	}
};

interface Burst {
	id: string;
	count: number;
	names: string[];
	runs: Set<string | null>;
	last: number;
	firstTask: Task;
	firstError: string | null;
}

/** Starts the feed; returns the function that stops it. */
export function startToastFeed(connection: RealtimeConnection, options: ToastFeedOptions = {}): () => void {
	const toaster = options.toaster ?? frenchToaster;
	const { notifier, notifyFilter, centre, lookupWorkflow } = options;
	const taskSucceeded = options.taskSucceeded ?? 'standalone';
	const now = options.now ?? Date.now;
	const seen = new Set<string>();
	const workflowOfRun = new Map<string, string>();
	/** per run, every task this tab heard did not run: what it knows for sure past the stored ids */
	const blockedHere = new Map<string, Set<string>>();
	/** tasks that did not run heard since the centre was last written, per run (see writeBlocked) */
	const pendingBlocked = new Map<string, { ids: string[]; workflow: string | null; error: string | null }>();
	let blockedFlushDue = false;
	let burst: Burst | null = null;
	let bursts = 0;
	let wasConnected = false;
	let stopped = false;

	function once(key: string): boolean {
		if (seen.has(key)) return false;
		seen.add(key);
		if (seen.size > SEEN_LIMIT) seen.delete(seen.values().next().value as string);
		return true;
	}

	function remember(runId: string, workflow: string): void {
		workflowOfRun.delete(runId);
		workflowOfRun.set(runId, workflow);
		if (workflowOfRun.size > RUN_NAMES_LIMIT)
			workflowOfRun.delete(workflowOfRun.keys().next().value as string);
	}

	/** calls `then` with the task's workflow (null: stand-alone), at once when it is known */
	function withWorkflow(task: Task, then: (workflow: string | null) => void): void {
		if (!task.run_id) return then(null);
		const known = workflowOfRun.get(task.run_id);
		if (known !== undefined || !lookupWorkflow) return then(known ?? null);
		const runId = task.run_id;
		lookupWorkflow(runId)
			.catch(() => null)
			.then((workflow) => {
				if (stopped) return;
				if (workflow) remember(runId, workflow);
				then(workflow);
			});
	}

	function notify(kind: NotificationKind, workflow: string | null, title: string, rest: NotifyOptions): void {
		if (!notifier || (notifyFilter && !notifyFilter.wants(kind, workflow))) return;
		notifier.notify(title, {
			...rest,
			onclick: rest.url && options.open ? () => options.open!(rest.url!) : undefined
		});
	}

	function onEvent(event: AnyEventEnvelope): void {
		switch (event.type) {
			case 'workflow.progress':
				remember(event.data.run_id, event.data.workflow);
				return;
			case 'task.failed': {
				const { task, error } = event.data;
				if (!once(`task.failed:${task.id}`)) return;
				withWorkflow(task, (workflow) => {
					if (task.run_id !== null && task.started_at === null)
						blocked(task.run_id, task.id, workflow, error);
					else failed(task, error, workflow);
				});
				return;
			}
			case 'task.completed': {
				const { task } = event.data;
				if (taskSucceeded === 'none' || (taskSucceeded === 'standalone' && task.run_id !== null)) return;
				if (!once(`task.completed:${task.id}`)) return;
				const title = `Task "${task.name}" succeeded`;
				centre?.add({
					id: `task.succeeded:${task.id}`,
					kind: 'task.succeeded',
					level: 'success',
					title,
					body: null,
					href: taskHref(task.id),
					workflow: null
				});
				toaster.link({
					level: 'success',
					text: title,
					href: taskHref(task.id),
					linkText: 'Open task',
					duration: SUCCESS_TOAST_MS
				});
				return;
			}
			case 'workflow.completed': {
				const { run } = event.data;
				remember(run.id, run.workflow);
				if (!once(`workflow.completed:${run.id}`)) return;
				const title = `Workflow "${run.workflow}" succeeded`;
				const href = runHref(run.id);
				centre?.add({
					id: `run:${run.id}`,
					kind: 'run.succeeded',
					level: 'success',
					title,
					body: null,
					href,
					workflow: run.workflow
				});
				toaster.link({
					level: 'success',
					text: title,
					href,
					linkText: 'Open run',
					duration: SUCCESS_TOAST_MS
				});
				notify('run.succeeded', run.workflow, title, { tag: run.id, url: href });
				return;
			}
			case 'workflow.failed': {
				const { run, error, status } = event.data;
				remember(run.id, run.workflow);
				if (!once(`workflow.failed:${run.id}`)) return;
				const title = `Workflow "${run.workflow}" ${status === 'failed' ? 'failed' : `was ${status}`}`;
				const href = runHref(run.id);
				centre?.add({
					id: `run:${run.id}`,
					kind: 'run.failed',
					level: 'error',
					title,
					body: error,
					href,
					workflow: run.workflow
				});
				if (status === 'cancelled') toaster.blank(title, { id: `run:${run.id}`, duration: 5000 });
				else
					toaster.link({
						level: 'error',
						text: title,
						detail: error,
						href,
						linkText: 'Open run',
						id: `run:${run.id}`,
						duration: Infinity
					});
				notify('run.failed', run.workflow, title, { body: error ?? undefined, tag: run.id, url: href });
				return;
			}
		}
	}

	/** A task failed by itself: its toast, or the burst's toast counted up. */
	function failed(task: Task, error: string | null, workflow: string | null): void {
		const title = `Task "${task.name}" failed`;
		const href = taskHref(task.id);
		centre?.add({
			id: `task.failed:${task.id}`,
			kind: 'task.failed',
			level: 'error',
			title,
			body: error,
			href,
			workflow
		});
		notify('task.failed', workflow, title, { body: error ?? undefined, tag: task.id, url: href });

		const at = now();
		if (!burst || at - burst.last > BURST_WINDOW_MS) {
			burst = {
				id: `failures:${++bursts}`,
				count: 0,
				names: [],
				runs: new Set(),
				last: at,
				firstTask: task,
				firstError: error
			};
		}
		burst.count++;
		burst.last = at;
		burst.names.push(task.name);
		burst.runs.add(task.run_id);
		if (burst.count === 1) {
			toaster.link({
				level: 'error',
				text: title,
				detail: error,
				href,
				linkText: 'Open task',
				id: burst.id,
				duration: Infinity
			});
			return;
		}
		const [runId] = burst.runs;
		const oneRun = burst.runs.size === 1 && runId !== null;
		const shown = burst.names.slice(-3).join(', ');
		toaster.link({
			level: 'error',
			text: `${burst.count} tasks failed`,
			detail: burst.count > 3 ? `…, ${shown}` : shown,
			href: oneRun ? runHref(runId) : runsHref(),
			linkText: oneRun ? 'Open run' : 'Open runs',
			id: burst.id,
			duration: Infinity
		});
	}

	// A failure fails every task that needs it: one centre entry per run counts them (the failure
	// itself and the workflow have their own toasts), rather than a stack of toasts covering the page.
	// The count is the entry's, shared by every tab (and kept over a reload) through the centre's
	// storage: the tasks it holds are counted once, whichever tab saw them first; past the ids it
	// holds, a tab raises it only to the number it saw itself (countedOnce).
	function blocked(runId: string, taskId: string, workflow: string | null, error: string | null): void {
		let here = blockedHere.get(runId);
		if (!here) {
			here = new Set();
			blockedHere.set(runId, here);
			if (blockedHere.size > BLOCKED_RUNS_LIMIT)
				blockedHere.delete(blockedHere.keys().next().value as string);
		}
		here.add(taskId);
		const pending = pendingBlocked.get(runId);
		if (pending) pending.ids.push(taskId);
		else pendingBlocked.set(runId, { ids: [taskId], workflow, error });
		// a failure blocks a whole matrix at once: its tasks arrive by the hundred in one frame, and
		// the centre rewrites its stored list at each change, so they are written together
		if (!blockedFlushDue) {
			blockedFlushDue = true;
			queueMicrotask(writeBlocked);
		}
	}

	function writeBlocked(): void {
		blockedFlushDue = false;
		for (const [runId, { ids, workflow, error }] of pendingBlocked) {
			const seenHere = blockedHere.get(runId)?.size ?? ids.length;
			centre?.update(`blocked:${runId}`, (previous) => {
				const next = countedOnce(previous, ids, seenHere);
				if (!next) return null;
				return {
					id: `blocked:${runId}`,
					kind: 'tasks.blocked',
					level: 'error',
					title: next.count === 1 ? '1 task did not run' : `${next.count} tasks did not run`,
					body: error,
					href: runHref(runId),
					workflow,
					...next
				};
			});
		}
		pendingBlocked.clear();
	}

	function onState(state: ConnectionState, previous: ConnectionState): void {
		if (state === 'connected') {
			if (wasConnected) toaster.success('Connection restored', { id: CONNECTION_TOAST_ID, duration: 3000 });
			wasConnected = true;
			return;
		}
		if (previous !== 'connected' || connection.offlineReason === 'destroyed') return;
		if (state === 'offline' && connection.offlineReason === 'closed') {
			const close = connection.lastClose;
			toaster.error(
				`The server closed the connection${close ? `: ${closeExplanation(close)}` : '.'} Press Retry now to try again.`,
				{
					id: CONNECTION_TOAST_ID,
					duration: 10_000
				}
			);
		} else if (state === 'offline' && connection.offlineReason === 'network') {
			toaster.error('You are offline; aco reconnects when the network is back.', {
				id: CONNECTION_TOAST_ID,
				duration: 5000
			});
		} else {
			toaster.error('Connection lost; reconnecting…', { id: CONNECTION_TOAST_ID, duration: 5000 });
		}
	}

	function onResynced({ reason, missed }: ResyncInfo): void {
		if (reason !== 'reset') return;
		toaster.blank(missedUpdatesText(missed), { id: RESYNC_TOAST_ID, duration: 6000 });
	}

	// on every page: its workflow.progress (names of runs) must not undo a list's slower rate
	connection.subscribe(
		TOAST_SUBSCRIPTION,
		{ types: ['task.failed', 'task.completed', 'workflow.*'] },
		{ maxRate: LIST_MAX_RATE }
	);
	const offEvent = connection.onEvent(onEvent);
	const offState = connection.onStateChange(onState);
	const offResynced = connection.onResynced(onResynced);
	return () => {
		if (blockedFlushDue) writeBlocked();
		stopped = true;
		offEvent();
		offState();
		offResynced();
		connection.unsubscribe(TOAST_SUBSCRIPTION);
	};
}
