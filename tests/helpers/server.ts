/**
 * Starts the real aco server (the server bundle dist/server.js, on the adapter-node build) as a
 * child process on port 0 with its own data folder, and stops or restarts it. Used by
 * integration and end-to-end tests; requires `npm run build` to have run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** what `npm run build` makes of server.ts (scripts/bundle.mjs) */
export const SERVER_BUNDLE = path.join(ROOT, 'dist/server.js');

export interface StartOptions {
	/** data folder; a new temp folder when omitted */
	dataDir?: string;
	/** workflows folder; the project's own `workflows/` when omitted */
	workflowsDir?: string;
	/** fixed port (e.g. to restart on the same one); 0 when omitted */
	port?: number;
	env?: Record<string, string>;
}

export interface AcoProcess {
	url: string;
	wsUrl: string;
	port: number;
	dataDir: string;
	workflowsDir: string;
	proc: ChildProcess;
	/** everything the server printed so far */
	output(): string;
	/** SIGTERM (graceful) or SIGKILL; resolves with the exit code once the process is gone */
	stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export function tempDir(prefix = 'aco-test-'): string {
	return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export async function startAco(options: StartOptions = {}): Promise<AcoProcess> {
	const dataDir = options.dataDir ?? tempDir();
	const workflowsDir = options.workflowsDir ?? path.join(ROOT, 'workflows');
	if (!fs.existsSync(SERVER_BUNDLE)) {
		throw new Error(`${SERVER_BUNDLE} is missing: run "npm run build" before the tests that start aco`);
	}
	const proc = spawn(process.execPath, [SERVER_BUNDLE], {
		cwd: ROOT,
		env: {
			...process.env,
			PORT: String(options.port ?? 0),
			HOST: '127.0.0.1',
			ACO_DATA_DIR: dataDir,
			ACO_WORKFLOWS_DIR: workflowsDir,
			ACO_LOG_LEVEL: 'info',
			...options.env
		},
		stdio: ['ignore', 'pipe', 'pipe']
	});
	let out = '';
	proc.stdout!.setEncoding('utf8');
	proc.stderr!.setEncoding('utf8');
	proc.stderr!.on('data', (chunk: string) => (out += chunk));
	const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));

	const url = await new Promise<string>((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error(`aco did not start within 30 s:\n${out}`)), 30_000);
		proc.stdout!.on('data', (chunk: string) => {
			out += chunk;
			const match = /"url":"(http:\/\/[^"]+)"[^\n]*"msg":"listening"/.exec(out);
			if (match) {
				clearTimeout(timer);
				resolve(match[1]);
			}
		});
		proc.once('exit', (code) => {
			clearTimeout(timer);
			reject(new Error(`aco exited with ${code} before listening:\n${out}`));
		});
	});
	const port = Number(new URL(url).port);
	return {
		url,
		wsUrl: url.replace(/^http/, 'ws') + '/ws',
		port,
		dataDir,
		workflowsDir,
		proc,
		output: () => out,
		async stop(signal: NodeJS.Signals = 'SIGTERM') {
			if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
			proc.kill(signal);
			const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
			const code = await exited;
			clearTimeout(timer);
			return code;
		}
	};
}
