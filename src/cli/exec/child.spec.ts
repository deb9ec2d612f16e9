import { describe, expect, it } from 'vitest';
import { forwardedSignals, runChild, type OutputStream } from './child';
import { alive } from '../../../tests/helpers/processes';

/** a child that ignores SIGTERM and prints a line every 50 ms, holding the output open for 30 s */
const CHATTY_LEFTOVER =
	'trap "" TERM; (i=0; while [ $i -lt 600 ]; do echo tick; i=$((i+1)); sleep 0.05; done) & echo "child $!" >&2';

function start(script: string, options: { wait?: boolean } = {}) {
	const notices: string[] = [];
	const output: Record<OutputStream, string> = { stdout: '', stderr: '' };
	const child = runChild({
		command: ['sh', '-c', options.wait ? `${script}; wait` : script],
		onOutput: (stream, chunk) => (output[stream] += chunk.toString()),
		notice: (text) => notices.push(text),
		atTerminal: false,
		leftoverDrainMs: 200,
		maxLeftoverDrainMs: 3_000
	});
	const childPid = async () => {
		await expect.poll(() => output.stderr).toMatch(/child \d+/);
		return Number(/child (\d+)/.exec(output.stderr)![1]);
	};
	return { child, notices, output, childPid };
}

function kill(pid: number): void {
	try {
		process.kill(pid, 'SIGKILL');
	} catch {
		// gone already
	}
}

describe('the command aco exec runs', () => {
	it('is let go at most the longest drain after its exit, however often what it left running prints', async () => {
		const { child, notices, childPid } = start(CHATTY_LEFTOVER);
		const pid = await childPid();
		try {
			const started = Date.now();
			expect(await child.result).toMatchObject({ code: 0, exitCode: 0 });
			expect(Date.now() - started).toBeLessThan(10_000);
			expect(notices).toEqual([
				expect.stringMatching(/processes it left running still hold its output open/)
			]);
		} finally {
			kill(pid);
		}
	});

	it('ends a cancel a second after the grace when a child the SIGKILL does not reach holds the output', async () => {
		// the SIGKILL after the grace reaches sh, not the child it started: that one is left running
		const { child, notices, childPid } = start(CHATTY_LEFTOVER, { wait: true });
		const pid = await childPid();
		try {
			const cancelledAt = Date.now();
			child.stop(300);
			expect(await child.result).toMatchObject({ signal: 'SIGKILL', exitCode: 137 });
			// grace + one quiet window, far below the 3 s the drain would otherwise allow, plus slack
			expect(Date.now() - cancelledAt).toBeLessThan(2_000);
			expect(notices).toHaveLength(1);
			expect(alive(pid)).toBe(true);
		} finally {
			kill(pid);
		}
	});

	it('lets the command write to /dev/stdout and /dev/stderr, as without aco', async () => {
		// Linux cannot open a socket by its /proc path (ENXIO): both streams must be real pipes
		const { child, output } = start('echo x >/dev/stdout && echo y >/dev/stderr');
		expect(await child.result).toMatchObject({ code: 0, exitCode: 0 });
		expect(output).toEqual({ stdout: 'x\n', stderr: 'y\n' });
	});
});

describe('the signals aco passes on to the command', () => {
	it('leaves out SIGINT at a terminal, whose Ctrl-C reaches the command itself', () => {
		expect(forwardedSignals(true)).toEqual(['SIGTERM', 'SIGHUP']);
	});

	it('passes on SIGINT, SIGTERM and SIGHUP without a terminal', () => {
		expect(forwardedSignals(false)).toEqual(['SIGINT', 'SIGTERM', 'SIGHUP']);
	});
});
