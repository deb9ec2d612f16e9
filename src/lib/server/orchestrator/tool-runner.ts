/**
 * @module orchestrator/tool-runner
 * Runs one step as a child process in its own process group, hands its output on line by line
 * and stops it on timeout or cancel: SIGTERM to the whole group, SIGKILL after a grace period.
 * It never throws and never rejects: a command that cannot start is a failed result with a
 * reason a person understands.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import type { LogStream } from '../../protocol';
import { DEFAULT_PROGRESS_FLUSH_MS, LineSplitter } from './line-splitter';
import { PipeFeed, type FeedShare } from './pipe-feed';
import { toolEnvironment } from './tool-env';

export interface ToolSpec {
	command: string;
	args: readonly string[];
	cwd: string;
	/** merged over the runner's `baseEnv` */
	env?: Readonly<Record<string, string>>;
	/** null or undefined: no timeout */
	timeoutMs?: number | null;
}

export interface ToolRunnerOptions {
	/** time between SIGTERM and SIGKILL */
	killGraceMs: number;
	maxLineLength: number;
	/** `partial`: no newline followed the text yet (see LineSplitter) */
	onLine: (stream: LogStream, text: string, partial: boolean) => void;
	/**
	 * asked after each slice of output (pipe-feed.ts): a promise while the consumer of the lines
	 * is behind, and the tool's pipes are not read until it settles (the tool waits on a full pipe
	 * meanwhile)
	 */
	pressure?: () => Promise<void> | null;
	/** what the node's pipe feeds share (pipe-feed.ts, loop-share.ts); by default a budget of each feed's own */
	share?: FeedShare | null;
	/** what every tool inherits; by default the server's environment less its credentials (tool-env) */
	baseEnv?: Readonly<Record<string, string>>;
	/** how long a `\r`-redrawn line without newline waits before it is handed on (LineSplitter) */
	progressFlushMs?: number;
	/**
	 * after the process exits, how long its output pipes may stay open (held by a background
	 * child it left behind) before the group is killed and the pipes closed
	 */
	drainMs?: number;
}

export interface ToolResult {
	exitCode: number | null;
	signal: string | null;
	/** why it could not run or was stopped; null for a process that exited by itself */
	error: string | null;
	timedOut: boolean;
	cancelled: boolean;
	durationMs: number;
}

export interface ToolHandle {
	/** the process id, or null when it could not start */
	readonly pid: number | null;
	/** settles once the process has ended and every output line has been handed on */
	readonly result: Promise<ToolResult>;
	/** stops the process group; the result says `cancelled` */
	cancel(): void;
}

export const DEFAULT_DRAIN_MS = 2_000;
/**
 * drain times in a row the pipes may stay busy after the group was killed: only a process that
 * left the group (setsid) can keep writing then, and it is not waited for past these
 */
const MAX_DRAIN_ROUNDS = 10;
/** Node fires a timer set beyond 2^31 − 1 ms after 1 ms instead; a longer timeout waits this long */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * @example
 * const tool = runTool({ command: 'node', args: ['-e', 'console.log(1)'], cwd: '/tmp' },
 *   { killGraceMs: 5000, maxLineLength: 65536, onLine: (stream, text) => log(stream, text) });
 * const { exitCode } = await tool.result;
 */
export function runTool(spec: ToolSpec, options: ToolRunnerOptions): ToolHandle {
	return new ToolRun(spec, {
		drainMs: DEFAULT_DRAIN_MS,
		progressFlushMs: DEFAULT_PROGRESS_FLUSH_MS,
		pressure: () => null,
		share: null,
		baseEnv: options.baseEnv ?? toolEnvironment(process.env).env,
		...options
	});
}

