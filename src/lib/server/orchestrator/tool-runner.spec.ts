import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LogStream } from '../../protocol';
import { countLoopTurns } from '../../../../tests/helpers/loop-turns';
import { PIPE_SLICE_BYTES } from './pipe-feed';
import { runTool, type ToolRunnerOptions, type ToolSpec } from './tool-runner';
import { alive } from '../../../../tests/helpers/processes';

type Line = [LogStream, string];

function start(
	spec: Partial<ToolSpec> & Pick<ToolSpec, 'command'>,
	options: Partial<ToolRunnerOptions> = {}
) {
	const lines: Line[] = [];
	const tool = runTool(
		{ args: [], cwd: os.tmpdir(), ...spec },
		{
			killGraceMs: 500,
			maxLineLength: 1024,
			drainMs: 300,
			onLine: (stream, text) => lines.push([stream, text]),
			...options
		}
	);
	return { tool, lines };
}

function node(script: string) {
	return { command: process.execPath, args: ['-e', script] };
}

/**
 * A tool that prints `first`, waits until its consumer is behind (a gate file the first call of
 * `pressure` writes, whose promise `release` settles), then runs `rest`; the dir goes with `cleanUp`.
 */
function gated(rest: string) {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aco-gate-'));
	const gate = path.join(dir, 'behind');
	const script = `
		const fs = require('node:fs');
		fs.writeSync(1, 'first\\n');
		while (!fs.existsSync(${JSON.stringify(gate)})) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
		${rest}`;
	let release!: () => void;
	const caughtUp = new Promise<void>((resolve) => (release = resolve));
	let asked = false;
	const pressure = () => {
		if (asked) return null;
		asked = true;
		fs.writeFileSync(gate, '');
		return caughtUp;
	};
	return {
		spec: node(script),
		pressure,
		release,
		cleanUp: () => fs.rmSync(dir, { recursive: true, force: true })
	};
}

