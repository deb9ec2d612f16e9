/**
 * @module cli/commands/logs
 * `aco logs <execution-or-task> [--follow] [--ndjson]`: prints a tool execution's log, or every
 * log of a task in step order, as stored on the server; `--follow` keeps printing new lines
 * until the execution (or task) ends. Output is the log's text, or one JSON LogLine per line.
 */
import type { TaskResponse } from '../../lib/protocol';
import { CONNECTION_OPTIONS, connectionOf, helpText, parseCommand, type CommandSpec } from '../args';
import { SUMMARIES } from './summaries';
import { AcoHttp } from '../http';

export const spec: CommandSpec = {
	name: 'logs',
	usage: 'aco logs <execution-or-task> [--follow] [--ndjson] [--url <url>]',
	summary: SUMMARIES.logs,
	options: {
		follow: { type: 'boolean', short: 'f', description: 'keep printing new lines until it ends' },
		ndjson: { type: 'boolean', description: 'one JSON line per log line: {"n","stream","ts","text"}' },
		...CONNECTION_OPTIONS
	},
	positionals: { min: 1, max: 1, names: 'an execution id (exec_…) or a task id (task_…)' }
};

export async function logs(argv: string[]): Promise<number> {
	const parsed = parseCommand(spec, argv);
	if (parsed.help) {
		process.stdout.write(helpText(spec));
		return 0;
	}
	const connection = connectionOf(parsed.values);
	const [id] = parsed.positionals;
	const isTask = id.startsWith('task_');
	const ndjson = parsed.values.ndjson === true;
	if (parsed.values.follow === true) {
		const { followLog } = await import('../follow/follow-log');
		return followLog({
			url: connection.url,
			token: connection.token,
			...(isTask ? { taskId: id } : { executionId: id }),
			ndjson,
			out: process.stdout
		});
	}
	const http = new AcoHttp(connection);
	const executions = isTask
		? (await http.request<TaskResponse>('GET', `/tasks/${encodeURIComponent(id)}`)).task.executions.map(
				(e) => e.id
			)
		: [id];
	for (const executionId of executions) {
		const response = await http.fetch(
			'GET',
			`/executions/${encodeURIComponent(executionId)}/log${ndjson ? '?format=ndjson' : ''}`,
			{ headers: { accept: '*/*' } }
		);
		if (!response.body) continue;
		const reader = response.body.getReader();
		for (let part = await reader.read(); !part.done; part = await reader.read()) await write(part.value);
	}
	return 0;
}

/** writes with backpressure, so `aco logs … | head` neither buffers the log nor crashes */
function write(chunk: Uint8Array): Promise<void> {
	return new Promise((resolve) => {
		if (process.stdout.write(chunk)) resolve();
		else process.stdout.once('drain', resolve);
	});
}
