/**
 * @module realtime/test-fixtures
 * Records and a scripted fetch for the stores' specs.
 */
import type { Execution, LogLine, Task, WorkflowRun } from '$lib/protocol';

let clock = Date.parse('2030-01-01T00:00:00Z');
function stamp(): string {
	clock += 1000;
	return new Date(clock).toISOString();
}

/** the `task.status` event (seq `seq`) that carries `task` */
export function statusEvent(seq: number, task: Task) {
	return {
		type: 'task.status' as const,
		seq,
		data: { task_id: task.id, run_id: task.run_id, status: task.status, message: task.message, task }
	};
}

export function makeTask(fields: Partial<Task> = {}): Task {
	return {
		id: 't1',
		run_id: null,
		key: 'build',
		name: 'Build',
		status: 'running',
		progress: 0,
		message: null,
		needs: [],
		weight: 1,
		optional: false,
		step_count: 1,
		created_at: stamp(),
		started_at: null,
		finished_at: null,
		duration_ms: null,
		error: null,
		...fields
	};
}

export function makeRun(fields: Partial<WorkflowRun> = {}): WorkflowRun {
	return {
		id: 'r1',
		workflow: 'demo',
		status: 'running',
		progress: 0,
		total_weight: 3,
		finished_weight: 0,
		created_at: stamp(),
		started_at: null,
		finished_at: null,
		duration_ms: null,
		error: null,
		...fields
	};
}

export function makeExecution(fields: Partial<Execution> = {}): Execution {
	return {
		id: 'x1',
		task_id: 't1',
		step: 0,
		name: 'compile',
		command: 'make',
		args: [],
		cwd: null,
		status: 'running',
		exit_code: null,
		signal: null,
		started_at: stamp(),
		finished_at: null,
		duration_ms: null,
		line_count: 0,
		error: null,
		...fields
	};
}

export function makeLines(from: number, to: number, stream: LogLine['stream'] = 'stdout'): LogLine[] {
	const lines: LogLine[] = [];
	for (let n = from; n <= to; n++)
		lines.push({ n, stream, ts: '2030-01-01T00:00:00.000Z', text: `line ${n}` });
	return lines;
}

type Route = (url: URL, init?: RequestInit) => unknown | Promise<unknown>;

/**
 * A fetch that answers from `routes` ("GET /api/v1/tasks" → handler). A handler returns a body
 * (JSON-encoded, or a string sent as is) or a Response. Every request is recorded in `calls`.
 */
export function scriptedFetch(routes: Record<string, Route>) {
	const calls: string[] = [];
	const fetchFn = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
		const url = new URL(String(input), 'http://aco.test');
		const method = init?.method ?? 'GET';
		calls.push(`${method} ${url.pathname}${url.search}`);
		if (init?.signal?.aborted) throw new DOMException('aborted', 'AbortError');
		const route = routes[`${method} ${url.pathname}`];
		if (!route) {
			return new Response(
				JSON.stringify({ error: { code: 'not_found', message: `no route ${url.pathname}` } }),
				{
					status: 404
				}
			);
		}
		const body = await route(url, init);
		if (body instanceof Response) return body;
		return new Response(typeof body === 'string' ? body : JSON.stringify(body), { status: 200 });
	};
	return { fetch: fetchFn as typeof fetch, calls };
}

export function ndjson(lines: LogLine[]): string {
	return lines.map((l) => JSON.stringify(l) + '\n').join('');
}

/** Resolves after pending promises and microtasks have run. */
export function settle(): Promise<void> {
	return new Promise((resolve) => setTimeout(resolve, 0));
}

/** A promise with its resolve function, to hold a response back. */
export function deferred<T = void>() {
	let resolve!: (value: T) => void;
	const promise = new Promise<T>((r) => (resolve = r));
	return { promise, resolve };
}
