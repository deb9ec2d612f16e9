import { EventEmitter } from 'node:events';
import { describe, expect, it, vi } from 'vitest';

// out of file descriptors: no FIFO can be made, and node's spawn fails before it makes the
// child's streams (EMFILE, ENFILE), so `stdout` and `stderr` are null
vi.mock('node:child_process', async (importOriginal) => ({
	...(await importOriginal<typeof import('node:child_process')>()),
	execFileSync: () => {
		throw Object.assign(new Error('spawnSync mkfifo EMFILE'), { code: 'EMFILE' });
	},
	spawn: () => {
		const child = Object.assign(new EventEmitter(), { pid: undefined, stdout: null, stderr: null });
		const err = Object.assign(new Error('spawn sh EMFILE'), { code: 'EMFILE' });
		process.nextTick(() => child.emit('error', err));
		return child;
	}
}));

const { runChild } = await import('./child');

describe('a command aco exec cannot start', () => {
	it('is reported as one it could not run when the spawn fails before the streams exist', async () => {
		const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
		try {
			const child = runChild({
				command: ['sh', '-c', 'true'],
				onOutput: () => {},
				notice: () => {},
				atTerminal: false
			});
			expect(await child.result).toEqual({
				code: null,
				signal: null,
				error: 'could not run sh: spawn sh EMFILE',
				exitCode: 126
			});
		} finally {
			stderr.mockRestore();
		}
	});
});
