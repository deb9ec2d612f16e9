/**
 * @module notifications/notify-prefs
 * Which events raise a browser notification while the tab is hidden: by kind (a watched task
 * failing, a run succeeding, a run failing) and per workflow (any can be muted). Stand-alone
 * tasks (`aco exec`, the ingest API) count as their own "workflow". Kept in localStorage.
 */
import type { NotificationKind } from './notification-centre.svelte';

export const PREFS_KEY = 'aco.notify.prefs';
/** the pseudo-workflow of stand-alone tasks */
export const STANDALONE = '(stand-alone tasks)';

export interface NotifyPrefsData {
	taskFailed: boolean;
	runSucceeded: boolean;
	runFailed: boolean;
	/** workflows that never notify */
	muted: string[];
}

export const DEFAULT_PREFS: NotifyPrefsData = {
	taskFailed: true,
	runSucceeded: true,
	runFailed: true,
	muted: []
};

type StorageLike = Pick<Storage, 'getItem' | 'setItem'>;

export function parsePrefs(raw: string | null | undefined): NotifyPrefsData {
	try {
		const value = raw ? (JSON.parse(raw) as Partial<NotifyPrefsData>) : {};
		return {
			taskFailed: typeof value.taskFailed === 'boolean' ? value.taskFailed : DEFAULT_PREFS.taskFailed,
			runSucceeded: typeof value.runSucceeded === 'boolean' ? value.runSucceeded : DEFAULT_PREFS.runSucceeded,
			runFailed: typeof value.runFailed === 'boolean' ? value.runFailed : DEFAULT_PREFS.runFailed,
			muted: Array.isArray(value.muted) ? value.muted.filter((w): w is string => typeof w === 'string') : []
		};
	} catch {
		return { ...DEFAULT_PREFS, muted: [] };
	}
}

export class NotifyPrefs {
	#data = $state.raw<NotifyPrefsData>({ ...DEFAULT_PREFS });
	readonly #storage: StorageLike | null;

	constructor(storage?: StorageLike | null) {
		if (storage !== undefined) this.#storage = storage;
		else {
			try {
				this.#storage = typeof localStorage === 'undefined' ? null : localStorage;
			} catch {
				this.#storage = null;
			}
		}
	}

	get data(): NotifyPrefsData {
		return this.#data;
	}

	/** Call from onMount (the server render has no storage). */
	load(): void {
		try {
			this.#data = parsePrefs(this.#storage?.getItem(PREFS_KEY));
		} catch {
			this.#data = { ...DEFAULT_PREFS };
		}
	}

	set(patch: Partial<Omit<NotifyPrefsData, 'muted'>>): void {
		this.#save({ ...this.#data, ...patch });
	}

	isMuted(workflow: string | null): boolean {
		return this.#data.muted.includes(workflow ?? STANDALONE);
	}

	setMuted(workflow: string | null, muted: boolean): void {
		const name = workflow ?? STANDALONE;
		const others = this.#data.muted.filter((w) => w !== name);
		this.#save({ ...this.#data, muted: muted ? [...others, name] : others });
	}

	/** Whether an event of `kind` in `workflow` (null: stand-alone) raises a browser notification. */
	wants(kind: NotificationKind, workflow: string | null): boolean {
		if (this.isMuted(workflow)) return false;
		if (kind === 'task.failed') return this.#data.taskFailed;
		if (kind === 'run.succeeded') return this.#data.runSucceeded;
		if (kind === 'run.failed') return this.#data.runFailed;
		return false;
	}

	#save(next: NotifyPrefsData): void {
		this.#data = next;
		try {
			this.#storage?.setItem(PREFS_KEY, JSON.stringify(next));
		} catch {
			// not remembered; applies for this visit
		}
	}
}
