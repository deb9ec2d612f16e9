/**
 * @module realtime/pause-queue
 * What a paused page holds back: the live updates that arrived while the viewer paused (events
 * and the `system.stats` figures), in arrival order, and the reload the connection asked for
 * meanwhile. Resuming hands them back in order so the page applies them as if live, then the
 * reload. Bounded: past the limit it stops holding and the page reloads on resume instead
 * (a `dropped` resync), so a page paused for a day costs no more memory than one paused for a
 * minute. A `tool.lines` event counts as its lines, as they came one event each before protocol 3:
 * the limit bounds lines held, and the count says how many lines and other updates arrived.
 */
import type { AnyControlMessage, AnyEventEnvelope } from '../protocol/messages';
import type { ResyncReason } from './connection-types';

/** Updates held while paused before the page gives up holding and reloads on resume. */
export const DEFAULT_PAUSE_LIMIT = 10_000;

/** What an update counts as: a `tool.lines` event its lines, anything else one. */
function weight(update: HeldUpdate): number {
	return update.kind === 'event' && update.event.type === 'tool.lines' ? update.event.data.lines.length : 1;
}

export type HeldUpdate =
	{ kind: 'event'; event: AnyEventEnvelope } | { kind: 'control'; message: AnyControlMessage };

export interface DeferredResync {
	reason: ResyncReason;
	missed: number | null;
}

/** What resuming applies: the held updates in order, then at most one reload. */
export interface Resumed {
	updates: HeldUpdate[];
	resync: DeferredResync | null;
}

// a reset reload also tells the viewer what was missed, so it wins over the others
const WEIGHT: Record<ResyncReason, number> = { subscribed: 0, dropped: 1, reconnect: 2, reset: 3 };

export class PauseQueue {
	readonly #limit: number;
	#paused = false;
	#held: HeldUpdate[] = [];
	/** what the held updates count as (see weight) */
	#heldWeight = 0;
	#count = 0;
	#overflowed = false;
	#resync: DeferredResync | null = null;

	constructor(limit = DEFAULT_PAUSE_LIMIT) {
		this.#limit = limit;
	}

	get paused(): boolean {
		return this.#paused;
	}
	/** updates that arrived since the pause, a line each (also those no longer held after an overflow) */
	get count(): number {
		return this.#count;
	}
	/** more arrived than the limit: resuming reloads instead of applying them */
	get overflowed(): boolean {
		return this.#overflowed;
	}

	pause(): void {
		this.#paused = true;
	}

	/** Keeps `update` back while paused; returns whether it did. */
	hold(update: HeldUpdate): boolean {
		if (!this.#paused) return false;
		const counts = weight(update);
		this.#count += counts;
		if (this.#overflowed) return true;
		if (this.#heldWeight + counts > this.#limit) {
			this.#overflowed = true;
			this.#held = [];
			this.#heldWeight = 0;
			this.deferResync('dropped', null);
			return true;
		}
		this.#held.push(update);
		this.#heldWeight += counts;
		return true;
	}

	/** Keeps a reload back while paused (the strongest reason wins); returns whether it did. */
	deferResync(reason: ResyncReason, missed: number | null): boolean {
		if (!this.#paused) return false;
		const current = this.#resync;
		if (!current || WEIGHT[reason] > WEIGHT[current.reason]) this.#resync = { reason, missed };
		else if (reason === 'reset' && current.reason === 'reset' && missed !== null) {
			current.missed = (current.missed ?? 0) + missed;
		}
		return true;
	}

	/** Ends the pause: what was held, in arrival order, and the reload to do after it. */
	resume(): Resumed {
		const resumed = { updates: this.#held, resync: this.#resync };
		this.#paused = false;
		this.#held = [];
		this.#heldWeight = 0;
		this.#count = 0;
		this.#overflowed = false;
		this.#resync = null;
		return resumed;
	}
}
