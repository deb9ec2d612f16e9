/**
 * @module logview/line-cache
 * The bounded window of log lines the browser holds: fixed-size pages keyed by position
 * (a line number, or the k-th line of one stream when filtered), created as lines arrive or
 * are fetched, and evicted farthest-from-the-viewport first once there are more than `maxPages`.
 * A million-line log thus costs the same memory as a thousand-line one.
 */
import type { LogLine } from './types';

export const DEFAULT_PAGE_SIZE = 500;
/** 40 pages of 500: 20,000 lines, a few MB, about 400 screens around the viewport */
export const DEFAULT_MAX_PAGES = 40;

export interface LineCacheOptions {
	pageSize?: number;
	maxPages?: number;
}

interface Page {
	lines: (LogLine | undefined)[];
	count: number;
}

export class LineCache {
	readonly pageSize: number;
	readonly maxPages: number;
	readonly #pages = new Map<number, Page>();
	/** the page the reader looks at; eviction keeps what is near it */
	#focus = 0;

	constructor(options: LineCacheOptions = {}) {
		const { pageSize, maxPages } = { pageSize: DEFAULT_PAGE_SIZE, maxPages: DEFAULT_MAX_PAGES, ...options };
		this.pageSize = pageSize;
		this.maxPages = Math.max(2, maxPages);
	}

	/** lines held */
	get size(): number {
		let n = 0;
		for (const page of this.#pages.values()) n += page.count;
		return n;
	}

	get pageCount(): number {
		return this.#pages.size;
	}

	pageOf(pos: number): number {
		return Math.floor((pos - 1) / this.pageSize);
	}

	get(pos: number): LogLine | undefined {
		return this.#pages.get(this.pageOf(pos))?.lines[(pos - 1) % this.pageSize];
	}

	has(pos: number): boolean {
		return this.get(pos) !== undefined;
	}

	set(pos: number, line: LogLine): void {
		if (pos < 1) return;
		const index = this.pageOf(pos);
		let page = this.#pages.get(index);
		if (!page) {
			page = { lines: new Array(this.pageSize), count: 0 };
			this.#pages.set(index, page);
			if (this.#pages.size > this.maxPages) this.#evict();
		}
		const slot = (pos - 1) % this.pageSize;
		if (page.lines[slot] === undefined) page.count++;
		page.lines[slot] = line;
	}

	/** Whether every position of page `index` up to `total` is held. */
	isComplete(index: number, total: number): boolean {
		const first = index * this.pageSize + 1;
		const want = Math.min(this.pageSize, total - first + 1);
		if (want <= 0) return true;
		const page = this.#pages.get(index);
		if (!page) return false;
		if (page.count >= want) {
			for (let i = 0; i < want; i++) if (page.lines[i] === undefined) return false;
			return true;
		}
		return false;
	}

	/** Pages that cover positions `from..to` (clamped to 1..total) and are not complete. */
	missingPages(from: number, to: number, total: number): number[] {
		const lo = Math.max(1, from);
		const hi = Math.min(total, to);
		const out: number[] = [];
		if (hi < lo) return out;
		for (let p = this.pageOf(lo); p <= this.pageOf(hi); p++) if (!this.isComplete(p, total)) out.push(p);
		return out;
	}

	/** Tells the cache where the reader is, so eviction keeps the pages around it. */
	focus(pos: number): void {
		this.#focus = this.pageOf(Math.max(1, pos));
		if (this.#pages.size > this.maxPages) this.#evict();
	}

	/** Forgets positions from `pos` on (for a refetch). */
	dropFrom(pos: number): void {
		const first = this.pageOf(Math.max(1, pos));
		for (const index of [...this.#pages.keys()]) {
			if (index > first) this.#pages.delete(index);
			else if (index === first) {
				const page = this.#pages.get(index)!;
				for (let slot = (Math.max(1, pos) - 1) % this.pageSize; slot < this.pageSize; slot++) {
					if (page.lines[slot] !== undefined) page.count--;
					page.lines[slot] = undefined;
				}
			}
		}
	}

	clear(): void {
		this.#pages.clear();
	}

	/** Positions 1..n held in full, in order (for copying a small log without a request). */
	prefix(n: number): LogLine[] | null {
		const out: LogLine[] = [];
		for (let pos = 1; pos <= n; pos++) {
			const line = this.get(pos);
			if (!line) return null;
			out.push(line);
		}
		return out;
	}

	#evict(): void {
		const far = [...this.#pages.keys()].sort(
			(a, b) => Math.abs(b - this.#focus) - Math.abs(a - this.#focus) || a - b
		);
		for (const index of far) {
			if (this.#pages.size <= this.maxPages) break;
			if (index === this.#focus) continue;
			this.#pages.delete(index);
		}
	}
}
