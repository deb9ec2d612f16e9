/**
 * @module cli/tui/keys
 * Raw terminal input to key names, and key names to dashboard actions. One read may carry
 * several keys (a held arrow key, a paste), so input is split into keys first.
 */

export type Key =
	'up' | 'down' | 'pageup' | 'pagedown' | 'home' | 'end' | 'enter' | 'escape' | 'ctrl-c' | { char: string };

export type Action =
	| { type: 'move'; delta: number }
	| { type: 'first' }
	| { type: 'last' }
	| { type: 'toggle-expand' }
	| { type: 'collapse' }
	| { type: 'cancel' }
	| { type: 'confirm'; yes: boolean }
	| { type: 'quit' };

const SEQUENCES: [string, Key][] = [
	['\x1b[A', 'up'],
	['\x1bOA', 'up'],
	['\x1b[B', 'down'],
	['\x1bOB', 'down'],
	['\x1b[5~', 'pageup'],
	['\x1b[6~', 'pagedown'],
	['\x1b[H', 'home'],
	['\x1b[1~', 'home'],
	['\x1b[F', 'end'],
	['\x1b[4~', 'end']
];

/** Splits one read of raw input into keys; unknown escape sequences are skipped whole. */
export function parseKeys(input: string): Key[] {
	const keys: Key[] = [];
	let i = 0;
	while (i < input.length) {
		const rest = input.slice(i);
		const seq = SEQUENCES.find(([s]) => rest.startsWith(s));
		if (seq) {
			keys.push(seq[1]);
			i += seq[0].length;
			continue;
		}
		const ch = input[i];
		if (ch === '\x1b') {
			// a lone ESC, or a sequence we do not use (CSI … final byte): skip it whole
			// eslint-disable-next-line no-control-regex -- terminal input is made of control sequences
			const csi = /^\x1b(\[[0-9;?]*[@-~]|O.)/.exec(rest);
			if (csi) i += csi[0].length;
			else {
				keys.push('escape');
				i += 1;
			}
			continue;
		}
		if (ch === '\r' || ch === '\n') keys.push('enter');
		else if (ch === '\x03') keys.push('ctrl-c');
		else keys.push({ char: ch });
		i += 1;
	}
	return keys;
}

/** What a key does; `confirming` while the cancel question waits for its answer. */
export function keyAction(key: Key, confirming: boolean, pageRows = 10): Action | null {
	if (key === 'ctrl-c') return { type: 'quit' };
	if (confirming)
		return { type: 'confirm', yes: typeof key === 'object' && (key.char === 'y' || key.char === 'Y') };
	if (typeof key === 'object') {
		switch (key.char) {
			case 'k':
				return { type: 'move', delta: -1 };
			case 'j':
				return { type: 'move', delta: 1 };
			case 'g':
				return { type: 'first' };
			case 'G':
				return { type: 'last' };
			case 'c':
				return { type: 'cancel' };
			case 'q':
				return { type: 'quit' };
			case 'o':
				return { type: 'toggle-expand' };
			default:
				return null;
		}
	}
	switch (key) {
		case 'up':
			return { type: 'move', delta: -1 };
		case 'down':
			return { type: 'move', delta: 1 };
		case 'pageup':
			return { type: 'move', delta: -pageRows };
		case 'pagedown':
			return { type: 'move', delta: pageRows };
		case 'home':
			return { type: 'first' };
		case 'end':
			return { type: 'last' };
		case 'enter':
			return { type: 'toggle-expand' };
		case 'escape':
			return { type: 'collapse' };
	}
}
