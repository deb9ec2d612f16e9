import { describe, expect, it } from 'vitest';
import { markRanges } from './highlight';

describe('markRanges', () => {
	it('splits styled spans at match boundaries, keeping each piece its style', () => {
		const spans = [{ text: 'error: ', fg: 'red' }, { text: 'disk full' }];
		const pieces = markRanges(spans, [[5, 9]]);
		expect(pieces.map((p) => [p.text, p.match, p.span.fg ?? null])).toEqual([
			['error', -1, 'red'],
			[': ', 0, 'red'],
			['di', 0, null],
			['sk full', -1, null]
		]);
	});

	it('leaves a line without matches as it is', () => {
		expect(markRanges([{ text: 'abc' }], []).map((p) => p.text)).toEqual(['abc']);
	});

	it('marks several matches on one line', () => {
		const pieces = markRanges(
			[{ text: 'a-a-a' }],
			[
				[0, 1],
				[4, 5]
			]
		);
		expect(pieces.map((p) => [p.text, p.match])).toEqual([
			['a', 0],
			['-a-', -1],
			['a', 1]
		]);
	});
});
