/**
 * @module realtime/notifications
 * Browser notifications for when the tab is in the background. Permission is asked only from a
 * user gesture ({@link BrowserNotifications.request} behind a button); without it nothing shows.
 */

export type NotificationState = NotificationPermission | 'unsupported';

export interface NotifyOptions {
	body?: string;
	/** opened when the notification is clicked */
	url?: string;
	/** a notification with the same tag replaces the previous one */
	tag?: string;
	/** called (after focusing the window) when the notification is clicked; else `url` is opened */
	onclick?: () => void;
}

export class BrowserNotifications {
	#permission = $state<NotificationState>('unsupported');

	/** Reads the current permission. Call from onMount, so the server render and hydration agree. */
	refresh(): void {
		if (typeof window !== 'undefined' && 'Notification' in window) this.#permission = Notification.permission;
	}

	get permission(): NotificationState {
		return this.#permission;
	}

	/** whether asking makes sense: supported and not yet answered */
	get canAsk(): boolean {
		return this.#permission === 'default';
	}

	get enabled(): boolean {
		return this.#permission === 'granted';
	}

	/** Call from a click handler: browsers ignore permission requests without a user gesture. */
	async request(): Promise<NotificationState> {
		if (this.#permission === 'unsupported') return this.#permission;
		this.#permission = await Notification.requestPermission();
		return this.#permission;
	}

	/** Shows a notification if permission was granted and the page is hidden; returns whether it did. */
	notify(title: string, options: NotifyOptions = {}): boolean {
		if (this.#permission !== 'granted' || typeof document === 'undefined' || !document.hidden) return false;
		try {
			const notification = new Notification(title, { body: options.body, tag: options.tag });
			notification.onclick = () => {
				window.focus();
				if (options.onclick) options.onclick();
				else if (options.url) window.location.assign(options.url);
				notification.close();
			};
			return true;
		} catch (err) {
			// some mobile browsers only allow notifications from a service worker
			console.error('aco: could not show a notification', err);
			return false;
		}
	}
}
