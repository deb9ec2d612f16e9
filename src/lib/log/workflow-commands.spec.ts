import { describe, expect, it } from 'vitest';
import { parseLogCommand } from './workflow-commands';

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

	it('ignores ordinary lines and commands that do not shape the log', () => {
		expect(parseLogCommand('a :: b')).toBeNull();
		expect(parseLogCommand('::progress value=3::x')).toBeNull();
		expect(parseLogCommand('::add-mask::secret')).toBeNull();
	});
});
