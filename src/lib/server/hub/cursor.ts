/**
 * @module hub/cursor
 * A reader's place in history: it pulls the entries after `position` a page at a time, as the
 * writer asks for them (so a replay or a client behind the stream costs a page, not a copy of
 * what it is owed). A page may arrive later (a shared history read over the network): the
 * cursor then says `wait` and calls `onReady` when it has it. Moving the cursor forgets a page
 * still on its way.
 */
import type { HistoryEntry, HistoryPage, HistorySource } from './stream';

/** Entries asked of history per read. */
export const DEFAULT_PAGE_SIZE = 512;

/** `wait`: a read is on its way; `end`: history has nothing after the position yet; `gone`: it no longer holds it. */
export type CursorState = 'wait' | 'end' | 'gone';

export class HistoryCursor {
	#source: HistorySource;
	#pageSize: number;
	#onReady: () => void;
	/** every entry up to this seq has been taken */
	#position = 0;
	#page: HistoryPage = [];
	#at = 0;
	#reading = false;
	/** bumped by moveTo, so a read started before it is ignored when it lands */
	#generation = 0;
	/** progress keys and the index of their last entry in the page, built when first asked */
	#lastOfKey: Map<string, number> | null = null;

	constructor(source: HistorySource, onReady: () => void, pageSize = DEFAULT_PAGE_SIZE) {
		this.#source = source;
		this.#onReady = onReady;
		this.#pageSize = pageSize;
	}

	get position(): number {
		return this.#position;
	}

	/** the seq the next read starts after: the end of the page in hand, or the position */
	get readFrom(): number {
		const page = this.#page;
		return page && page.length > this.#at ? page[page.length - 1]!.seq : this.#position;
	}

	/** Starts over after `seq`, with `page` (the entries after it) when the caller already read it. */
	moveTo(seq: number, page: readonly HistoryEntry[] = []): void {
		this.#generation += 1;
		this.#reading = false;
		this.#position = seq;
		this.#setPage(page);
	}

	/** The next entry (without taking it), or why there is none now. */
	peek(): HistoryEntry | CursorState {
		const page = this.#page;
		if (page === null) return 'gone';
		if (this.#at < page.length) return page[this.#at]!;
		if (this.#reading) return 'wait';
		const result = this.#source.readAfter(this.#position, this.#pageSize);
		if (!isPromise(result)) {
			this.#setPage(result);
			return this.#afterRead();
		}
		this.#reading = true;
		const generation = this.#generation;
		result.then(
			(page) => this.#landed(generation, page),
			() => this.#landed(generation, null)
		);
		return 'wait';
	}

	/** Takes the entry `peek()` returned. */
	take(): void {
		const entry = this.#page![this.#at++]!;
		this.#position = entry.seq;
	}

	/** Whether a later entry of the page in hand carries the same coalescing key (it supersedes this one). */
	superseded(entry: HistoryEntry): boolean {
		if (entry.coalesceKey === null || !this.#page) return false;
		if (!this.#lastOfKey) {
			this.#lastOfKey = new Map();
			this.#page.forEach((e, i) => {
				if (e.coalesceKey !== null) this.#lastOfKey!.set(e.coalesceKey, i);
			});
		}
		// `entry` was taken: it sits at #at - 1, and any later index of its key supersedes it
		return (this.#lastOfKey.get(entry.coalesceKey) ?? -1) >= this.#at;
	}

	#afterRead(): HistoryEntry | CursorState {
		const page = this.#page;
		if (page === null) return 'gone';
		return page.length > 0 ? page[0]! : 'end';
	}

	#landed(generation: number, page: HistoryPage): void {
		if (generation !== this.#generation) return;
		this.#reading = false;
		this.#setPage(page);
		this.#onReady();
	}

	#setPage(page: HistoryPage): void {
		if (page && page.length > 0 && page[0]!.seq !== this.#position + 1) {
			// a history that skips would make the reader skip events silently: treat it as gone
			page = null;
		}
		this.#page = page;
		this.#at = 0;
		this.#lastOfKey = null;
	}
}

function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
	return typeof (value as { then?: unknown } | null)?.then === 'function';
}
