/**
 * @module store/search-slots
 * How many regex searches run at once: a few per caller and a few in all. A regex may cost a
 * worker thread its whole time limit on every chunk, so a caller past its share is refused at
 * once (`too_many_searches`, 429) and everyone past the node's (`search_busy`, 503), both with a
 * time to retry after, instead of lining up behind one another without bound.
 *
 * @example
 * const slots = new SearchSlots({ perCaller: 2, total: 4 });
 * const slot = slots.take('token:ab12');
 * if (typeof slot === 'string') throw refusal(slot);
 * try { await search(); } finally { slot.release(); }
 */

export const DEFAULT_REGEX_SEARCHES_PER_CALLER = 2;
export const DEFAULT_REGEX_SEARCHES = 4;

export interface SearchSlotsOptions {
	/** default {@link DEFAULT_REGEX_SEARCHES_PER_CALLER} */
	perCaller?: number;
	/** default {@link DEFAULT_REGEX_SEARCHES} */
	total?: number;
}

export interface SearchSlot {
	/** idempotent */
	release(): void;
}

export class SearchSlots {
	readonly perCaller: number;
	readonly total: number;
	#byCaller = new Map<string, number>();
	#taken = 0;

	constructor(options: SearchSlotsOptions = {}) {
		this.perCaller = Math.max(1, options.perCaller ?? DEFAULT_REGEX_SEARCHES_PER_CALLER);
		this.total = Math.max(1, options.total ?? DEFAULT_REGEX_SEARCHES);
	}

	/** searches running now */
	get taken(): number {
		return this.#taken;
	}

	/** a slot, or which limit is reached: the caller's own or the node's */
	take(caller: string): SearchSlot | 'caller' | 'total' {
		const own = this.#byCaller.get(caller) ?? 0;
		if (own >= this.perCaller) return 'caller';
		if (this.#taken >= this.total) return 'total';
		this.#byCaller.set(caller, own + 1);
		this.#taken++;
		let released = false;
		return {
			release: () => {
				if (released) return;
				released = true;
				this.#taken--;
				const left = this.#byCaller.get(caller)! - 1;
				if (left === 0) this.#byCaller.delete(caller);
				else this.#byCaller.set(caller, left);
			}
		};
	}
}
