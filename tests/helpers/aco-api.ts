/**
 * @module tests/helpers/aco-api
 * A small REST client for tests against a real server, with the bearer token when one is
 * given: JSON requests that throw with the server's answer on an error status, workflow runs
 * awaited to their end, and every stored byte of a data folder (for "this value is nowhere on
 * disk" checks).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Execution, RunDetailResponse, RunResponse, Task, TaskResponse } from '../../src/lib/protocol';

export interface Server {
	url: string;
}

export interface AcoApi {
	get<T>(urlPath: string): Promise<T>;
	post<T>(urlPath: string, body?: unknown, headers?: Record<string, string>): Promise<T>;
	/** the answer's status and JSON body, whatever the status */
	request(method: string, urlPath: string, body?: unknown): Promise<{ status: number; body: unknown }>;
	text(urlPath: string): Promise<string>;
}

export function acoApi(server: Server, token?: string): AcoApi {
	const auth: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
	const request = async (
		method: string,
		urlPath: string,
		body?: unknown,
		headers: Record<string, string> = {}
	) => {
		const res = await fetch(server.url + urlPath, {
			method,
			headers: { ...auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
			body: body === undefined ? undefined : JSON.stringify(body)
		});
		const text = await res.text();
		let json: unknown = text;
		try {
			json = JSON.parse(text);
		} catch {
			// not JSON: kept as text
		}
		return { status: res.status, body: json };
	};
	const ok = async <T>(method: string, urlPath: string, body?: unknown, headers?: Record<string, string>) => {
		const res = await request(method, urlPath, body, headers);
		if (res.status >= 400)
			throw new Error(`${method} ${urlPath} → ${res.status} ${JSON.stringify(res.body)}`);
		return res.body as T;
	};
	return {
		get: (urlPath) => ok('GET', urlPath),
		post: (urlPath, body, headers) => ok('POST', urlPath, body ?? {}, headers),
		request: (method, urlPath, body) => request(method, urlPath, body),
		async text(urlPath) {
			const res = await fetch(server.url + urlPath, { headers: auth });
			if (!res.ok) throw new Error(`GET ${urlPath} → ${res.status}`);
			return res.text();
		}
	};
}

export interface FinishedRun {
	run: RunDetailResponse['run'];
	tasks: (Task & { executions: Execution[] })[];
}

/** Starts a workflow and resolves once its run has ended, with every task and its executions. */
export async function runWorkflow(api: AcoApi, workflow: string, timeoutMs = 60_000): Promise<FinishedRun> {
	const { run } = await api.post<RunResponse>(`/api/v1/workflows/${workflow}/runs`);
	return waitForRun(api, run.id, timeoutMs);
}

export async function waitForRun(api: AcoApi, runId: string, timeoutMs = 60_000): Promise<FinishedRun> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const detail = await api.get<RunDetailResponse>(`/api/v1/runs/${runId}`);
		if (detail.run.status !== 'running' && detail.run.status !== 'queued') {
			const tasks = [];
			for (const task of detail.tasks)
				tasks.push((await api.get<TaskResponse>(`/api/v1/tasks/${task.id}`)).task);
			return { run: detail.run, tasks };
		}
		if (Date.now() > deadline)
			throw new Error(`run ${runId} still ${detail.run.status} after ${timeoutMs} ms`);
		await new Promise((resolve) => setTimeout(resolve, 50));
	}
}

/** Polls until `check` returns a value (not undefined/false) or the time is up. */
export async function waitFor<T>(
	check: () => Promise<T | undefined | false> | T | undefined | false,
	timeoutMs = 20_000,
	what = 'the condition'
): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const value = await check();
		if (value !== undefined && value !== false) return value;
		if (Date.now() > deadline) throw new Error(`${what} did not come true within ${timeoutMs} ms`);
		await new Promise((resolve) => setTimeout(resolve, 50));
	}
}

/** Every file under `dir` with its bytes (the database, its WAL and shared-memory files, anything else). */
export function dataFolderFiles(dir: string): { file: string; bytes: Buffer }[] {
	const files: { file: string; bytes: Buffer }[] = [];
	for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
		if (!entry.isFile()) continue;
		const file = path.join(entry.parentPath, entry.name);
		files.push({ file: path.relative(dir, file), bytes: fs.readFileSync(file) });
	}
	return files;
}

/** The files of `dir` whose bytes hold `needle` (UTF-8), to name in a failure. */
export function filesContaining(dir: string, needle: string): string[] {
	const wanted = Buffer.from(needle, 'utf8');
	return dataFolderFiles(dir)
		.filter(({ bytes }) => bytes.includes(wanted))
		.map(({ file }) => file);
}

/** RSS of a process in bytes, from /proc (Linux). */
export function rssOf(pid: number): number {
	const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
	const match = /VmRSS:\s+(\d+) kB/.exec(status);
	if (!match) throw new Error(`no VmRSS for process ${pid}`);
	return Number(match[1]) * 1024;
}

export interface OneStepWorkflow {
	run: string;
	args?: readonly string[];
	env?: Record<string, string>;
}

/** Writes `<dir>/<name>.yml`: a workflow of one task with one step. */
export function writeWorkflow(dir: string, name: string, step: OneStepWorkflow): void {
	const lines = [
		`name: ${name}`,
		'tasks:',
		'  run:',
		'    name: Run',
		'    steps:',
		'      - name: run',
		`        run: ${step.run}`,
		`        args: ${JSON.stringify(step.args ?? [])}`
	];
	if (step.env) {
		lines.push('        env:');
		for (const [key, value] of Object.entries(step.env))
			lines.push(`          ${key}: ${JSON.stringify(value)}`);
	}
	fs.writeFileSync(path.join(dir, `${name}.yml`), lines.join('\n') + '\n');
}
