/**
 * @module cli/commands/logs
 * `aco logs <run-task-or-execution> [--step …] [--follow] [--ndjson]`: prints logs as stored on
 * the server. An execution id prints that one log; a task or run id prints every step's log in
 * order, each under a header (`== build / Compile (exit 0) ==`); `--step` picks one step.
 * `--follow` keeps printing new lines of a task or execution until it ends.
 */
import type { Execution, Task, TaskDetail } from '../../lib/protocol/models';
import type { RunDetailResponse, TaskResponse } from '../../lib/protocol/api';
import {
	CONNECTION_OPTIONS,
	CliError,
	connectionOf,
	helpText,
	intOption,
	parseCommand,
	type CommandSpec,
	type Connection
} from '../args';
import { SUMMARIES } from './summaries';
import { AcoHttp } from '../http';

export const spec: CommandSpec = {
	name: 'logs',
	usage: 'aco logs <run|task|execution> [--step <step>] [--follow] [--ndjson] [--url <url>]',
	summary: SUMMARIES.logs,
	details: [
		'A run (run_…) or a task (task_…) prints every step, each under a header such as',
		'"== build / Compile (exit 0) ==". --step picks one and prints it alone: a step number or',
		'name for a task; "task/step" (or the task alone) for a run. With --follow, the exit code is',
		'1 when lines the server never stored are missing from what was printed (each named on stderr).'
	],
	options: {
		step: {
			type: 'string',
			short: 's',
			value: '<step>',
			description: 'only this step (number, name, or task/step)'
		},
		follow: {
			type: 'boolean',
			short: 'f',
			description: 'keep printing new lines until it ends (task or execution)'
		},
		ndjson: { type: 'boolean', description: 'one JSON line per log line: {"n","stream","ts","text"}' },
		...CONNECTION_OPTIONS
	},
	positionals: { min: 1, max: 1, names: 'a run id (run_…), a task id (task_…) or an execution id (exec_…)' }
};

interface Step {
	task: Task;
	execution: Execution;
}

export async function logs(argv: string[]): Promise<number> {
	const parsed = parseCommand(spec, argv);
	if (parsed.help) {
		process.stdout.write(helpText(spec));
		return 0;
	}
	const connection = connectionOf(parsed.values);
	const [id] = parsed.positionals;
	const ndjson = parsed.values.ndjson === true;
	const step = typeof parsed.values.step === 'string' ? parsed.values.step : undefined;
	const kind = id.startsWith('run_') ? 'run' : id.startsWith('task_') ? 'task' : 'execution';
	if (step !== undefined && kind === 'execution') {
		throw new CliError(`aco logs: --step needs a run or task id; ${id} is already one step.`);
	}
	const http = new AcoHttp(connection);

	if (parsed.values.follow === true) {
		if (kind === 'run') {
			throw new CliError(
				`aco logs --follow follows a task or an execution; for a whole run use "aco run <workflow> --follow" or "aco watch".`
			);
		}
		let executionId = kind === 'execution' ? id : undefined;
		if (step !== undefined) executionId = (await stepToFollow(connection, id, step)).execution.id;
		const { DEFAULT_RESUME_WAIT_MS, followLog } = await import('../follow/follow-log');
		// the server's silence limit, where the command runs with the server's settings; 0 (the
		// server never gives up on a producer) keeps the default, so the follow still ends
		const silenceMs = intOption(
			'logs',
			'ACO_INGEST_SILENCE_MS',
			process.env.ACO_INGEST_SILENCE_MS,
			DEFAULT_RESUME_WAIT_MS
		);
		return followLog({
			url: connection.url,
			token: connection.token,
			tokenSource: connection.tokenSource,
			...(executionId ? { executionId } : { taskId: id }),
			ndjson,
			out: process.stdout,
			resumeWaitMs: silenceMs || DEFAULT_RESUME_WAIT_MS
		});
	}

	if (kind === 'execution') {
		await printLog(http, id, ndjson);
		return 0;
	}
	const steps = kind === 'run' ? await stepsOfRun(http, id) : await stepsOfTask(http, id);
	if (step !== undefined) {
		const chosen =
			kind === 'run' && !step.includes('/') ? stepsOf(steps, step, id) : [pick(steps, step, kind)];
		for (const one of chosen) await printLog(http, one.execution.id, ndjson);
		return 0;
	}
	if (steps.length === 0) {
		process.stderr.write(`aco: ${id} has no steps with a log yet.\n`);
		return 0;
	}
	for (const one of steps) {
		// NDJSON stays one JSON object per line, without headers
		if (!ndjson) await write(Buffer.from(`== ${title(one)} (${outcome(one.execution)}) ==\n`));
		await printLog(http, one.execution.id, ndjson);
	}
	return 0;
}

