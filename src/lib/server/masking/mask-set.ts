/**
 * @module masking/mask-set
 * The secrets one task's output is masked against: each value in all its spellings
 * ({@link maskForms}), replaced by `***` wherever it occurs. Matching is one RegExp alternation
 * of the escaped forms, longest first, built again only after a value was added; `npm run bench
 * -- masking` measured it against an Aho–Corasick library (see README, Security). Past
 * {@link REGEXP_MAX_SOURCE} characters of alternation V8 compiles it without optimizing, slowly,
 * and tries its alternatives one by one at every position (a workflow with 1,400 secret values
 * took 0.3–0.4 s to compile and 40–60 ms per 200 KiB): such a set is matched by a
 * {@link FormAutomaton} instead, which finds the same matches.
 *
 * A value announced once stays masked for the rest of the task, in every step, as in GitHub
 * Actions; values are kept in memory only, never stored.
 */
import { FormAutomaton, type FormMatch } from './form-automaton';
import { DEFAULT_MIN_MASK_LENGTH, maskForms } from './mask-forms';
import { escapeRegExp } from './secret-env';

export const MASK = '***';
/** values one task may announce; more would make every line slower to mask */
export const DEFAULT_MAX_MASK_VALUES = 1_000;
/**
 * the longest alternation matched by a RegExp; V8 stops optimizing a pattern at 20 KiB
 * (`kRegExpTooLargeToOptimize`), and a line then takes over ten times as long to mask
 */
export const REGEXP_MAX_SOURCE = 16 * 1024;

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
	#regex: RegExp | null = null;
	#automaton: FormAutomaton | null = null;
	/** length of the RegExp alternation of all forms */
	#source = 0;
	#longest = 0;
	/** first UTF-16 unit of every form: where a secret could begin */
	#starts = new Set<number>();

	constructor(values: Iterable<string> = [], options: MaskSetOptions = {}) {
		this.#options = { minLength: DEFAULT_MIN_MASK_LENGTH, maxValues: DEFAULT_MAX_MASK_VALUES, ...options };
		for (const value of values) this.add(value);
	}

	/** values masked so far */
	get size(): number {
		return this.#values.size;
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
			this.#starts.add(form.charCodeAt(0));
			this.#longest = Math.max(this.#longest, form.length);
			this.#source += escapeRegExp(form).length + 1;
			this.#regex = null;
			this.#automaton = null;
		}
		return true;
	}

	/** `text` with every masked value replaced by `***` */
	mask(text: string): string {
		if (this.#forms.size === 0 || text.length === 0) return text;
		if (this.#source > REGEXP_MAX_SOURCE) return this.#automatonOf().replace(text, MASK);
		return text.replace(this.#pattern(), MASK);
	}

	/**
	 * How much of `text` can be shown now when more may follow on the same line (a piece of an
	 * overlong line, a progress snapshot): everything before a tail that could be the beginning of
	 * a masked value, and before a masked value that reaches into that tail.
	 * @example new MaskSet(['hunter22']).safeEnd('pass=hun') // 5
	 */
	safeEnd(text: string): number {
		if (this.#forms.size === 0) return text.length;
		let cut = this.#openTail(text);
		for (const match of this.#matches(text)) {
			if (match.end <= cut) continue;
			if (match.start < cut) cut = match.start;
			break;
		}
		return cut;
	}

	/** where the longest tail of `text` begins that a longer form starts with; `text.length` if none */
	#openTail(text: string): number {
		if (this.#source > REGEXP_MAX_SOURCE) return this.#automatonOf().openTail(text, this.#longest);
		const from = Math.max(0, text.length - this.#longest + 1);
		for (let start = from; start < text.length; start++) {
			if (!this.#starts.has(text.charCodeAt(start))) continue;
			const tail = text.slice(start);
			for (const form of this.#forms) if (form.length > tail.length && form.startsWith(tail)) return start;
		}
		return text.length;
	}

	/** the matches `mask` replaces, in order */
	*#matches(text: string): Generator<FormMatch> {
		if (this.#source > REGEXP_MAX_SOURCE) {
			const automaton = this.#automatonOf();
			for (let match = automaton.next(text, 0); match; match = automaton.next(text, match.end)) yield match;
			return;
		}
		const pattern = this.#pattern();
		pattern.lastIndex = 0;
		for (let match = pattern.exec(text); match; match = pattern.exec(text)) {
			yield { start: match.index, end: match.index + match[0].length };
		}
	}

	#pattern(): RegExp {
		if (!this.#regex) {
			// longest first: at one position the whole value wins over a shorter value it starts with
			const forms = [...this.#forms].sort((a, b) => b.length - a.length);
			this.#regex = new RegExp(forms.map(escapeRegExp).join('|'), 'g');
		}
		return this.#regex;
	}

	#automatonOf(): FormAutomaton {
		this.#automaton ??= new FormAutomaton(this.#forms);
		return this.#automaton;
	}
}
