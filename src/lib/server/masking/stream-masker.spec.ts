import { describe, expect, it } from 'vitest';
import { parseWorkflowCommand } from '../../log/workflow-commands';
import { MaskSet } from './mask-set';
import { StreamMasker, type MaskedPiece } from './stream-masker';

const SECRET = 'correct-horse-battery';

/** feeds pieces (text, partial) and returns what comes out, flushed at the end */
function run(masks: MaskSet, pieces: [string, boolean][]): MaskedPiece[] {
	const masker = new StreamMasker(masks);
	const out: MaskedPiece[] = [];
	for (const [text, partial] of pieces) {
		const piece = masker.push(text, partial);
		if (piece) out.push(piece);
	}
	const rest = masker.flush();
	if (rest) out.push(rest);
	return out;
}

/** what a download shows: a newline after every piece that is not partial */
function joined(pieces: MaskedPiece[]): string {
	return pieces.map((p) => p.text + (p.partial ? '' : '\n')).join('');
}

describe('StreamMasker', () => {
	it('masks a secret split across the pieces of an overlong line, at every split point', () => {
		const line = `token=${SECRET};rest`;
		for (let cut = 1; cut < line.length; cut++) {
			const out = run(new MaskSet([SECRET]), [
				[line.slice(0, cut), true],
				[line.slice(cut), false]
			]);
			expect(joined(out), `cut at ${cut}`).toBe('token=***;rest\n');
			for (const piece of out) expect(piece.text).not.toContain(SECRET.slice(0, 8));
		}
	});

	it('masks a secret spread over many small progress snapshots', () => {
		const pieces: [string, boolean][] = [...`\r${SECRET}\r100%`].map((c) => [c, true]);
		const out = run(new MaskSet([SECRET]), [...pieces, ['', false]]);
		expect(joined(out)).toBe('\r***\r100%\n');
	});

	it('shows a harmless partial piece at once', () => {
		const masker = new StreamMasker(new MaskSet([SECRET]));
		expect(masker.push('\r 45% [=====     ]', true)).toEqual({ text: '\r 45% [=====     ]', partial: true });
	});

	it('flushes a held-back tail as the last line when the stream ends', () => {
		expect(run(new MaskSet([SECRET]), [['done: correct-h', true]])).toEqual([
			{ text: 'done: ', partial: true },
			{ text: 'correct-h', partial: false }
		]);
	});

	it('registers ::add-mask:: values before masking, so the command line hides its own value', () => {
		const masks = new MaskSet();
		const out = run(masks, [
			['before swordfish-42', false],
			['::add-mask::swordfish-42', false],
			['after swordfish-42', false]
		]);
		expect(joined(out)).toBe('before swordfish-42\n::add-mask::***\nafter ***\n');
		expect(masks.size).toBe(1);
	});

	it('undoes the command escapes in an ::add-mask:: value', () => {
		const masks = new MaskSet();
		const out = run(masks, [
			['::add-mask::50%25-off-secret', false],
			['price 50%-off-secret', false]
		]);
		expect(joined(out)).toBe('::add-mask::***\nprice ***\n');
	});

	it('never shows the value of an ::add-mask:: line that arrives in pieces', () => {
		const masks = new MaskSet();
		const out = run(masks, [
			['::add-m', true],
			['ask::piece', true],
			['wise-value', false],
			['piecewise-value again', false]
		]);
		expect(joined(out)).toBe('::add-mask::***\n*** again\n');
		for (const piece of out) expect(piece.text).not.toContain('piece');
	});

	it('masks the value of every ::add-mask form the command parser reads, params and all', () => {
		const lines = ['::add-mask ::hunter2222', '::add-mask x=1::s3cretvalue', '  ::ADD-MASK::upperval99'];
		for (const line of lines) expect(parseWorkflowCommand(line)?.kind, line).toBe('add-mask');
		const masks = new MaskSet();
		const out = run(masks, [
			...lines.map((line): [string, boolean] => [line, false]),
			['later hunter2222 s3cretvalue upperval99', false]
		]);
		expect(joined(out)).toBe('::add-mask ::***\n::add-mask x=1::***\n  ::ADD-MASK::***\nlater *** *** ***\n');
		expect(masks.size).toBe(3);
	});

	it('never shows the value of an ::add-mask line with params that arrives in pieces', () => {
		const out = run(new MaskSet(), [
			['::add-mask x', true],
			['=1:', true],
			[':piecewise', true],
			['-secret', false],
			['piecewise-secret again', false]
		]);
		expect(joined(out)).toBe('::add-mask x=1::***\n*** again\n');
		for (const piece of out) expect(piece.text).not.toContain('piece');
	});

	it('registers the escaped value of an ::add-mask line that arrives in pieces as a whole line would', () => {
		for (const cut of [
			'::add-mask::abc%'.length,
			'::add-mask::abc%25'.length,
			'::add-mask::abc%25def'.length
		]) {
			const line = '::add-mask::abc%25defgh';
			const out = run(new MaskSet(), [
				[line.slice(0, cut), true],
				[line.slice(cut), false],
				['value abc%defgh and abc%25defgh', false]
			]);
			expect(joined(out), `cut at ${cut}`).toBe('::add-mask::***\nvalue *** and ***\n');
		}
		// the stream ending inside the line registers it the same way
		const masks = new MaskSet();
		const masker = new StreamMasker(masks);
		masker.push('::add-mask::xyz%25', true);
		masker.push('uvwst', true);
		expect(masker.flush()).toBeNull();
		expect(masks.mask('xyz%uvwst and xyz%25uvwst')).toBe('*** and ***');
	});

	it('tells when an announced value was refused', () => {
		const refused: boolean[] = [];
		const masker = new StreamMasker(new MaskSet([], { maxValues: 1 }), (ok) => refused.push(ok));
		masker.push('::add-mask::first-value', false);
		masker.push('::add-mask::second-value', false);
		expect(refused).toContain(false);
		// refused, so not masked elsewhere; but never shown where it is announced
		expect(masker.push('::add-mask::second-value', false)?.text).toBe('::add-mask::***');
		expect(masker.push('uses second-value', false)?.text).toBe('uses second-value');
		expect(masker.push('::add-mask::abc', false)?.text).toBe('::add-mask::***');
		expect(masker.push('::add-mask::  ', false)?.text).toBe('::add-mask::  ');
	});

	it('masks a secret split across pieces at every split point, among a thousand other values', () => {
		const others = Array.from({ length: 999 }, (_, i) => `other-${i}-${(i * 7919).toString(36)}-value`);
		const masks = new MaskSet([...others, SECRET]);
		const line = `token=${SECRET};${others[500]} rest`;
		for (let cut = 1; cut < line.length; cut++) {
			const out = run(masks, [
				[line.slice(0, cut), true],
				[line.slice(cut), false]
			]);
			expect(joined(out), `cut at ${cut}`).toBe('token=***;*** rest\n');
			for (const piece of out) expect(piece.text).not.toContain(SECRET.slice(0, 8));
		}
	});
});