async function stepsOfTask(http: AcoHttp, taskId: string): Promise<Step[]> {
	const { task } = await http.request<TaskResponse>('GET', `/tasks/${encodeURIComponent(taskId)}`, {
		expect: ['task']
	});
	return byStep(task);
}

function byStep(task: TaskDetail): Step[] {
	return [...task.executions].sort((a, b) => a.step - b.step).map((execution) => ({ task, execution }));
}

/**
 * The step `--follow --step` follows, loaded as the follow loads what it follows: a failure that
 * may pass (a proxy's 502 while the server restarts, the server out of reach) is asked again with
 * back-off and one notice; anything else (404, 401, 403, 500) ends the command.
 */
async function stepToFollow(connection: Connection, taskId: string, wanted: string): Promise<Step> {
	// the follow loads these anyway; a plain `aco logs` does without them
	const [{ RestClient }, { RestRetry }, { fetchRetryNotice }] = await Promise.all([
		import('../realtime/rest'),
		import('../realtime/rest-retry'),
		import('../follow/format')
	]);
	const rest = new RestClient(connection);
	const retry = new RestRetry({
		onOutage: (err) => process.stderr.write(fetchRetryNotice(`task ${taskId}`, err))
	});
	try {
		const { task } = await retry.run((signal) => rest.getTask(taskId, signal));
		return pick(byStep(task), wanted, 'task');
	} finally {
		retry.stop();
	}
}

async function stepsOfRun(http: AcoHttp, runId: string): Promise<Step[]> {
	const { tasks } = await http.request<RunDetailResponse>('GET', `/runs/${encodeURIComponent(runId)}`, {
		expect: ['run', 'tasks']
	});
	const steps: Step[] = [];
	// in the order they started, so the output reads as the run went
	const started = tasks
		.filter((t) => t.started_at)
		.sort((a, b) => a.started_at!.localeCompare(b.started_at!));
	for (const task of started) steps.push(...(await stepsOfTask(http, task.id)));
	return steps;
}

/** `build / Compile`: the task's key and the step's name */
function title({ task, execution }: Step): string {
	return `${task.key} / ${execution.name}`;
}

function outcome(execution: Execution): string {
	if (execution.status === 'running') return 'running';
	if (execution.signal) return `${execution.status}, ${execution.signal}`;
	if (execution.exit_code !== null) return `exit ${execution.exit_code}`;
	return execution.error ? `${execution.status}: ${execution.error}` : execution.status;
}

/** one step of a task (number or name) or of a run (`task/step`) */
function pick(steps: Step[], wanted: string, kind: 'run' | 'task'): Step {
	const [taskPart, stepPart] = kind === 'run' ? splitOnce(wanted) : [null, wanted];
	const inTask = taskPart === null ? steps : steps.filter((s) => s.task.key === taskPart);
	const number = /^\d+$/.test(stepPart) ? Number(stepPart) : null;
	const found =
		number !== null
			? inTask.find((s) => s.execution.step + 1 === number)
			: inTask.find((s) => s.execution.name.toLowerCase() === stepPart.toLowerCase());
	if (found) return found;
	const names = steps.map((s) => (kind === 'run' ? `${s.task.key}/${s.execution.name}` : s.execution.name));
	throw new CliError(
		`aco logs: no step "${wanted}"; there ${names.length === 1 ? 'is' : 'are'}: ${names.join(', ') || 'none yet'}.`,
		1
	);
}

/** every step of one task of a run */
function stepsOf(steps: Step[], taskKey: string, runId: string): Step[] {
	const chosen = steps.filter((s) => s.task.key === taskKey);
	if (chosen.length) return chosen;
	const keys = [...new Set(steps.map((s) => s.task.key))];
	throw new CliError(
		`aco logs: run ${runId} has no task "${taskKey}" with a log; tasks: ${keys.join(', ') || 'none yet'}.`,
		1
	);
}

function splitOnce(text: string): [string, string] {
	const at = text.indexOf('/');
	return [text.slice(0, at), text.slice(at + 1)];
}

async function printLog(http: AcoHttp, executionId: string, ndjson: boolean): Promise<void> {
	await http.download(
		`/executions/${encodeURIComponent(executionId)}/log${ndjson ? '?format=ndjson' : ''}`,
		write,
		{ headers: { accept: '*/*' } }
	);
}

/** writes with backpressure, so `aco logs … | head` neither buffers the log nor crashes */
function write(chunk: Uint8Array): Promise<void> {
	return new Promise((resolve) => {
		if (process.stdout.write(chunk)) resolve();
		else process.stdout.once('drain', resolve);
	});
}
