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
	 * the ids it counted, space-separated (compact, and cheap to search and to store again with
	 * each change), so another tab or a reload that sees one again does not count it twice. All of
	 * them while there are as many as `count`; fewer (past MAX_COUNTED_IDS, dropped to keep the
	 * centre small, an entry from before ids were kept) and an id not among them may have been
	 * counted: see {@link countedOnce}
	 */
	counted?: string;
}

export const NOTIFICATIONS_KEY = 'aco.notifications';
export const MAX_NOTIFICATIONS = 200;
/**
 * ids one counting entry keeps (a run's tasks that did not run; a generated matrix can have
 * thousands): ~26 characters each, so 130 KB at most
 */
export const MAX_COUNTED_IDS = 5_000;
/**
 * characters of ids all entries keep together (~20,000 ids), so the centre stays well within a
 * browser's 5 MB of storage; past it the oldest entries drop theirs (their counts stay)
 */
export const MAX_COUNTED_CHARS = 500_000;

type StorageLike = Pick<Storage, 'getItem' | 'setItem'>;

export interface NotificationCentreOptions {
	storage?: StorageLike | null;
	limit?: number;
	now?: () => number;
	/** characters of counted ids all entries keep together (MAX_COUNTED_CHARS) */
	countedBudget?: number;
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
	const { count, counted, ...rest } = item;
	const valid: AppNotification = rest;
	if (Number.isSafeInteger(count) && count! >= 0) valid.count = count;
	// an entry from before counts were kept: its number is in its title
	else if (count === undefined && item.kind === 'tasks.blocked') {
		const number = /^(\d+) tasks? did not run$/.exec(item.title)?.[1];
		if (number !== undefined && Number.isSafeInteger(Number(number))) valid.count = Number(number);
	}
	if (valid.count === undefined) return valid;
	const raw: unknown = counted;
	const ids: unknown[] = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(' ') : [];
	// a list (stored by an earlier version) is joined; ids that would not read back are left out,
	// which only makes the entry count the careful way
	const usable = ids.filter((id): id is string => typeof id === 'string' && id !== '' && !id.includes(' '));
	if (usable.length > 0) valid.counted = usable.slice(-MAX_COUNTED_IDS).join(' ');
	return valid;
}

/** how many ids `counted` holds */
export function countedIds(counted: string | undefined): number {
	if (!counted) return 0;
	let ids = 1;
	for (let at = counted.indexOf(' '); at >= 0; at = counted.indexOf(' ', at + 1)) ids++;
	return ids;
}

/**
 * `previous`'s count with `ids` counted once each, or null when it changes nothing: two tabs that
 * both see an id, or a reload that sees it again, count it once.
 *
 * While the entry holds every id it counted, one it does not hold is new: counted, and kept (up
 * to `max`). Once it holds fewer, one it does not hold may be among those it lost, so the count
 * becomes what this tab knows for sure: the larger of the stored count and `seenHere` (the ids
 * this tab saw for the entry, `ids` among them, all of them, in memory). It neither counts a task
 * twice nor goes down; it can only fall behind when tabs saw different tasks past the bound.
 * One call takes a whole burst: the stored ids are split once, not once per id.
 */
export function countedOnce(
	previous: Pick<AppNotification, 'count' | 'counted'> | undefined,
	ids: string | readonly string[],
	seenHere = 1,
	max = MAX_COUNTED_IDS
): { count: number; counted?: string } | null {
	const before = previous?.count ?? 0;
	let count = before;
	// eslint-disable-next-line svelte/prefer-svelte-reactivity -- a lookup inside one call, never rendered
	const held = new Set(previous?.counted ? previous.counted.split(' ') : []);
	const added: string[] = [];
	for (const id of typeof ids === 'string' ? [ids] : ids) {
		if (held.has(id)) continue;
		if (held.size >= count) {
			// every id counted is held: this one is new
			count = held.size + 1;
			if (held.size < max && id !== '' && !id.includes(' ')) {
				held.add(id);
				added.push(id);
			}
		}
		// past what it holds it may have been counted: only what this tab saw itself is sure (below)
	}
	count = Math.max(count, seenHere);
	if (count === before && added.length === 0) return null;
	const counted =
		added.length === 0 ? previous?.counted : [previous?.counted, ...added].filter(Boolean).join(' ');
	return { count, counted };
}

/**
 * `items` with the counted ids of the oldest entries left out once all of them hold more than
 * `budget` characters (their counts stay): the newest entries, the ones still counting, keep theirs.
 */
export function withinCountedBudget(items: AppNotification[], budget = MAX_COUNTED_CHARS): AppNotification[] {
	let used = 0;
	return items.map((item) => {
		if (!item.counted) return item;
		used += item.counted.length;
		if (used <= budget) return item;
		const { counted: _dropped, ...rest } = item;
		return rest;
	});
}

export class NotificationCentre {
	#items = $state.raw<AppNotification[]>([]);
	readonly #storage: StorageLike | null;
	readonly #limit: number;
	readonly #now: () => number;
	readonly #countedBudget: number;
	/** the stored text #items was last read from or written as */
	#lastRaw: string | null = null;
	#offStorage: (() => void) | null = null;

	constructor(options: NotificationCentreOptions = {}) {
		this.#storage = options.storage === undefined ? browserStorage() : options.storage;
		this.#limit = options.limit ?? MAX_NOTIFICATIONS;
		this.#now = options.now ?? Date.now;
		this.#countedBudget = options.countedBudget ?? MAX_COUNTED_CHARS;
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
		this.#lastRaw = this.#read();
		this.#items = parseStored(this.#lastRaw, this.#limit);
		if (typeof window === 'undefined' || this.#offStorage) return;
		const onStorage = (event: StorageEvent) => {
			if (event.key !== NOTIFICATIONS_KEY) return;
			this.#items = parseStored(event.newValue, this.#limit);
			this.#lastRaw = event.newValue;
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
		// unchanged since this tab last wrote or read it (most calls in a burst): nothing to parse
		if (stored !== null && stored !== this.#lastRaw) {
			this.#items = parseStored(stored, this.#limit);
			this.#lastRaw = stored;
		}
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
		this.#items = withinCountedBudget(items.slice(0, this.#limit), this.#countedBudget);
		try {
			const raw = JSON.stringify(this.#items);
			this.#storage?.setItem(NOTIFICATIONS_KEY, raw);
			this.#lastRaw = raw;
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
