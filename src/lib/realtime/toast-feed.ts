/**
 * @module realtime/toast-feed
 * Turns events into toasts and background notifications, kept quiet on purpose: failures and
 * finished workflows are what people need to hear about; a task succeeding inside a workflow is
 * not (the workflow's own toast covers it), and the dependants a failure stopped share one toast
 * per run. Also tells of the connection being lost and restored (but not of the very first
 * connect), and once per `reset` that events were missed and the page reloaded them — not after
 * a clean resume, whose replay lost nothing.
 */
import toast, { type Renderable } from 'svelte-french-toast';
import type { ResolvedPathname } from '$app/types';
import type { AnyEventEnvelope } from '$lib/protocol';
import ToastLink from '$lib/components/ToastLink.svelte';
import { taskHref } from '$lib/components/paths';
import { closeExplanation } from './close-policy';
import type { ConnectionState, RealtimeConnection, ResyncInfo } from './connection.svelte';
import type { NotifyOptions } from './notifications.svelte';

export const TOAST_SUBSCRIPTION = 'toasts';
/** Remembered event keys, so a replayed event does not toast twice. */
const SEEN_LIMIT = 500;
const CONNECTION_TOAST_ID = 'connection';
/** its own id: it follows "Connection restored" rather than replacing it */
const RESYNC_TOAST_ID = 'resync';

/**
 * The toast after a `reset` whose reload finished. Without a count (or with 0: after a restart
 * the hub counts only the new epoch's events, and the old one's tail is unknown) it says so.
 */
export function missedUpdatesText(missed: number | null): string {
	if (!missed) return 'Missed updates while disconnected — reloaded';
	return `Missed ${missed} update${missed === 1 ? '' : 's'} while disconnected — reloaded`;
}

/** The toast calls the feed makes; svelte-french-toast by default. */
export interface Toaster {
	success(message: string, options?: { id?: string; duration?: number }): void;
	error(message: string, options?: { id?: string; duration?: number }): void;
	blank(message: string, options?: { id?: string; duration?: number }): void;
	/** an error toast with a link */
	errorLink(
		text: string,
		detail: string | null,
		href: ResolvedPathname,
		options?: { duration?: number }
	): void;
}

export interface Notifier {
	notify(title: string, options?: NotifyOptions): boolean;
}

export interface ToastFeedOptions {
	toaster?: Toaster;
	notifier?: Notifier;
	/** which succeeded tasks get a (short) toast: stand-alone ones (default), all, or none */
	taskSucceeded?: 'standalone' | 'all' | 'none';
}

export const frenchToaster: Toaster = {
	success: (message, options) => void toast.success(message, options),
	error: (message, options) => void toast.error(message, options),
	blank: (message, options) => void toast(message, options),
	errorLink: (text, detail, href, options) =>
		void toast.error(ToastLink as unknown as Renderable<Record<string, unknown>>, {
			...options,
			props: { text, detail, href }
		})
};

/** Starts the feed; returns the function that stops it. */
export function startToastFeed(connection: RealtimeConnection, options: ToastFeedOptions = {}): () => void {
	const toaster = options.toaster ?? frenchToaster;
	const notifier = options.notifier;
	const taskSucceeded = options.taskSucceeded ?? 'standalone';
	const seen = new Set<string>();
	/** per run, how many tasks failed without running because a task they need failed */
	const blockedByRun = new Map<string, number>();
	let wasConnected = false;

	function once(key: string): boolean {
		if (seen.has(key)) return false;
		seen.add(key);
		if (seen.size > SEEN_LIMIT) seen.delete(seen.values().next().value as string);
		return true;
	}

	function onEvent(event: AnyEventEnvelope): void {
		switch (event.type) {
			case 'task.failed': {
				const { task, error } = event.data;
				if (!once(`task.failed:${task.id}`)) return;
				if (task.run_id !== null && task.started_at === null) {
					blocked(task.run_id, task.name, error);
					return;
				}
				const title = `Task "${task.name}" failed`;
				toaster.errorLink(title, error, taskHref(task.id), { duration: 10_000 });
				notifier?.notify(title, { body: error ?? undefined, url: taskHref(task.id), tag: task.id });
				return;
			}
			case 'task.completed': {
				const { task } = event.data;
				if (taskSucceeded === 'none' || (taskSucceeded === 'standalone' && task.run_id !== null)) return;
				if (!once(`task.completed:${task.id}`)) return;
				toaster.success(`Task "${task.name}" succeeded`, { duration: 2500 });
				return;
			}
			case 'workflow.completed': {
				const { run } = event.data;
				if (!once(`workflow.completed:${run.id}`)) return;
				const title = `Workflow "${run.workflow}" succeeded`;
				toaster.success(title, { duration: 5000 });
				notifier?.notify(title, { tag: run.id });
				return;
			}
			case 'workflow.failed': {
				const { run, error, status } = event.data;
				if (!once(`workflow.failed:${run.id}`)) return;
				const title = `Workflow "${run.workflow}" ${status === 'failed' ? 'failed' : `was ${status}`}`;
				const text = error ? `${title}: ${error}` : title;
				if (status === 'cancelled') toaster.blank(text, { duration: 5000 });
				else toaster.error(text, { duration: 8000 });
				notifier?.notify(title, { body: error ?? undefined, tag: run.id });
				return;
			}
		}
	}

	// A failure fails every task that needs it: one toast per run that counts them (the failure
	// itself and the workflow have their own), rather than a stack of toasts covering the page.
	function blocked(runId: string, name: string, error: string | null): void {
		const count = (blockedByRun.get(runId) ?? 0) + 1;
		blockedByRun.delete(runId);
		blockedByRun.set(runId, count);
		if (blockedByRun.size > SEEN_LIMIT) blockedByRun.delete(blockedByRun.keys().next().value as string);
		const text =
			count === 1
				? `Task "${name}" did not run${error ? `: ${error}` : ''}`
				: `${count} tasks did not run because a task they need failed`;
		toaster.error(text, { id: `blocked:${runId}`, duration: 8000 });
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

	connection.subscribe(TOAST_SUBSCRIPTION, {
		types: ['task.failed', 'task.completed', 'workflow.completed', 'workflow.failed']
	});
	const offEvent = connection.onEvent(onEvent);
	const offState = connection.onStateChange(onState);
	const offResynced = connection.onResynced(onResynced);
	return () => {
		offEvent();
		offState();
		offResynced();
		connection.unsubscribe(TOAST_SUBSCRIPTION);
	};
}
