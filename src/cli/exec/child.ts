/**
 * @module cli/exec/child
 * Runs `aco exec`'s command so that it behaves as it would without aco: its output is echoed to
 * aco's own stdout and stderr (and handed on to be reported), signals aco gets are passed on, a
 * reader that goes away (`| head`) makes the command meet SIGPIPE, and aco ends when the command
 * does, not when the last process it left running closes the output.
 *
 * The command stays in aco's process group, as a bare command stays in its shell's: whatever
 * stops aco's job by its group (`timeout -k`, a CI runner's SIGKILL, `kill -9 %1`) stops the
 * command with it. A cancel and forwarded signals go to the command itself; children it leaves
 * running are not stopped by aco, as by no one when the bare command ends.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { isatty } from 'node:tty';
import type { Readable } from 'node:stream';
import { MAX_TIMER_MS } from '../args';

/**
 * Once the command has exited, how long its output may stay quiet before aco stops reading it.
 * What the command itself wrote is already in the pipe and is read within milliseconds; only
 * processes it left running (`sleep 60 &`) keep the pipe open. A second still takes the last
 * words of a child that finishes just after its parent, and is short next to the command.
 */
export const LEFTOVER_DRAIN_MS = 1_000;
/** …and at most this long after the exit, however often the processes left running print */
export const MAX_LEFTOVER_DRAIN_MS = 10_000;

export type OutputStream = 'stdout' | 'stderr';

export interface ChildResult {
	code: number | null;
	signal: string | null;
	/** why the command could not run at all (not found, not executable) */
	error: string | null;
	exitCode: number;
}

export interface RunningChild {
	result: Promise<ChildResult>;
	/** SIGTERM now, SIGKILL after `graceMs` to whatever of the command is still running */
	stop(graceMs: number): void;
}

export interface RunChildOptions {
	command: string[];
	/** each chunk of output, after it was echoed */
	onOutput: (stream: OutputStream, chunk: Buffer) => void;
	/** one of aco's own notices (the caller decides whether to print it) */
	notice: (text: string) => void;
	/** aco runs at a terminal ({@link atTerminal}): its Ctrl-C reaches the command without aco */
	atTerminal: boolean;
	leftoverDrainMs?: number;
	maxLeftoverDrainMs?: number;
}

/** Whether aco runs at a terminal: any of its standard streams is one. */
export function atTerminal(): boolean {
	return [0, 1, 2].some((fd) => isatty(fd));
}

/**
 * The signals that would end aco while the command runs: aco outlives each of them and ends when
 * the command does, reporting how it ended (the command decides what a signal means).
 */
export const HANDLED_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * The signals aco passes on to the command. At a terminal a Ctrl-C (SIGINT) goes to the whole
 * foreground process group, the command included: passed on as well, the command would get it
 * twice (aco still outlives it: see HANDLED_SIGNALS). SIGTERM and SIGHUP are passed on: sent to
 * aco alone (`kill`, a supervisor) they would not reach the command otherwise.
 */
export function forwardedSignals(atTerminal: boolean): NodeJS.Signals[] {
	return atTerminal ? ['SIGTERM', 'SIGHUP'] : ['SIGINT', 'SIGTERM', 'SIGHUP'];
}

