/**
 * Playwright fixtures: every test gets its own real aco server (server.ts on the build, a fresh
 * SQLite folder, the shipped demo workflow) that it can stop and start again on the same port.
 */
import fs from 'node:fs';
import path from 'node:path';
import { test as base, expect } from '@playwright/test';
import { ROOT, startAco, tempDir, type AcoProcess, type StartOptions } from '../helpers/server';
import type { RunResponse, TaskResponse, Task } from '../../src/lib/protocol';

export class AcoServer {
	#process: AcoProcess | null = null;
	#options: StartOptions;
	#token: string | undefined;

	/** `token`: sent with every `api` call (a server started with ACO_TOKEN) */
	constructor(options: StartOptions, token?: string) {
		this.#options = options;
		this.#token = token;
	}

	get url(): string {
		return this.#running.url;
	}

	get #running(): AcoProcess {
		if (!this.#process) throw new Error('aco is not running');
		return this.#process;
	}

	async start(): Promise<void> {
		const previous = this.#process;
		this.#process = await startAco({
			...this.#options,
			dataDir: previous?.dataDir ?? this.#options.dataDir,
			port: previous?.port ?? this.#options.port
		});
	}

	/** SIGTERM: a graceful stop (sockets closed with 1012); SIGKILL: the process dies */
	async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
		await this.#process?.stop(signal);
	}

	async api<T>(method: string, path: string): Promise<T> {
		const headers: Record<string, string> = this.#token ? { authorization: `Bearer ${this.#token}` } : {};
		const res = await fetch(this.url + path, { method, headers });
		if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${await res.text()}`);
		return (await res.json()) as T;
	}

	startRun(workflow: string): Promise<RunResponse> {
		return this.api<RunResponse>('POST', `/api/v1/workflows/${workflow}/runs`);
	}

	async task(id: string): Promise<TaskResponse['task']> {
		return (await this.api<TaskResponse>('GET', `/api/v1/tasks/${id}`)).task;
	}

	async runTasks(runId: string): Promise<Task[]> {
		return (await this.api<{ tasks: Task[] }>('GET', `/api/v1/runs/${runId}`)).tasks;
	}

	async logText(executionId: string): Promise<string> {
		return (await fetch(`${this.url}/api/v1/executions/${executionId}/log`)).text();
	}
}

/** the `gated` workflow (tests/fixtures/e2e-live): its log grows only when the test opens a gate */
export const GATED_WORKFLOWS = path.join(ROOT, 'tests/fixtures/e2e-live');

/**
 * The gates of the `gated` workflow's tool: it prints 5 lines, then 10 more for each gate
 * opened, so a test looks at a log of a known length however slow the machine is.
 */
export class Gates {
	readonly dir = tempDir('aco-gates-');

	/** the server options that point the tool at these gates */
	get options(): StartOptions {
		return { workflowsDir: GATED_WORKFLOWS, env: { ACO_E2E_GATES: this.dir } };
	}

	open(gate: number | string): void {
		fs.writeFileSync(path.join(this.dir, String(gate)), '');
	}

	remove(): void {
		fs.rmSync(this.dir, { recursive: true, force: true });
	}
}

export const test = base.extend<{ aco: AcoServer; gated: { aco: AcoServer; gates: Gates } }>({
	// Playwright reads the fixture list from the first parameter, so it must be a pattern
	// eslint-disable-next-line no-empty-pattern
	aco: async ({}, use) => {
		// the demo's pause per item; a little faster than a person would run it, still live to watch
		const server = new AcoServer({ env: { ACO_DEMO_TICK_MS: '150' } });
		await server.start();
		await use(server);
		await server.stop();
	},
	// eslint-disable-next-line no-empty-pattern
	gated: async ({}, use) => {
		const gates = new Gates();
		const server = new AcoServer(gates.options);
		await server.start();
		await use({ aco: server, gates });
		await server.stop();
		gates.remove();
	}
});

export { expect };
