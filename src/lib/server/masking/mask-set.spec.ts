import { describe, expect, it } from 'vitest';
import { MaskSet } from './mask-set';

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
});
