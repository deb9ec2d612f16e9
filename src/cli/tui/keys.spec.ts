import { describe, expect, it } from 'vitest';
import { keyAction, parseKeys } from './keys';

describe('parseKeys', () => {
	it('splits one read into arrow keys, letters, Enter and Ctrl-C', () => {
		expect(parseKeys('\x1b[A\x1b[Bjk\r\x03')).toEqual([
			'up',
			'down',
			{ char: 'j' },
			{ char: 'k' },
			'enter',
			'ctrl-c'
		]);
	});

	it('reads application-mode arrows, a lone Escape, and skips sequences it does not use', () => {
		expect(parseKeys('\x1bOA')).toEqual(['up']);
		expect(parseKeys('\x1b')).toEqual(['escape']);
		expect(parseKeys('\x1b[1;5Cq')).toEqual([{ char: 'q' }]);
	});
});

describe('keyAction', () => {
	it('moves with arrows and j/k, expands with Enter, cancels with c and quits with q or Ctrl-C', () => {
		expect(keyAction('up', false)).toEqual({ type: 'move', delta: -1 });
		expect(keyAction({ char: 'j' }, false)).toEqual({ type: 'move', delta: 1 });
		expect(keyAction({ char: 'k' }, false)).toEqual({ type: 'move', delta: -1 });
		expect(keyAction('enter', false)).toEqual({ type: 'toggle-expand' });
		expect(keyAction('escape', false)).toEqual({ type: 'collapse' });
		expect(keyAction({ char: 'c' }, false)).toEqual({ type: 'cancel' });
		expect(keyAction({ char: 'q' }, false)).toEqual({ type: 'quit' });
		expect(keyAction('ctrl-c', false)).toEqual({ type: 'quit' });
		expect(keyAction({ char: 'z' }, false)).toBeNull();
	});

	it('answers the cancel question with y only; any other key says no, Ctrl-C still quits', () => {
		expect(keyAction({ char: 'y' }, true)).toEqual({ type: 'confirm', yes: true });
		expect(keyAction({ char: 'n' }, true)).toEqual({ type: 'confirm', yes: false });
		expect(keyAction({ char: 'q' }, true)).toEqual({ type: 'confirm', yes: false });
		expect(keyAction('enter', true)).toEqual({ type: 'confirm', yes: false });
		expect(keyAction('ctrl-c', true)).toEqual({ type: 'quit' });
	});
});