export function runChild(options: RunChildOptions): RunningChild {
	const { command, onOutput, notice } = options;
	const quietMs = options.leftoverDrainMs ?? LEFTOVER_DRAIN_MS;
	const maxDrainMs = options.maxLeftoverDrainMs ?? MAX_LEFTOVER_DRAIN_MS;

	const pipes = realPipes();
	let child: ChildProcess;
	try {
		child = spawn(command[0], command.slice(1), {
			stdio: ['inherit', pipes.stdout?.writeFd ?? 'pipe', pipes.stderr?.writeFd ?? 'pipe']
		});
	} catch (err) {
		// node throws at once for the errors it does not report by 'error' (ENOTDIR, EINVAL…):
		// the command could not run, as said for any other reason (the bare shell exits 126)
		for (const pipe of Object.values(pipes)) pipe?.reader.destroy();
		const error = `could not run ${command[0]}: ${(err as Error).message}`;
		process.stderr.write(`aco: ${error}\n`);
		const result = Promise.resolve<ChildResult>({ code: null, signal: null, error, exitCode: 126 });
		return { result, stop: () => {} };
	} finally {
		// the command holds its ends now; aco's copies would keep the pipes from ever closing
		for (const pipe of Object.values(pipes)) if (pipe) fs.closeSync(pipe.writeFd);
	}
	// null when the spawn failed before node made the streams (EMFILE, ENFILE): nothing to read
	const readers: Record<OutputStream, Readable | null> = {
		stdout: pipes.stdout?.reader ?? child.stdout,
		stderr: pipes.stderr?.reader ?? child.stderr
	};
	const destroyReaders = (): void => {
		readers.stdout?.destroy();
		readers.stderr?.destroy();
	};

	let settled = false;
	let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
	let spawnError: string | null = null;
	let exitedAt = 0;
	/** when aco stops reading at the latest: the exit plus the longest drain, or a second after a cancel's SIGKILL */
	let drainDeadline = Number.POSITIVE_INFINITY;
	let lastOutputAt = Date.now();
	let open = (readers.stdout ? 1 : 0) + (readers.stderr ? 1 : 0);
	let drainTimer: NodeJS.Timeout | null = null;
	/** aco has stopped reading what the processes left running print */
	let cutOff = false;
	let killTimer: NodeJS.Timeout | null = null;
	let resolve: (result: ChildResult) => void = () => {};
	const result = new Promise<ChildResult>((r) => (resolve = r));

	/** to the command itself, while it runs */
	const signalCommand = (signal: NodeJS.Signals): void => {
		if (child.pid !== undefined && !exit) child.kill(signal);
	};

	// `aco exec … | head`: once the reader is gone, aco closes its end of the command's output
	// pipe, and the command's next write meets SIGPIPE as it would without aco
	// (`aco exec … 2>&1 | head`: the same for its stderr; a write to a closed stderr would
	// otherwise end aco with an uncaught EPIPE and leave the task unfinished)
	const echo = { stdout: true, stderr: true };
	for (const stream of ['stdout', 'stderr'] as const) {
		onClosed(process[stream], () => {
			echo[stream] = false;
			readers[stream]?.destroy();
		});
	}
	for (const stream of ['stdout', 'stderr'] as const) {
		const reader = readers[stream];
		if (!reader) continue;
		reader.on('data', (chunk: Buffer) => {
			if (echo[stream]) process[stream].write(chunk);
			onOutput(stream, chunk);
			lastOutputAt = Date.now();
		});
		reader.once('close', () => {
			open -= 1;
			finish();
		});
		// a read error ends that stream like its end would; 'close' follows
		reader.on('error', () => {});
	}

	// the command decides what a signal means; aco passes it on where it would not reach the
	// command otherwise, and waits for the end
	const forwarded = new Set(forwardedSignals(options.atTerminal));
	const signals = HANDLED_SIGNALS.map(
		(signal) => [signal, () => (forwarded.has(signal) ? signalCommand(signal) : undefined)] as const
	);
	for (const [signal, handler] of signals) process.on(signal, handler);

	child.once('error', (err: NodeJS.ErrnoException) => {
		// after a successful start, 'error' only reports a failed kill
		if (child.pid !== undefined) return;
		spawnError =
			err.code === 'ENOENT'
				? `command not found: ${command[0]}`
				: `could not run ${command[0]}: ${err.message}`;
		// nothing will write to aco's ends of the pipes, but only the command's exit would close them
		destroyReaders();
		exited(null, null);
	});
	child.once('exit', (code, signal) => exited(code, signal));

	function exited(code: number | null, signal: NodeJS.Signals | null): void {
		if (exit) return;
		exit = { code, signal };
		exitedAt = Date.now();
		drainDeadline = Math.min(drainDeadline, exitedAt + maxDrainMs);
		if (open > 0) scheduleDrain();
		finish();
	}

	/** Output that goes on after the exit comes from processes the command left running. */
	function scheduleDrain(): void {
		if (drainTimer) clearTimeout(drainTimer);
		const quietUntil = Math.max(lastOutputAt, exitedAt) + quietMs;
		drainTimer = setTimeout(
			// after the poll phase: what a blocked write to aco's own stdout held up is read first
			() => setImmediate(checkDrain),
			Math.max(0, Math.min(quietUntil, drainDeadline) - Date.now())
		);
	}

	function checkDrain(): void {
		drainTimer = null;
		if (settled || open === 0 || cutOff) return;
		const now = Date.now();
		const quietFor = now - Math.max(lastOutputAt, exitedAt);
		if (quietFor < quietMs && now < drainDeadline) return scheduleDrain();
		cutOff = true;
		notice(
			'the command has ended, but processes it left running still hold its output open; ' +
				'aco stops reading it, so what they print from now on is not captured.'
		);
		destroyReaders();
	}

	function finish(): void {
		if (settled || !exit || open > 0) return;
		settled = true;
		if (drainTimer) clearTimeout(drainTimer);
		if (killTimer) clearTimeout(killTimer);
		for (const [signal, handler] of signals) process.off(signal, handler);
		if (spawnError) {
			process.stderr.write(`aco: ${spawnError}\n`);
			resolve({
				code: null,
				signal: null,
				error: spawnError,
				exitCode: spawnError.startsWith('command not found') ? 127 : 126
			});
			return;
		}
		const { code, signal } = exit;
		const number = signal ? (os.constants.signals[signal] ?? 0) : 0;
		resolve({ code, signal, error: null, exitCode: signal ? 128 + number : (code ?? 1) });
	}

	const stop = (graceMs: number): void => {
		if (settled || killTimer) return;
		signalCommand('SIGTERM');
		// a longer delay would fire at once: SIGKILL right after SIGTERM
		killTimer = setTimeout(
			() => {
				signalCommand('SIGKILL');
				killTimer = null;
				// the grace is over: a child the command left running that holds the output open gets
				// one more quiet second, however much it prints, and is left running
				drainDeadline = Math.min(drainDeadline, Date.now() + quietMs);
				if (exit && open > 0) scheduleDrain();
				finish();
			},
			Math.min(graceMs, MAX_TIMER_MS)
		);
	};
	return { result, stop };
}

