import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { maskForms } from './mask-forms';
import { MASK, MaskSet, REGEXP_MAX_SOURCE } from './mask-set';
import { escapeRegExp } from './secret-env';

/** the definition: from each position on, the longest form starting at the first position where one does */
function referenceMask(forms: readonly string[], text: string): string {
	let out = '';
	for (let at = 0; at < text.length;) {
		const longest = Math.max(
			0,
			...forms.filter((form) => text.startsWith(form, at)).map((form) => form.length)
		);
		out += longest === 0 ? text[at] : MASK;
		at += Math.max(1, longest);
	}
	return out;
}

/** the definition: before a tail that a longer form starts with, and before a match reaching into it */
function referenceSafeEnd(forms: readonly string[], text: string): number {
	let cut = text.length;
	for (let at = 0; at < cut; at++) {
		const tail = text.slice(at);
		if (forms.some((form) => form.length > tail.length && form.startsWith(tail))) cut = at;
	}
	for (let at = 0; at < cut;) {
		const longest = Math.max(
			0,
			...forms.filter((form) => text.startsWith(form, at)).map((form) => form.length)
		);
		if (longest > 0 && at + longest > cut) return at;
		at += Math.max(1, longest);
	}
	return cut;
}

/** values of 8–64 characters, a third sharing a prefix with one before them, some with characters that JSON and URLs escape */
function tokens(count: number): string[] {
	const values: string[] = [];
	for (let i = 0; i < count; i++) {
		const length = 8 + ((i * 37) % 57);
		const fresh = randomBytes(length).toString(i % 3 ? 'base64' : 'hex');
		const value = i % 3 === 2 ? values[i - 1]!.slice(0, 6) + fresh : fresh;
		values.push((i % 10 === 5 ? `p@ss "wörd" ${value}` : value).slice(0, length));
	}
	return values;
}

describe('MaskSet', () => {
	it('masks every occurrence of every spelling', () => {
		const masks = new MaskSet(['hunter22', 'p@ss word!']);
		const b64 = Buffer.from('user:hunter22').toString('base64');
		expect(masks.mask('a hunter22 b hunter22')).toBe('a *** b ***');
		expect(masks.mask(`Authorization: Basic ${b64}`)).not.toContain(b64.slice(4, 14));
		expect(masks.mask('{"pw":"p@ss word!"} ?pw=p%40ss%20word!')).toBe('{"pw":"***"} ?pw=***');
	});

	it('prefers the longest value where two start at the same place', () => {
		const masks = new MaskSet(['abcd', 'abcdefgh']);
		expect(masks.mask('xabcdefghx')).toBe('x***x');
	});

	it('treats values as text, not as patterns', () => {
		const masks = new MaskSet(['a.b*c(d)']);
		expect(masks.mask('a.b*c(d) axbbbcd')).toBe('*** axbbbcd');
	});

	it('masks values added later, and refuses more than its limit', () => {
		const masks = new MaskSet([], { maxValues: 2 });
		expect(masks.mask('later-secret')).toBe('later-secret');
		expect(masks.add('later-secret')).toBe(true);
		expect(masks.add('second-one')).toBe(true);
		expect(masks.add('third-one')).toBe(false);
		expect(masks.mask('later-secret second-one third-one')).toBe('*** *** third-one');
		expect(masks.size).toBe(2);
	});

	it('leaves text alone and answers fast when it has nothing to mask', () => {
		const masks = new MaskSet(['abc']);
		expect(masks.size).toBe(0);
		expect(masks.mask('abc')).toBe('abc');
		expect(masks.safeEnd('xxab')).toBe(4);
	});

	it('holds back a tail that could begin a secret, and a secret reaching into it', () => {
		const masks = new MaskSet(['hunter22', 'ter22xyz']);
		expect(masks.safeEnd('pass=hun')).toBe(5);
		expect(masks.safeEnd('pass=hunter2')).toBe(5);
		expect(masks.safeEnd('pass=nothing')).toBe(12);
		// "hunter22" is whole, but "ter22" may still grow into the other value: cut before both
		expect(masks.safeEnd('pass=hunter22')).toBe(5);
	});

	it('masks a set past the RegExp limit exactly as the definition does', () => {
		const values = tokens(400);
		const forms = [...new Set(values.flatMap((value) => maskForms(value)))];
		expect(forms.reduce((sum, form) => sum + escapeRegExp(form).length + 1, 0)).toBeGreaterThan(
			REGEXP_MAX_SOURCE
		);
		const masks = new MaskSet(values);
		const lines = values.map((value, i) => {
			const form = forms[(i * 7) % forms.length]!;
			// a value, a form, part of a value and a value glued to the next one
			return `${i} ${value} b64=${form}; half=${value.slice(0, 5)} ${value}${values[(i + 1) % values.length]}`;
		});
		for (const line of lines) expect(masks.mask(line), line).toBe(referenceMask(forms, line));
		expect(masks.mask(lines.join('\n'))).toBe(referenceMask(forms, lines.join('\n')));
	});

	it('holds back what the definition holds back, in a set past the RegExp limit', () => {
		const values = tokens(400);
		const forms = [...new Set(values.flatMap((value) => maskForms(value)))];
		const masks = new MaskSet(values);
		for (const [i, value] of values.entries()) {
			if (i % 4 !== 0) continue;
			const line = `${i} token=${value} and ${forms[(i * 7) % forms.length]} end`;
			// pieces cut inside the value, inside the form, and past both
			for (const cut of [9, 12, 9 + value.length, line.length - 12, line.length - 2, line.length]) {
				const piece = line.slice(0, cut);
				expect(masks.safeEnd(piece), piece).toBe(referenceSafeEnd(forms, piece));
			}
		}
	});

	it('masks and holds back as the definition does while values are announced one by one between lines', () => {
		// the values added since the matcher was last built are searched by a second one: a match in
		// either, overlapping or sharing a start with one in the other, must come out as one set's
		const values = tokens(240);
		const masks = new MaskSet();
		const forms = new Set<string>();
		for (const [i, value] of values.entries()) {
			masks.add(value);
			for (const form of maskForms(value)) forms.add(form);
			const known = [...forms];
			const older = values[(i * 7) % (i + 1)]!;
			const line = `${i} ${value} x${older}${value.slice(0, 5)} ${known[(i * 13) % known.length]} ${older.slice(0, 6)}`;
			expect(masks.mask(line), line).toBe(referenceMask(known, line));
			for (const cut of [line.length - 3, line.length - 9]) {
				const piece = line.slice(0, cut);
				expect(masks.safeEnd(piece), piece).toBe(referenceSafeEnd(known, piece));
			}
		}
		// no more values: the last ones are merged in, and masked as before
		const known = [...forms];
		for (let i = 0; i < 100; i++) {
			const line = `${values[239 - i]} ${values[i]}${values[(i * 31) % 240]!.slice(0, 9)}`;
			expect(masks.mask(line), line).toBe(referenceMask(known, line));
		}
	});
});
