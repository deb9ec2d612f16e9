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
	/** what an entry that counts happenings (`tasks.blocked`) counted so far, never less */
	count?: number;
	/**
	 * the ids it counted (the newest MAX_COUNTED_IDS), so that another tab or a reload that sees
	 * one of them again does not count it twice
	 */
	counted?: string[];
}

export const NOTIFICATIONS_KEY = 'aco.notifications';
export const MAX_NOTIFICATIONS = 200;
/**
 * ids one counting entry remembers (a run's tasks that did not run: rarely more), so that 200
 * entries stay well within a browser's 5 MB of storage; tabs hear the same events within moments,
 * so an id another tab sees again is among the newest
 */
export const MAX_COUNTED_IDS = 200;

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
			.slice(0, limit)
			.map(withValidCount);
	} catch {
		return [];
	}
}

/** `item` without a count or counted ids it cannot use */
function withValidCount(item: AppNotification): AppNotification {
	const countOk = item.count === undefined || (Number.isSafeInteger(item.count) && item.count >= 0);
	const countedOk =
		item.counted === undefined ||
		(Array.isArray(item.counted) && item.counted.every((id) => typeof id === 'string'));
	if (countOk && countedOk && (item.counted?.length ?? 0) <= MAX_COUNTED_IDS) return item;
	const { count, counted, ...rest } = item;
	return {
		...rest,
		...(countOk ? { count } : {}),
		...(countedOk && counted ? { counted: counted.slice(-MAX_COUNTED_IDS) } : {})
	};
}

/**
 * `previous`'s count and ids with `id` counted once: an id it holds already changes nothing
 * (null), so two tabs that both see it, or a reload that sees it again, count it once.
 */
export function countedOnce(
	previous: Pick<AppNotification, 'count' | 'counted'> | undefined,
	id: string
): { count: number; counted: string[] } | null {
	const counted = previous?.counted ?? [];
	if (counted.includes(id)) return null;
	// an entry from before ids were kept: its count is all that is known
	const count = Math.max(previous?.count ?? 0, counted.length) + 1;
	return { count, counted: [...counted.slice(1 - MAX_COUNTED_IDS), id] };
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

	/**
	 * Changes the entry with this id from what is stored NOW (another tab may have written it since
	 * this one last heard): `next` gets it (undefined: none yet) and returns the new entry, added
	 * as {@link add} does, or null to leave everything as it is. Returns the stored entry, if any.
	 */
	update(
		id: string,
		next: (
			previous: AppNotification | undefined
		) => (Omit<AppNotification, 'at' | 'read'> & { at?: number }) | null
	): AppNotification | undefined {
		const stored = this.#read();
		if (stored !== null) this.#items = parseStored(stored, this.#limit);
		const previous = this.#items.find((item) => item.id === id);
		const entry = next(previous);
		return entry ? this.add({ ...entry, id }) : previous;
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
