import { describe, expect, it } from 'vitest';
import { parseLogCommand, parseWorkflowCommand } from './workflow-commands';

describe('parseLogCommand', () => {
	it('reads groups and their end', () => {
		expect(parseLogCommand('::group::Install deps')).toEqual({ kind: 'group', name: 'Install deps' });
		expect(parseLogCommand('::endgroup::')).toEqual({ kind: 'endgroup' });
	});

	it('reads annotations with and without a file and line', () => {
		expect(parseLogCommand('::error::Boom')).toEqual({ kind: 'error', message: 'Boom' });
		expect(parseLogCommand('::warning file=src/a.ts,line=12,col=3::Deprecated')).toEqual({
			kind: 'warning',
			message: 'Deprecated',
			file: 'src/a.ts',
			line: 12
		});
		expect(parseLogCommand('::notice line=zero::n')).toEqual({ kind: 'notice', message: 'n' });
	});

	it('keeps a file line only when it is a whole number a 32-bit integer holds', () => {
		const line = (value: string) => parseLogCommand(`::error file=a.ts,line=${value}::e`);
		expect(line('2147483647')).toMatchObject({ line: 2147483647 });
		expect(line(' 7 ')).toMatchObject({ line: 7 });
		for (const bad of ['2147483648', '3000000000', '0', '-3', '1e3', '0x10', '2.5', ''])
			expect(line(bad)).toEqual({ kind: 'error', message: 'e', file: 'a.ts' });
	});

	it('drops NUL from what a command says, as a terminal does, but keeps it in a value to mask', () => {
		expect(parseLogCommand('::error file=a\u0000.ts::bad\u0000thing')).toEqual({
			kind: 'error',
			message: 'badthing',
			file: 'a.ts'
		});
		expect(parseLogCommand('::group::g\u0000x')).toEqual({ kind: 'group', name: 'gx' });
		expect(parseWorkflowCommand('::progress value=5\u0000::half\u0000way')).toEqual({
			kind: 'progress',
			value: 5,
			message: 'halfway'
		});
		expect(parseWorkflowCommand('::add-mask::se\u0000cret')).toEqual({
			kind: 'add-mask',
			value: 'se\u0000cret'
		});
	});

	it('ignores ordinary lines and commands that do not shape the log', () => {
		expect(parseLogCommand('a :: b')).toBeNull();
		expect(parseLogCommand('::progress value=3::x')).toBeNull();
		expect(parseLogCommand('::add-mask::secret')).toBeNull();
	});
});