interface RealPipe {
	reader: net.Socket;
	writeFd: number;
}

/**
 * Pipes (FIFOs, unlinked at once) for the command's stdout and stderr. Node gives a child a
 * socketpair, and a socket closed with unread data in it fails the writer's next write with
 * ECONNRESET (`seq: write error: Connection reset by peer`, exit 1) instead of SIGPIPE: `aco exec
 * -- seq 1 1000000 | head -1` would not end as the bare command does. A real pipe without a
 * reader always raises SIGPIPE. And Linux cannot open a socket by its /proc path: `echo x
 * >/dev/stderr` fails with ENXIO on a socketpair. Null when no FIFO can be made (no `mkfifo`):
 * node's socketpair then.
 */
function realPipes(): Record<OutputStream, RealPipe | null> {
	let dir: string | null = null;
	try {
		dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aco-exec-'));
		const stdout = path.join(dir, 'stdout');
		const stderr = path.join(dir, 'stderr');
		// one process for both: each start of mkfifo costs milliseconds before the command runs
		execFileSync('mkfifo', ['-m', '600', stdout, stderr], { stdio: 'ignore' });
		return { stdout: openFifo(stdout), stderr: openFifo(stderr) };
	} catch {
		return { stdout: null, stderr: null };
	} finally {
		if (dir) fs.rmSync(dir, { recursive: true, force: true });
	}
}

function openFifo(fifo: string): RealPipe | null {
	try {
		// the read end first, without waiting for a writer; then the write end opens at once
		const readFd = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
		let writeFd: number;
		try {
			writeFd = fs.openSync(fifo, fs.constants.O_WRONLY);
		} catch (err) {
			fs.closeSync(readFd);
			throw err;
		}
		return { reader: new net.Socket({ fd: readFd, readable: true, writable: false }), writeFd };
	} catch {
		return null;
	}
}

/**
 * Calls `closed` when the reader of `stream` (aco's stdout or stderr) goes away (EPIPE), from now
 * on, instead of the CLI's own handler, which exits at once: aco exec still has the command's end
 * to report. Other errors still go to that handler.
 */
function onClosed(stream: NodeJS.WriteStream, closed: () => void): void {
	const others = stream.listeners('error') as ((err: Error) => void)[];
	stream.removeAllListeners('error');
	let called = false;
	stream.on('error', (err: NodeJS.ErrnoException) => {
		if (err.code !== 'EPIPE') {
			for (const other of others) other(err);
			return;
		}
		if (!called) closed();
		called = true;
	});
}
