/**
 * @module masking/form-matcher
 * Finds a set of texts (a mask set's forms) in output: one RegExp alternation of them, longest
 * first, while it is small enough for V8 to optimize; past {@link REGEXP_MAX_SOURCE} characters
 * of alternation a {@link FormAutomaton}, which finds the same matches. Either way the leftmost
 * match wins, and at that position the longest text.
 *
 * @example
 * const matcher = formMatcher(['hunter22', 'hunt']);
 * matcher.replace('hunter22 hunts', '***') // '*** ***s'
 */
import { FormAutomaton, type FormMatch } from './form-automaton';
import { escapeRegExp } from './secret-env';

/**
 * the longest alternation matched by a RegExp; V8 stops optimizing a pattern at 20 KiB
 * (`kRegExpTooLargeToOptimize`), and a line then takes over ten times as long to mask
 */
export const REGEXP_MAX_SOURCE = 16 * 1024;

export interface FormMatcher {
	/** `text` with every match (leftmost, then longest) replaced by `replacement` */
	replace(text: string, replacement: string): string;
	/** The first match at or after `from`: the leftmost, and the longest of those starting there. */
	next(text: string, from: number): FormMatch | null;
	/**
	 * Where the longest tail of `text` begins that some text to find is longer than and starts
	 * with (`text.length` when none); `longest` is at least the longest text's length.
	 */
	openTail(text: string, longest: number): number;
}

/** characters `text` adds to a RegExp alternation */
export function sourceLength(text: string): number {
	return escapeRegExp(text).length + 1;
}

/**
 * A matcher of `texts` (distinct, not empty); `source` is their {@link sourceLength} summed, when
 * known. A RegExp up to `regexpMax` characters of alternation: a longer one matches faster than the
 * automaton, until REGEXP_MAX_SOURCE, but takes longer to compile.
 */
export function formMatcher(
	texts: readonly string[],
	source?: number,
	regexpMax = REGEXP_MAX_SOURCE
): FormMatcher {
	const length = source ?? texts.reduce((sum, text) => sum + sourceLength(text), 0);
	return length > Math.min(regexpMax, REGEXP_MAX_SOURCE) ? new FormAutomaton(texts) : new FormRegex(texts);
}

class FormRegex implements FormMatcher {
	#texts: readonly string[];
	#pattern: RegExp;
	/** first UTF-16 unit of every text: where one could begin */
	#starts = new Set<number>();

	constructor(texts: readonly string[]) {
		// longest first: at one position the whole value wins over a shorter value it starts with
		this.#texts = [...texts].sort((a, b) => b.length - a.length);
		this.#pattern = new RegExp(this.#texts.map(escapeRegExp).join('|'), 'g');
		for (const text of texts) this.#starts.add(text.charCodeAt(0));
	}

	replace(text: string, replacement: string): string {
		return text.replace(this.#pattern, () => replacement);
	}

	next(text: string, from: number): FormMatch | null {
		const pattern = this.#pattern;
		pattern.lastIndex = from;
		const match = pattern.exec(text);
		return match ? { start: match.index, end: match.index + match[0].length } : null;
	}

	openTail(text: string, longest: number): number {
		for (let start = Math.max(0, text.length - longest + 1); start < text.length; start++) {
			if (!this.#starts.has(text.charCodeAt(start))) continue;
			const tail = text.slice(start);
			for (const form of this.#texts) if (form.length > tail.length && form.startsWith(tail)) return start;
		}
		return text.length;
	}
}
