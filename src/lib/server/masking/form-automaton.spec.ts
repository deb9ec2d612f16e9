import { describe, expect, it } from 'vitest';
import { FormAutomaton, type FormMatch } from './form-automaton';

/** the definition: from each position on, the first position where a text starts, its longest text there */
function referenceMatches(texts: readonly string[], text: string): FormMatch[] {
	const matches: FormMatch[] = [];
	for (let at = 0; at < text.length;) {
		const longest = Math.max(0, ...texts.filter((t) => text.startsWith(t, at)).map((t) => t.length));
		if (longest === 0) {
			at += 1;
			continue;
		}
		matches.push({ start: at, end: at + longest });
		at += longest;
	}
	return matches;
}

/** the definition: the first position whose tail some longer text starts with */
function referenceOpenTail(texts: readonly string[], text: string): number {
	for (let at = 0; at < text.length; at++) {
		const tail = text.slice(at);
		if (texts.some((t) => t.length > tail.length && t.startsWith(tail))) return at;
	}
	return text.length;
}

/** a seeded generator, so a failing case comes back on every run */
function random(seed: number): (below: number) => number {
	let state = seed;
	return (below) => {
		state = (Math.imul(state, 1103515245) + 12345) >>> 0;
		return (state >>> 8) % below;
	};
}

// few letters, so texts overlap, nest and share prefixes and suffixes; surrogate halves and é too
const LETTERS = ['a', 'b', 'c', 'é', '\ud83d', '\ude00', '+'];

function word(next: (below: number) => number, min: number, max: number): string {
	let out = '';
	for (let i = min + next(max - min + 1); i > 0; i--)
		out += LETTERS[next(3) === 0 ? next(LETTERS.length) : next(2)];
	return out;
}

function matchesOf(automaton: FormAutomaton, text: string): FormMatch[] {
	const matches: FormMatch[] = [];
	for (let match = automaton.next(text, 0); match; match = automaton.next(text, match.end))
		matches.push(match);
	return matches;
}

describe('FormAutomaton', () => {
	it('replaces the leftmost match, the longest there, and searches on after it', () => {
		const automaton = new FormAutomaton(['hunter22', 'hunt', 'ter22xyz', 'r2']);
		expect(automaton.replace('hunter22 hunts', '***')).toBe('*** ***s');
		// "hunter22" wins at 0 although "ter22xyz" would end later; "xyz" is then plain text
		expect(automaton.replace('hunter22xyz', '***')).toBe('***xyz');
		expect(automaton.replace('hunter2', '***')).toBe('***e***');
		expect(automaton.replace('hun hunter', '***')).toBe('hun ***er');
		expect(automaton.replace('', '***')).toBe('');
	});

	it('finds the same matches as the definition on random texts', () => {
		const next = random(7);
		for (let round = 0; round < 300; round++) {
			const texts = [...new Set(Array.from({ length: 1 + next(12) }, () => word(next, 1, 6)))];
			const automaton = new FormAutomaton(texts);
			for (let sample = 0; sample < 10; sample++) {
				const text = word(next, 0, 40);
				const label = JSON.stringify({ texts, text });
				expect(matchesOf(automaton, text), label).toEqual(referenceMatches(texts, text));
				expect(automaton.openTail(text, Math.max(...texts.map((t) => t.length))), label).toBe(
					referenceOpenTail(texts, text)
				);
			}
		}
	});

	it('finds a match from the position it is asked to start at', () => {
		const automaton = new FormAutomaton(['abc', 'bcd']);
		expect(automaton.next('abcd', 1)).toEqual({ start: 1, end: 4 });
		expect(automaton.next('abcd', 2)).toBeNull();
	});

	it('finds texts among thousands as the definition does', () => {
		const next = random(11);
		const texts = [...new Set(Array.from({ length: 3_000 }, () => word(next, 3, 12)))];
		const automaton = new FormAutomaton(texts);
		const text = Array.from({ length: 200 }, () =>
			next(4) === 0 ? texts[next(texts.length)] : word(next, 1, 8)
		).join(' ');
		expect(matchesOf(automaton, text)).toEqual(referenceMatches(texts, text));
	});
});
