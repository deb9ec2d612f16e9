/**
 * @module bench/lib/child
 * Runs part of a benchmark in a child process that talks over IPC: the WebSocket clients
 * (so they do not share the server's event loop) and each memory measurement (so it starts
 * from a fresh heap). Every wait has a deadline, so a broken bench fails instead of hanging.
 *
 * Parent → child: any object. Child → parent: `{ ok: kind, ... }`, or `{ ok: 'error', message }`.
 */
import { fork, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

export interface ChildReply {
	ok: string;
	[key: string]: unknown;
}

/** How long `stop()` waits for the child to exit after the IPC channel closes. */
const EXIT_GRACE_MS = 3_000;

interface Waiter {
	kind: string;
	resolve: (reply: ChildReply) => void;
	reject: (err: Error) => void;
	timer: NodeJS.Timeout;
}

export class BenchChild {
	#child: ChildProcess;
	#inbox: ChildReply[] = [];
	#waiters: Waiter[] = [];
	#exited: Promise<void>;
	#exitCode: number | null = null;
	#hasExited = false;

	/**
	 * Starts `module` (a .ts file next to the caller) under the same node flags (tsx loader,
	 * --expose-gc); with `cpu`, pinned to that core (every thread) when `taskset` is available.
	 */
	constructor(module: URL, args: string[] = [], options: { cpu?: number; execArgv?: string[] } = {}) {
		const file = fileURLToPath(module);
		const stdio: ['ignore', 'inherit', 'inherit', 'ipc'] = ['ignore', 'inherit', 'inherit', 'ipc'];
		const execArgv = [...process.execArgv, ...(options.execArgv ?? [])];
		this.#child =
			options.cpu !== undefined && canPin()
				? spawn('taskset', ['-c', String(options.cpu), process.execPath, ...execArgv, file, ...args], {
						stdio
					})
				: fork(file, args, { execArgv, stdio });
		this.#child.on('message', (message) => this.#receive(message as ChildReply));
		// without a listener a failed spawn or send would crash the bench; the waits report it instead
		this.#child.on('error', (err) => console.error('bench child:', err.message));
		this.#exited = new Promise((resolve) => {
			this.#child.on('exit', (code, signal) => {
				this.#hasExited = true;
				this.#exitCode = code;
				const reason = new Error(`bench child exited (code ${code}, signal ${signal}) before replying`);
				for (const waiter of this.#waiters.splice(0)) {
					clearTimeout(waiter.timer);
					waiter.reject(reason);
				}
				resolve();
			});
		});
	}

	send(message: object): void {
		if (!this.#child.connected) throw new Error('bench child is gone (its IPC channel is closed)');
		this.#child.send(message);
	}

	/** The next reply of this kind (also one that arrived before the call); rejects on an error reply. */
	next<T extends ChildReply>(kind: string, timeoutMs: number): Promise<T> {
		const index = this.#inbox.findIndex((reply) => reply.ok === kind || reply.ok === 'error');
		if (index >= 0) {
			const [reply] = this.#inbox.splice(index, 1);
			return reply.ok === 'error' ? Promise.reject(childError(reply)) : Promise.resolve(reply as T);
		}
		if (this.#hasExited) {
			return Promise.reject(new Error(`bench child already exited (code ${this.#exitCode})`));
		}
		return new Promise<T>((resolve, reject) => {
			const waiter: Waiter = {
				kind,
				resolve: resolve as (reply: ChildReply) => void,
				reject,
				timer: setTimeout(() => {
					this.#waiters = this.#waiters.filter((w) => w !== waiter);
					reject(new Error(`bench child sent no "${kind}" within ${timeoutMs} ms`));
				}, timeoutMs)
			};
			this.#waiters.push(waiter);
		});
	}

	/** Closes the IPC channel (the child exits on it) and kills the child if it lingers. */
	async stop(): Promise<void> {
		if (this.#hasExited) return;
		if (this.#child.connected) this.#child.disconnect();
		const timer = setTimeout(() => this.#child.kill('SIGKILL'), EXIT_GRACE_MS);
		await this.#exited;
		clearTimeout(timer);
	}

	#receive(reply: ChildReply): void {
		const index = this.#waiters.findIndex((w) => w.kind === reply.ok || reply.ok === 'error');
		if (index < 0) {
			this.#inbox.push(reply);
			return;
		}
		const [waiter] = this.#waiters.splice(index, 1);
		clearTimeout(waiter.timer);
		if (reply.ok === 'error') waiter.reject(childError(reply));
		else waiter.resolve(reply);
	}
}

let pinnable: boolean | null = null;

/** Whether processes can be pinned to cores here: `taskset` exists and there are at least two cores. */
export function canPin(): boolean {
	pinnable ??= os.cpus().length >= 2 && spawnSync('taskset', ['-p', String(process.pid)]).status === 0;
	return pinnable;
}

function childError(reply: ChildReply): Error {
	return new Error(`bench child failed: ${String(reply.message)}`);
}

/**
 * The child's side: handles each parent message, reports a thrown error as `{ ok: 'error' }`,
 * and exits when the parent closes the channel.
 */
export function serveParent(handle: (message: Record<string, unknown>) => Promise<void> | void): void {
	if (!process.send) throw new Error('this module runs as a bench child (started by BenchChild)');
	process.on('message', (message) => {
		Promise.resolve()
			.then(() => handle(message as Record<string, unknown>))
			.catch((err: unknown) =>
				reply({ ok: 'error', message: err instanceof Error ? err.stack : String(err) })
			);
	});
	process.on('disconnect', () => process.exit(0));
}

export function reply(message: ChildReply): void {
	process.send?.(message);
}

/**
 * The child's side for a one-shot measurement: runs it, sends its result (or the error), and
 * exits when the parent closes the channel.
 */
export function runInChild(measure: () => Promise<ChildReply>): void {
	if (!process.send) throw new Error('this module runs as a bench child (started by BenchChild)');
	process.on('disconnect', () => process.exit(0));
	measure().then(reply, (err: unknown) =>
		reply({ ok: 'error', message: err instanceof Error ? err.stack : String(err) })
	);
}
