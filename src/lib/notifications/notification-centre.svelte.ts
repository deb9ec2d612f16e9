/**
 * @module notifications/notification-centre
 * The notification centre's list: what failed or finished, newest first, the last 200 kept in
 * the browser (localStorage) across reloads and shared with the other tabs of this browser
 * (the `storage` event), each with a link to its task or run and a read flag.
 */

export type NotificationLevel = 'error' | 'success' | 'info';

/** what happened; the preferences and the filter go by it */
export type NotificationKind =
	'task.failed' | 'task.succeeded' | 'tasks.blocked' | 'run.succeeded' | 'run.failed';

export interface AppNotification {
	/** one per happening (`task.failed:<id>`): the same event twice is one notification */
	id: string;
	kind: NotificationKind;
	level: NotificationLevel;
	title: string;
	body: string | null;
	/** the task or run it is about */
	href: string | null;
	workflow: string | null;
	/** ms since the epoch */
	at: number;
	read: boolean;
}

export const NOTIFICATIONS_KEY = 'aco.notifications';
export const MAX_NOTIFICATIONS = 200;

type StorageLike = Pick<Storage, 'getItem' | 'setItem'>;

export interface NotificationCentreOptions {
	storage?: StorageLike | null;
	limit?: number;
	now?: () => number;
}

function browserStorage(): StorageLike | null {
	try {
		return typeof localStorage === 'undefined' ? null : localStorage;
	} catch {
		return null;
	}
}

const KINDS = new Set<string>([
	'task.failed',
	'task.succeeded',
	'tasks.blocked',
	'run.succeeded',
	'run.failed'
]);

/** Stored entries, with anything malformed (an older format, a hand edit) left out. */
export function parseStored(raw: string | null | undefined, limit = MAX_NOTIFICATIONS): AppNotification[] {
	if (!raw) return [];
	try {
		const list: unknown = JSON.parse(raw);
		if (!Array.isArray(list)) return [];
		return list
			.filter(
				(item): item is AppNotification =>
					!!item &&
					typeof item === 'object' &&
					typeof item.id === 'string' &&
					KINDS.has(item.kind) &&
					typeof item.title === 'string' &&
					typeof item.at === 'number'
			)
			.slice(0, limit);
	} catch {
		return [];
	}
}

export class NotificationCentre {
	#items = $state.raw<AppNotification[]>([]);
	readonly #storage: StorageLike | null;
	readonly #limit: number;
	readonly #now: () => number;
	#offStorage: (() => void) | null = null;

	constructor(options: NotificationCentreOptions = {}) {
		this.#storage = options.storage === undefined ? browserStorage() : options.storage;
		this.#limit = options.limit ?? MAX_NOTIFICATIONS;
		this.#now = options.now ?? Date.now;
	}

	/** newest first */
	get items(): AppNotification[] {
		return this.#items;
	}

	get unread(): number {
		let count = 0;
		for (const item of this.#items) if (!item.read) count++;
		return count;
	}

	/** Reads what earlier visits kept and follows other tabs. Call from onMount. */
	start(): void {
		this.#items = parseStored(this.#read(), this.#limit);
		if (typeof window === 'undefined' || this.#offStorage) return;
		const onStorage = (event: StorageEvent) => {
			if (event.key === NOTIFICATIONS_KEY) this.#items = parseStored(event.newValue, this.#limit);
		};
		window.addEventListener('storage', onStorage);
		this.#offStorage = () => window.removeEventListener('storage', onStorage);
	}

	destroy(): void {
		this.#offStorage?.();
		this.#offStorage = null;
	}

	/**
	 * Adds a notification (unread, stamped now); one with the same id replaces the older one
	 * (a burst counted up) and moves to the top. Returns the stored entry.
	 */
	add(entry: Omit<AppNotification, 'at' | 'read'> & { at?: number }): AppNotification {
		const item: AppNotification = { ...entry, at: entry.at ?? this.#now(), read: false };
		this.#set([item, ...this.#items.filter((other) => other.id !== item.id)]);
		return item;
	}

	has(id: string): boolean {
		return this.#items.some((item) => item.id === id);
	}

	markRead(id: string): void {
		if (!this.#items.some((item) => item.id === id && !item.read)) return;
		this.#set(this.#items.map((item) => (item.id === id ? { ...item, read: true } : item)));
	}

	markAllRead(): void {
		if (this.unread === 0) return;
		this.#set(this.#items.map((item) => (item.read ? item : { ...item, read: true })));
	}

	clear(): void {
		this.#set([]);
	}

	#set(items: AppNotification[]): void {
		this.#items = items.slice(0, this.#limit);
		try {
			this.#storage?.setItem(NOTIFICATIONS_KEY, JSON.stringify(this.#items));
		} catch {
			// quota or privacy mode: kept for this visit only
		}
	}

	#read(): string | null {
		try {
			return this.#storage?.getItem(NOTIFICATIONS_KEY) ?? null;
		} catch {
			return null;
		}
	}
}