describe('runTool', () => {
	it('hands on stdout and stderr lines and resolves with the exit code', async () => {
		const { tool, lines } = start(
			node(
				'console.log("out 1"); console.error("err 1"); process.stdout.write("no newline"); process.exitCode = 3'
			)
		);
		const result = await tool.result;
		expect(result).toMatchObject({
			exitCode: 3,
			signal: null,
			error: null,
			timedOut: false,
			cancelled: false
		});
		expect(lines).toContainEqual(['stdout', 'out 1']);
		expect(lines).toContainEqual(['stderr', 'err 1']);
		expect(lines).toContainEqual(['stdout', 'no newline']);
		expect(lines).toHaveLength(3);
	});

	it('runs a shell command in the given cwd with env merged over the environment', async () => {
		const { tool, lines } = start({
			command: 'sh',
			args: ['-c', 'pwd; echo "$ACO_TEST_VAR"; test -n "$PATH" && echo has-path'],
			cwd: '/',
			env: { ACO_TEST_VAR: 'from-spec' }
		});
		expect((await tool.result).exitCode).toBe(0);
		expect(lines.map(([, text]) => text)).toEqual(['/', 'from-spec', 'has-path']);
	});

	it('resolves a command that does not exist as a failure with a clear error', async () => {
		const { tool, lines } = start({ command: 'aco-no-such-command-xyz' });
		expect(tool.pid).toBeNull();
		expect(await tool.result).toMatchObject({
			exitCode: null,
			error: 'command not found: aco-no-such-command-xyz',
			cancelled: false
		});
		expect(lines).toEqual([]);
	});

	it('resolves a missing working directory as a failure naming the directory', async () => {
		const cwd = path.join(os.tmpdir(), 'aco-definitely-missing-dir');
		const { tool } = start({ command: 'true', cwd });
		expect((await tool.result).error).toBe(`working directory not found: ${cwd}`);
	});

	it('stops a command that runs past its timeout', async () => {
		const started = Date.now();
		const { tool } = start({ command: 'sleep', args: ['30'], timeoutMs: 200 });
		const result = await tool.result;
		expect(Date.now() - started).toBeLessThan(3_000);
		expect(result).toMatchObject({
			timedOut: true,
			cancelled: false,
			signal: 'SIGTERM',
			error: 'timed out after 0.2 s'
		});
	});

	it('does not stop a command early when its timeout is longer than a Node timer can hold', async () => {
		const { tool } = start({ ...node('setTimeout(() => {}, 200)'), timeoutMs: 40 * 24 * 3600 * 1000 });
		expect(await tool.result).toMatchObject({ exitCode: 0, timedOut: false, error: null });
	});

	it('cancels the whole process group, grandchildren included', async () => {
		const { tool, lines } = start({ command: 'sh', args: ['-c', 'sleep 30 & echo $!; wait'] });
		while (lines.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
		const grandchild = Number(lines[0][1]);
		expect(alive(grandchild)).toBe(true);
		const started = Date.now();
		tool.cancel();
		const result = await tool.result;
		expect(Date.now() - started).toBeLessThan(2_000);
		expect(result).toMatchObject({ cancelled: true, error: 'cancelled' });
		// signalled; on a loaded machine it may take a moment to be scheduled and die
		await expect.poll(() => alive(grandchild), { timeout: 2_000, interval: 20 }).toBe(false);
	});

	it('kills with SIGKILL after the grace period when SIGTERM is ignored', async () => {
		const { tool, lines } = start(
			node(
				'process.on("SIGTERM", () => console.log("ignoring")); console.log("ready"); setInterval(() => {}, 1000)'
			),
			{ killGraceMs: 200 }
		);
		while (lines.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
		tool.cancel();
		const result = await tool.result;
		expect(result).toMatchObject({ cancelled: true, signal: 'SIGKILL' });
		expect(lines.map(([, text]) => text)).toEqual(['ready', 'ignoring']);
	});

	it('kills a grandchild that ignores SIGTERM and does not hold the output once the grace period is over', async () => {
		const script = '(trap "" TERM; exec sleep 30) >/dev/null 2>&1 </dev/null & echo $!; wait';
		const { tool, lines } = start({ command: 'sh', args: ['-c', script] }, { killGraceMs: 200 });
		while (lines.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
		const grandchild = Number(lines[0][1]);
		tool.cancel();
		expect(await tool.result).toMatchObject({ cancelled: true });
		await new Promise((resolve) => setTimeout(resolve, 400));
		// signalled; on a loaded machine it may take a moment to be scheduled and die
		await expect.poll(() => alive(grandchild), { timeout: 2_000, interval: 20 }).toBe(false);
	});

	it('stays cancelled when its timeout passes during the grace period of a cancel', async () => {
		// sh starts in milliseconds even on a loaded machine, so "ready" comes well before the
		// timeout; an ignored SIGTERM is inherited by `sleep`, so only the SIGKILL ends the group
		const { tool, lines } = start(
			{
				command: 'sh',
				args: ['-c', 'trap "" TERM; echo ready; while :; do sleep 1; done'],
				timeoutMs: 1_000
			},
			{ killGraceMs: 2_000 }
		);
		while (lines.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
		tool.cancel();
		expect(await tool.result).toMatchObject({ cancelled: true, timedOut: false, error: 'cancelled' });
	});

	it('does not wait for ever on a background process that keeps the output open', async () => {
		const started = Date.now();
		const { tool } = start({ command: 'sh', args: ['-c', 'sleep 30 & echo started'] });
		const result = await tool.result;
		expect(result.exitCode).toBe(0);
		expect(Date.now() - started).toBeLessThan(3_000);
	});

	it('ends a step whose background process keeps printing flat out after the tool exited', async () => {
		const { tool } = start({ command: 'sh', args: ['-c', 'yes & sleep 0.2'] }, { drainMs: 200 });
		const result = await tool.result;
		expect(result).toMatchObject({ exitCode: 0, timedOut: false });
	}, 20_000);

	it('ends a step whose background process left the group and keeps printing, after a bounded wait', async () => {
		const { tool } = start({ command: 'sh', args: ['-c', 'setsid yes & sleep 0.2'] }, { drainMs: 50 });
		const result = await tool.result;
		expect(result).toMatchObject({ exitCode: 0, timedOut: false });
	}, 20_000);

	it('does not call a tool that exited in time timed out because a background process holds its output', async () => {
		const { tool, lines } = start(
			{
				command: 'sh',
				args: ['-c', 'sleep 30 & echo ok; exit 0'],
				timeoutMs: 300
			},
			{ drainMs: 60_000 }
		);
		const result = await tool.result;
		expect(result).toMatchObject({ exitCode: 0, timedOut: false, error: null });
		expect(lines).toEqual([['stdout', 'ok']]);
	});

	it('reads to the end what a tool printed before it exited while its consumer held the pipe', async () => {
		// the tool prints one line, waits until the consumer is behind (the gate file), then fills
		// its pipe with what fits and exits while its pipe is paused; the drain time passes long
		// before the consumer catches up, and every line must still arrive (Node resumes a child's
		// output at its exit, so nothing is left in a pipe the drain timer closes)
		const count = 2_000; // ~30 KB: fits in the pipe, so the tool can exit with it unread
		const { spec, pressure, release, cleanUp } = gated(`
			let out = '';
			for (let i = 1; i <= ${count}; i++) out += 'line ' + i + '\\n';
			fs.writeSync(1, out);`);
		const { tool, lines } = start(spec, { drainMs: 20, pressure });
		try {
			// the tool has exited with its output still in the pipe, and the drain time has passed
			await expect.poll(() => tool.pid !== null && !alive(tool.pid), { timeout: 10_000 }).toBe(true);
			await new Promise((resolve) => setTimeout(resolve, 200));
			release();
			expect((await tool.result).exitCode).toBe(0);
			expect(lines.length).toBe(count + 1);
			expect(lines.at(-1)).toEqual(['stdout', `line ${count}`]);
		} finally {
			cleanUp();
		}
	});

	it('splits a long read into slices of lines, none lost, and reports the flood', async () => {
		// the tool fills its pipe (~59 KB, read back as one chunk) while the consumer holds it, and exits
		const count = 6_000;
		const { spec, pressure, release, cleanUp } = gated(`
			let out = '';
			for (let i = 1; i <= ${count}; i++) out += 'l ' + String(i).padStart(6, '0') + '\\n';
			fs.writeSync(1, out);`);
		const loop = countLoopTurns();
		const turns: number[] = [];
		let floods = 0;
		const { tool, lines } = start(spec, {
			drainMs: 60_000,
			// a slice per turn, as a loaded machine's would be (the turn's time is spent by the first)
			share: { toolFlooding: () => (floods += 1), feedDeadline: () => -Infinity },
			onLine: (stream, text) => {
				lines.push([stream, text]);
				turns.push(loop.turn);
			},
			pressure
		});
		try {
			await expect.poll(() => tool.pid !== null && !alive(tool.pid), { timeout: 10_000 }).toBe(true);
			release();
			expect((await tool.result).exitCode).toBe(0);
			// every line, in order
			expect(lines.map(([, text]) => text)).toEqual([
				'first',
				...Array.from({ length: count }, (_, i) => `l ${String(i + 1).padStart(6, '0')}`)
			]);
			const perTurn = new Map<number, number>();
			for (const t of turns) perTurn.set(t, (perTurn.get(t) ?? 0) + 1);
			// 10 bytes a line: a slice is at most this many lines (one more for a line cut in two); a
			// chunk's first slice goes as it is read and its second in the same loop iteration's
			// check phase, then one slice per iteration: at most two slices share a tick of the counter
			const slice = Math.ceil(PIPE_SLICE_BYTES / 10) + 1;
			expect(Math.max(...perTurn.values())).toBeLessThanOrEqual(2 * slice);
			expect(perTurn.size).toBeGreaterThanOrEqual(Math.ceil((count * 10) / PIPE_SLICE_BYTES));
			// the pipe was full when read: a flood
			expect(floods).toBeGreaterThanOrEqual(1);
		} finally {
			loop.stop();
			cleanUp();
		}
	});

	it('reports a process killed by a signal', async () => {
		const { tool } = start({ command: 'sh', args: ['-c', 'kill -9 $$'] });
		expect(await tool.result).toMatchObject({
			exitCode: null,
			signal: 'SIGKILL',
			cancelled: false,
			timedOut: false
		});
	});

	it('keeps reading output when the line consumer throws', async () => {
		let calls = 0;
		const { tool } = start(node('console.log("a"); console.log("b")'), {
			onLine: () => {
				calls++;
				throw new Error('consumer broke');
			}
		});
		expect((await tool.result).exitCode).toBe(0);
		expect(calls).toBe(2);
	});
});
