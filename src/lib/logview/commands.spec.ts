import { describe, expect, it } from 'vitest';
import { commandText, isHiddenCommand } from './commands';
import { mergeCommands } from './log-outline.svelte';

describe('workflow command lines in the view', () => {
	it('hides the commands that only act and words the annotations', () => {
		expect(isHiddenCommand('::progress value=45::Compiling')).toBe(true);
		expect(isHiddenCommand('::add-mask::***')).toBe(true);
		expect(isHiddenCommand('::endgroup::')).toBe(true);
		expect(isHiddenCommand('::group::Build')).toBe(false);
		expect(isHiddenCommand('::error::boom')).toBe(false);
		expect(isHiddenCommand('echo ::progress value=1::')).toBe(false);
		expect(commandText('::progress value=45::Compiling')).toBe('Progress 45% · Compiling');
		expect(commandText('::error file=a.ts,line=3::Boom')).toBe('Error: Boom (a.ts:3)');
		expect(commandText('::warning::careful')).toBe('Warning: careful');
		expect(commandText('::group::Build')).toBeNull();
		expect(commandText('plain')).toBeNull();
	});

	it('adds live command lines to the ranges the server listed', () => {
		const live = [
			{ start: 3, end: 4 },
			{ start: 6, end: 6 }
		];
		expect(mergeCommands([{ start: 2, end: 3 }], live)).toEqual([
			{ start: 2, end: 4 },
			{ start: 6, end: 6 }
		]);
		expect(mergeCommands([{ start: 5, end: 5 }], [{ start: 1, end: 1 }])).toEqual([
			{ start: 1, end: 1 },
			{ start: 5, end: 5 }
		]);
		expect(mergeCommands([], [])).toEqual([]);
	});
});
