/**
 * Runs the `aco` command (bin/aco.js) as a child process, as a user would, and collects its
 * exit code and output.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { ROOT } from './server';

export interface CliResult {
	code: number | null;
	signal: NodeJS.Signals | null;
	stdout: string;
	stderr: string;
}

export interface CliRun {
	pid: number | undefined;
	/** stderr so far */
	stderr(): string;
	/** stdout so far */
	stdout(): string;
	done: Promise<CliResult>;
}

export const ACO_BIN = path.join(ROOT, 'bin/aco.js');

/** Starts `aco …args`; `done` resolves when it exits (killed after `timeoutMs`). */
export function startCli(args: string[], env: Record<string, string> = {}, timeoutMs = 30_000): CliRun {
	const proc = spawn(process.execPath, [ACO_BIN, ...args], {
		cwd: ROOT,
		env: { ...process.env, ACO_URL: '', ACO_TOKEN: '', ...env },
		stdio: ['ignore', 'pipe', 'pipe']
	});
	let stdout = '';
	let stderr = '';
	proc.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
	proc.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
	const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
	const done = new Promise<CliResult>((resolve) => {
		proc.once('close', (code, signal) => {
			clearTimeout(timer);
			resolve({ code, signal, stdout, stderr });
		});
	});
	return { pid: proc.pid, stderr: () => stderr, stdout: () => stdout, done };
}

export function runCli(
	args: string[],
	env: Record<string, string> = {},
	timeoutMs?: number
): Promise<CliResult> {
	return startCli(args, env, timeoutMs).done;
}
