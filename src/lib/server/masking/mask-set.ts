/**
 * @module masking/mask-set
 * The secrets one task's output is masked against: each value in all its spellings
 * ({@link maskForms}), replaced by `***` wherever it occurs. Matching is one RegExp alternation
 * of the escaped forms, longest first, or past {@link REGEXP_MAX_SOURCE} characters of it an
 * Aho–Corasick automaton that finds the same matches (see form-matcher); `npm run bench --
 * masking` measured it against an Aho–Corasick library (see README, Security).
 *
 * Building the matcher costs time in proportion to every form in the set, so it is not built
 * again for every value added: values announced one by one (`::add-mask::` lines, up to the
 * 1,000 a task may announce) would make that quadratic, seconds of a blocked event loop. Forms
 * added since the last build get a small matcher of their own, both are searched, and the two
 * are merged once the new forms reach a quarter of the built ones (so the big matcher is built a
 * few dozen times as a set grows to its limit, not once per value), outgrow one RegExp, or have
 * stopped coming.
 *
 * A value announced once stays masked for the rest of the task, in every step, as in GitHub
 * Actions; values are kept in memory only, never stored.
 */
import type { FormMatch } from './form-automaton';
import { REGEXP_MAX_SOURCE, formMatcher, sourceLength, type FormMatcher } from './form-matcher';
import { DEFAULT_MIN_MASK_LENGTH, maskForms } from './mask-forms';

export { REGEXP_MAX_SOURCE };
export const MASK = '***';
/** values one task may announce; more would make every line slower to mask */
export const DEFAULT_MAX_MASK_VALUES = 1_000;
/** the forms added since the last build are merged into it when they reach this share of it */
const MERGE_SHARE = 1 / 4;
/** ... or once this many texts were masked with no value added meanwhile (the values stopped coming) */
const MERGE_WHEN_QUIET = 64;
/**
 * the added forms' own matcher is built again for every value added: a RegExp only while it
 * compiles in microseconds, an automaton past that
 */
const ADDED_REGEXP_MAX = 2 * 1024;

export interface MaskSetOptions {
	/** values shorter than this are not masked (see mask-forms) */
	minLength?: number;
	/** further values are refused (`add` returns false) */
	maxValues?: number;
}

/**
 * @example
 * const masks = new MaskSet(['hunter22']);
 * masks.mask('password=hunter22') // 'password=***'
 * masks.mask('aHVudGVyMjI=')      // '***I=' (its base64)
 */
export class MaskSet {
	#options: Required<MaskSetOptions>;
	#values = new Set<string>();
	#forms = new Set<string>();
	/** the matcher of every form added before the last build; null before the first */
	#built: FormMatcher | null = null;
	/** RegExp alternation length of the built forms */
	#builtSource = 0;
	/** forms added since the last build */
	#added: string[] = [];
	#addedSource = 0;
	#addedMatcher: FormMatcher | null = null;
	/** texts masked since a value was last added */
	#quiet = 0;
	#longest = 0;

	constructor(values: Iterable<string> = [], options: MaskSetOptions = {}) {
		this.#options = { minLength: DEFAULT_MIN_MASK_LENGTH, maxValues: DEFAULT_MAX_MASK_VALUES, ...options };
		for (const value of values) this.add(value);
	}

	/** values masked so far */
	get size(): number {
		return this.#values.size;
	}

	/**
	 * The values added after the first `count`, in the order they were added (a cluster's nodes
	 * share what a task announced: see ingest/task-masks).
	 */
	valuesSince(count: number): string[] {
		return count >= this.#values.size ? [] : [...this.#values].slice(count);
	}

	/** the longest text masked; a piece of output must hold back at most one less than this */
	get longest(): number {
		return this.#longest;
	}

	/**
	 * Masks `value` (and its spellings) from now on. False when it is refused: the set is full.
	 * A value too short to mask is accepted and ignored (true).
	 */
	add(value: string): boolean {
		if (this.#values.has(value)) return true;
		const forms = maskForms(value, this.#options.minLength);
		if (forms.length === 0) return true;
		if (this.#values.size >= this.#options.maxValues) return false;
		this.#values.add(value);
		for (const form of forms) {
			if (this.#forms.has(form)) continue;
			this.#forms.add(form);
			this.#added.push(form);
			this.#addedSource += sourceLength(form);
			this.#addedMatcher = null;
			this.#longest = Math.max(this.#longest, form.length);
		}
		this.#quiet = 0;
		return true;
	}

	/** `text` with every masked value replaced by `***` */
	mask(text: string): string {
		if (this.#forms.size === 0 || text.length === 0) return text;
		this.#settle();
		if (!this.#addedMatcher) return this.#built!.replace(text, MASK);
		let out = '';
		let shown = 0;
		for (let match = this.#next(text, 0); match; match = this.#next(text, match.end)) {
			out += text.slice(shown, match.start) + MASK;
			shown = match.end;
		}
		return shown === 0 ? text : out + text.slice(shown);
	}

	/**
	 * How much of `text` can be shown now when more may follow on the same line (a piece of an
	 * overlong line, a progress snapshot): everything before a tail that could be the beginning of
	 * a masked value, and before a masked value that reaches into that tail.
	 * @example new MaskSet(['hunter22']).safeEnd('pass=hun') // 5
	 */
	safeEnd(text: string): number {
		if (this.#forms.size === 0) return text.length;
		this.#settle();
		let cut = this.#built!.openTail(text, this.#longest);
		if (this.#addedMatcher) cut = Math.min(cut, this.#addedMatcher.openTail(text, this.#longest));
		for (let match = this.#next(text, 0); match; match = this.#next(text, match.end)) {
			if (match.end <= cut) continue;
			if (match.start < cut) cut = match.start;
			break;
		}
		return cut;
	}

	/** the first match at or after `from` among all forms: the leftmost, then the longest */
	#next(text: string, from: number): FormMatch | null {
		const built = this.#built!.next(text, from);
		const added = this.#addedMatcher?.next(text, from) ?? null;
		if (!built || !added) return built ?? added;
		if (built.start !== added.start) return built.start < added.start ? built : added;
		return built.end >= added.end ? built : added;
	}

	/** builds what masking needs now: the added forms merged into the built matcher, or a matcher of their own */
	#settle(): void {
		this.#quiet++;
		if (this.#added.length === 0) return;
		const merge =
			this.#built === null ||
			this.#addedSource >= this.#builtSource * MERGE_SHARE ||
			this.#addedSource > REGEXP_MAX_SOURCE ||
			this.#quiet > MERGE_WHEN_QUIET;
		if (!merge) {
			this.#addedMatcher ??= formMatcher(this.#added, this.#addedSource, ADDED_REGEXP_MAX);
			return;
		}
		this.#builtSource += this.#addedSource;
		this.#built = formMatcher([...this.#forms], this.#builtSource);
		this.#added = [];
		this.#addedSource = 0;
		this.#addedMatcher = null;
	}
}