class ToolRun implements ToolHandle {
	readonly result: Promise<ToolResult>;
	#options: Required<ToolRunnerOptions>;
	#child: ChildProcess | null = null;
	#startedAt = Date.now();
	#resolve!: (result: ToolResult) => void;
	#settled = false;
	/** drain times passed since the tool exited (see MAX_DRAIN_ROUNDS) */
	#drainRounds = 0;
	#exited = false;
	#exit: { code: number | null; signal: string | null } | null = null;
	#spawnError: string | null = null;
	#timedOut = false;
	#cancelled = false;
	#timeoutMs: number | null;
	#timers = new Set<NodeJS.Timeout>();
	/** SIGKILL for the group after the grace period; outlives the result (see #terminate) */
	#escalation: NodeJS.Timeout | null = null;
	#splitters: Record<LogStream, LineSplitter>;
	/** stdout's and stderr's, once the tool runs */
	#feeds: PipeFeed[] = [];

	constructor(spec: ToolSpec, options: Required<ToolRunnerOptions>) {
		this.#options = options;
		this.#timeoutMs = spec.timeoutMs ?? null;
		this.result = new Promise((resolve) => (this.#resolve = resolve));
		const splitterOptions = {
			maxLineLength: options.maxLineLength,
			progressFlushMs: options.progressFlushMs
		};
		this.#splitters = {
			stdout: new LineSplitter((line, partial) => this.#line('stdout', line, partial), splitterOptions),
			stderr: new LineSplitter((line, partial) => this.#line('stderr', line, partial), splitterOptions)
		};
		this.#start(spec);
	}

	get pid(): number | null {
		return this.#child?.pid ?? null;
	}

	cancel(): void {
		if (this.#settled || this.#cancelled) return;
		// a process that already exited by itself keeps its own result; only leftovers are killed
		if (!this.#exited) this.#cancelled = true;
		this.#terminate();
	}

	#start(spec: ToolSpec): void {
		// spawn reports a missing cwd as "spawn <command> ENOENT", which blames the wrong thing
		if (!isDirectory(spec.cwd)) {
			this.#spawnError = `working directory not found: ${spec.cwd}`;
			this.#settle();
			return;
		}
		let child: ChildProcess;
		try {
			child = spawn(spec.command, [...spec.args], {
				cwd: spec.cwd,
				env: { ...this.#options.baseEnv, ...spec.env },
				// its own process group, so a cancel reaches the grandchildren too
				detached: true,
				stdio: ['ignore', 'pipe', 'pipe']
			});
		} catch (err) {
			this.#spawnError = describeSpawnError(spec.command, err);
			this.#settle();
			return;
		}
		this.#child = child;
		const { pressure, share } = this.#options;
		this.#feeds = (['stdout', 'stderr'] as const).map(
			(stream) =>
				new PipeFeed(child[stream]!, {
					write: (chunk) => this.#splitters[stream].write(chunk),
					pressure,
					...(share ? { share } : {})
				})
		);
		child.on('error', (err) => {
			// after a successful start, 'error' only reports a failed kill; the exit still settles
			if (child.pid !== undefined) return;
			this.#spawnError = describeSpawnError(spec.command, err);
			this.#settle();
		});
		child.on('exit', (code, signal) => {
			this.#exited = true;
			this.#exit = { code, signal };
			// a background child may hold the pipes open; do not wait for it for ever
			this.#timer(this.#options.drainMs, () => this.#drained(child));
		});
		child.on('close', () => this.#settleWhenFed());
		if (this.#timeoutMs !== null) {
			this.#timer(this.#timeoutMs, () => {
				// a cancel already under way stays a cancel, not a timeout
				if (this.#cancelled) return;
				// the tool ended in time; what a background child holds the pipes open with is not waited for
				if (this.#exited) {
					this.#killGroup('SIGKILL');
					return;
				}
				this.#timedOut = true;
				this.#terminate();
			});
		}
		if (this.#cancelled) this.#terminate();
	}

	/**
	 * The drain time after the exit has passed with the pipes still open: a child left in the
	 * group (a background process holding them open) is killed now, so nothing new comes, and
	 * what the pipes already hold is read to its end. Time the pipes waited on the consumer
	 * (pipe-feed.ts) is not the tool's: while a feed holds what it read, the pipes get the drain
	 * time again once it is handed over; then they are closed.
	 */
	#drained(child: ChildProcess): void {
		if (this.#settled) return;
		this.#killGroup('SIGKILL');
		this.#drainRounds += 1;
		if (this.#feeds.some((feed) => feed.feeding) && this.#drainRounds < MAX_DRAIN_ROUNDS) {
			return this.#whenFed(() => {
				if (!this.#settled) this.#timer(this.#options.drainMs, () => this.#drained(child));
			});
		}
		child.stdout?.destroy();
		child.stderr?.destroy();
		this.#settleWhenFed();
	}

	/** Settles once every chunk the pipes gave has been split into lines (pipe-feed.ts). */
	#settleWhenFed(): void {
		this.#whenFed(() => this.#settle());
	}

	#whenFed(fn: () => void): void {
		const [stdout, stderr] = this.#feeds;
		if (!stdout || !stderr) return fn();
		stdout.whenFed(() => stderr.whenFed(fn));
	}

	#terminate(): void {
		if (!this.#child || this.#child.pid === undefined) return;
		if (this.#exited) {
			// the leader is gone; whatever it left in its group goes now
			this.#killGroup('SIGKILL');
			return;
		}
		this.#killGroup('SIGTERM');
		if (this.#escalation) return;
		// Not cleared when the result settles: the leader may exit on SIGTERM while a grandchild that
		// ignores it (and no longer holds the output pipes) lives on in the group.
		this.#escalation = setTimeout(
			() => {
				this.#escalation = null;
				this.#killGroup('SIGKILL', true);
			},
			Math.min(this.#options.killGraceMs, MAX_TIMER_MS)
		);
		this.#escalation.unref();
	}

	#killGroup(signal: NodeJS.Signals, evenIfSettled = false): void {
		const pid = this.#child?.pid;
		if (pid === undefined || (this.#settled && !evenIfSettled)) return;
		try {
			process.kill(-pid, signal);
		} catch {
			// ESRCH: the group has already gone
		}
	}

	#line(stream: LogStream, text: string, partial: boolean): void {
		try {
			this.#options.onLine(stream, text, partial);
		} catch {
			// a consumer's failure must not stop the process's output from being read
		}
	}

	#timer(ms: number, fn: () => void): void {
		const timer = setTimeout(
			() => {
				this.#timers.delete(timer);
				fn();
			},
			Math.min(ms, MAX_TIMER_MS)
		);
		timer.unref();
		this.#timers.add(timer);
	}

	#settle(): void {
		if (this.#settled) return;
		for (const feed of this.#feeds) feed.stop();
		this.#splitters.stdout.end();
		this.#splitters.stderr.end();
		this.#settled = true;
		for (const timer of this.#timers) clearTimeout(timer);
		this.#timers.clear();
		const exit = this.#exit;
		this.#resolve({
			exitCode: exit?.code ?? null,
			signal: exit?.signal ?? null,
			error: this.#describeError(),
			timedOut: this.#timedOut,
			cancelled: this.#cancelled && !this.#timedOut,
			durationMs: Date.now() - this.#startedAt
		});
	}

	#describeError(): string | null {
		if (this.#spawnError) return this.#spawnError;
		if (this.#timedOut) return `timed out after ${formatSeconds(this.#timeoutMs!)}`;
		if (this.#cancelled) return 'cancelled';
		return null;
	}
}

function isDirectory(dir: string): boolean {
	try {
		return fs.statSync(dir).isDirectory();
	} catch {
		return false;
	}
}

function describeSpawnError(command: string, err: unknown): string {
	const code = (err as NodeJS.ErrnoException)?.code;
	if (code === 'ENOENT') return `command not found: ${command}`;
	if (code === 'EACCES') return `permission denied: ${command} is not executable`;
	return `could not start ${command}: ${(err as Error)?.message ?? String(err)}`;
}

function formatSeconds(ms: number): string {
	const seconds = ms / 1000;
	return `${Number.isInteger(seconds) ? seconds : seconds.toFixed(1)} s`;
}
