/**
 * @module cli/tui/watch
 * The two ways the dashboard runs: `aco watch` ({@link watch}, its own process: it owns
 * SIGINT/SIGTERM/SIGHUP and resolves with the exit code) and `aco server --tui`
 * ({@link startTui}, inside the server's process: the handle's `done` settles when the person
 * quits, and the server then shuts down gracefully and calls `close()`).
 *
 * Either way the terminal is restored however the process ends: on quit, on a signal, on an
 * uncaught error, and in an `exit` handler as the last resort. `aco watch` at an address with no
 * hub (the upgrade refused with a 404 or the like) or with a token the hub refuses (401/403, or
 * revoked while connected) gives the terminal back and ends with exit code 1 and one line saying
 * why (for no hub: the URL to check), as `aco logs -f` does, rather than waiting for a hub that
 * will never answer. Under `aco server --tui` the status line says so until the person quits.
 *
 * Under `--tui` nothing else may write to the terminal while the dashboard is up: the server's
 * logs belong in a file (see the report / README for `aco server --tui`).
 */
import type { TokenSource } from '../args';
import type { RealtimeClientOptions } from '../realtime/client';
import { TuiApp, type TerminalIn } from './app';
import type { TerminalOut } from './screen';

export interface WatchOptions {
	url: string;
	token?: string;
	/** where `token` came from, named when the server refuses it */
	tokenSource?: TokenSource;
	stdin?: TerminalIn;
	stdout?: TerminalOut & { isTTY?: boolean };
	/** where the one-line error goes (no terminal, no hub at the URL); stderr by default */
	stderr?: { write(chunk: string): unknown };
	client?: Partial<RealtimeClientOptions>;
}

export interface StartTuiOptions extends WatchOptions {
	/** called on q / Ctrl-C, besides settling `done` */
	onQuit?: () => void;
}

export interface TuiHandle {
	/** resolves when the person quits the dashboard (q, Ctrl-C) */
	done: Promise<void>;
	/** gives the terminal back and closes the connection; idempotent */
	close(): Promise<void>;
}

const SIGNAL_EXIT: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };

function terminalError(stdout: { isTTY?: boolean }): string | null {
	return stdout.isTTY
		? null
		: 'the dashboard needs a terminal, and stdout is not one; in scripts use "aco run --follow" or "aco logs --follow".';
}

/** `aco watch`: runs the dashboard until q, Ctrl-C or a signal; resolves with the exit code. */
export function watch(options: WatchOptions): Promise<number> {
	const stdout = options.stdout ?? process.stdout;
	const problem = terminalError(stdout);
	if (problem) {
		(options.stderr ?? process.stderr).write(`aco: ${problem}\n`);
		return Promise.resolve(2);
	}
	return new Promise<number>((resolve) => {
		let finished = false;
		const finish = (code: number) => {
			if (finished) return;
			finished = true;
			for (const [signal, handler] of signalHandlers) process.off(signal, handler);
			process.off('exit', onExit);
			process.off('uncaughtException', onCrash);
			app.close();
			resolve(code);
		};
		const app = new TuiApp({
			url: options.url,
			token: options.token,
			tokenSource: options.tokenSource,
			stdin: options.stdin ?? process.stdin,
			stdout,
			client: options.client,
			onQuit: () => finish(0),
			// a wrong --url, a proxy that does not pass upgrades on, a wrong or revoked token: the
			// dashboard would wait for ever, so end with why
			onOffline: (message) => {
				finish(1);
				(options.stderr ?? process.stderr).write(`aco: ${message}\n`);
			}
		});
		const signalHandlers = (Object.keys(SIGNAL_EXIT) as NodeJS.Signals[]).map(
			(signal) => [signal, () => finish(SIGNAL_EXIT[signal]!)] as const
		);
		const onExit = () => app.restoreTerminal();
		const onCrash = (err: Error) => {
			app.restoreTerminal();
			process.stderr.write(`aco: the dashboard crashed: ${err.stack ?? err.message}\n`);
			finish(1);
		};
		for (const [signal, handler] of signalHandlers) process.on(signal, handler);
		process.on('exit', onExit);
		process.on('uncaughtException', onCrash);
		app.start();
	});
}

/**
 * `aco server --tui`: the same dashboard in the server's terminal. Throws when stdout is not a
 * terminal. The caller must keep its own output (logs) off the terminal while it runs.
 */
export function startTui(options: StartTuiOptions): TuiHandle {
	const stdout = options.stdout ?? process.stdout;
	const problem = terminalError(stdout);
	if (problem) throw new Error(problem);
	let quit = () => {};
	const done = new Promise<void>((resolve) => (quit = resolve));
	const app = new TuiApp({
		url: options.url,
		token: options.token,
		tokenSource: options.tokenSource,
		stdin: options.stdin ?? process.stdin,
		stdout,
		client: options.client,
		onQuit: () => {
			options.onQuit?.();
			quit();
		}
	});
	const onExit = () => app.restoreTerminal();
	process.on('exit', onExit);
	app.start();
	return {
		done,
		async close() {
			process.off('exit', onExit);
			app.close();
		}
	};
}
