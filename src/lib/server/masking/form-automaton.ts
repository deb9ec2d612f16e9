/**
 * @module masking/form-automaton
 * An Aho–Corasick automaton over UTF-16 code units, for mask sets too large for one RegExp
 * alternation (V8 compiles an alternation of thousands of texts for hundreds of milliseconds,
 * then tries its alternatives one by one at every position). It finds what that alternation
 * finds: the leftmost match, and at that position the longest text; the next search starts
 * where a match ends. Scanning costs the same per character whatever the number of texts.
 *
 * The trie is numbered breadth first with each node's children next to each other, sorted by
 * code unit, in typed arrays: built from the sorted texts without a map, a child is found by
 * binary search (the root's through a table of every code unit).
 *
 * @example
 * const automaton = new FormAutomaton(['hunter22', 'hunt']);
 * automaton.replace('hunter22 hunts', '***') // '*** ***s'
 */

export interface FormMatch {
	start: number;
	end: number;
}

const ROOT = 0;
const NONE = -1;
const ASCII = 128;

export class FormAutomaton {
	/** length of the text a node stands for */
	#depth: Int32Array;
	/** the node of the longest proper suffix of a node's text that is also in the trie */
	#fail: Int32Array;
	/** length of the longest text to find that ends a node's text; 0 when none does */
	#match: Int32Array;
	/** node n's children are the nodes #firstChild[n] up to (not including) #firstChild[n + 1] */
	#firstChild: Int32Array;
	/** the code unit leading to a node from its parent */
	#label: Uint16Array;
	/**
	 * the root's child for every ASCII code unit (ROOT when none); others are searched like any
	 * node's (a table of all 65,536 would cost a build more than a small set's whole trie)
	 */
	#rootAscii: Int32Array;

	/** `texts` must be distinct and not empty */
	constructor(texts: Iterable<string>) {
		// sorted, the texts under one node are a range, and a text equal to the node's text comes first
		const sorted = [...texts].sort();
		let size = 1;
		for (const text of sorted) size += text.length;
		const depth = new Int32Array(size);
		const parent = new Int32Array(size);
		const label = new Uint16Array(size);
		const firstChild = new Int32Array(size + 1);
		const from = new Int32Array(size);
		const to = new Int32Array(size);
		const isEnd = new Uint8Array(size);
		to[ROOT] = sorted.length;
		let count = 1;
		// nodes are made in the order they are visited, so the children of node n follow those of n - 1
		for (let node = 0; node < count; node++) {
			const d = depth[node]!;
			let lo = from[node]!;
			const hi = to[node]!;
			if (lo < hi && sorted[lo]!.length === d) {
				isEnd[node] = 1;
				lo += 1;
			}
			firstChild[node] = count;
			while (lo < hi) {
				const unit = sorted[lo]!.charCodeAt(d);
				let end = lo + 1;
				while (end < hi && sorted[end]!.charCodeAt(d) === unit) end += 1;
				depth[count] = d + 1;
				parent[count] = node;
				label[count] = unit;
				from[count] = lo;
				to[count] = end;
				count += 1;
				lo = end;
			}
		}
		firstChild[count] = count;
		this.#depth = depth.slice(0, count);
		this.#label = label.slice(0, count);
		this.#firstChild = firstChild.slice(0, count + 1);
		this.#rootAscii = new Int32Array(ASCII);
		for (let child = this.#firstChild[ROOT]!; child < this.#firstChild[ROOT + 1]!; child++) {
			if (label[child]! < ASCII) this.#rootAscii[label[child]!] = child;
		}
		const fail = new Int32Array(count);
		const match = new Int32Array(count);
		this.#fail = fail;
		// breadth first: a node's failure link points nearer the root, so it is already known
		for (let node = 1; node < count; node++) {
			const up = parent[node]!;
			fail[node] = up === ROOT ? ROOT : this.#step(fail[up]!, label[node]!);
			match[node] = isEnd[node] ? depth[node]! : match[fail[node]!]!;
		}
		this.#match = match;
	}

	/** `text` with every match (leftmost, then longest) replaced by `replacement` */
	replace(text: string, replacement: string): string {
		let out = '';
		let shown = 0;
		for (let match = this.next(text, 0); match; match = this.next(text, match.end)) {
			out += text.slice(shown, match.start) + replacement;
			shown = match.end;
		}
		return shown === 0 ? text : out + text.slice(shown);
	}

	/** The first match at or after `from`: the leftmost, and the longest of those starting there. */
	next(text: string, from: number): FormMatch | null {
		const depth = this.#depth;
		const matchLength = this.#match;
		let state = ROOT;
		let start = NONE;
		let end = NONE;
		for (let i = from; i < text.length; i++) {
			state = this.#step(state, text.charCodeAt(i));
			// no text being followed now started at or before the match: nothing can beat it
			if (start !== NONE && i + 1 - depth[state]! > start) break;
			const length = matchLength[state]!;
			if (length > 0 && (start === NONE || i + 1 - length <= start)) {
				start = i + 1 - length;
				end = i + 1;
			}
		}
		return start === NONE ? null : { start, end };
	}

	/**
	 * Where the longest tail of `text` begins that some text to find is longer than and starts
	 * with (`text.length` when none): the part of a match that may still be coming.
	 */
	openTail(text: string, longest: number): number {
		let state = ROOT;
		for (let i = Math.max(0, text.length - longest + 1); i < text.length; i++) {
			state = this.#step(state, text.charCodeAt(i));
		}
		// the failure links run through every tail that is in the trie, longest first
		while (state !== ROOT && this.#firstChild[state] === this.#firstChild[state + 1])
			state = this.#fail[state]!;
		return text.length - this.#depth[state]!;
	}

	#step(state: number, unit: number): number {
		const firstChild = this.#firstChild;
		const label = this.#label;
		for (;;) {
			if (state === ROOT && unit < ASCII) return this.#rootAscii[unit]!;
			let lo = firstChild[state]!;
			let hi = firstChild[state + 1]! - 1;
			while (lo <= hi) {
				const mid = (lo + hi) >>> 1;
				const at = label[mid]!;
				if (at === unit) return mid;
				if (at < unit) lo = mid + 1;
				else hi = mid - 1;
			}
			if (state === ROOT) return ROOT;
			state = this.#fail[state]!;
		}
	}
}
