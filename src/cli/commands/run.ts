/**
 * @module cli/commands/run
 * `aco run <workflow> [--follow]`: starts a workflow run on a server. With `--follow` it shows
 * the run's tasks and output until the run ends and exits 0 only when the run succeeded and
 * every line was printed.
 */
import type { RunDetailResponse, RunResponse } from '../../lib/protocol';
import { CONNECTION_OPTIONS, connectionOf, helpText, parseCommand, type CommandSpec } from '../args';
import { SUMMARIES } from './summaries';
import { AcoHttp } from '../http';

export const spec: CommandSpec = {
	name: 'run',
	usage: 'aco run <workflow> [--follow] [--url <url>]',
	summary: SUMMARIES.run,
	details: [
		"Prints the run id. With --follow, shows the run's tasks and output until it ends; the exit",
		'code is then 0 only when the run succeeded (1 when it failed, was cancelled or interrupted)',
		'and every line was printed (1 when lines the server never stored are missing, each named).'
	],
	options: {
		follow: { type: 'boolean', short: 'f', description: 'show the run live until it ends' },
		...CONNECTION_OPTIONS
	},
	positionals: { min: 1, max: 1, names: 'the workflow name (aco lists them at GET /api/v1/workflows)' }
};

export async function run(argv: string[]): Promise<number> {
	const parsed = parseCommand(spec, argv);
	if (parsed.help) {
		process.stdout.write(helpText(spec));
		return 0;
	}
	const connection = connectionOf(parsed.values);
	const http = new AcoHttp(connection);
	const [workflow] = parsed.positionals;
	const { run: started } = await http.request<RunResponse>(
		'POST',
		`/workflows/${encodeURIComponent(workflow)}/runs`,
		{ expect: ['run'] }
	);
	if (parsed.values.follow !== true) {
		process.stdout.write(`${started.id}\n`);
		process.stderr.write(
			`aco: started run ${started.id} of "${workflow}"; watch it with "aco watch" or at ${http.base}\n`
		);
		return 0;
	}
	process.stderr.write(`aco: started run ${started.id} of "${workflow}"\n`);
	const { followRun } = await import('../follow/follow-run');
	const code = await followRun({
		url: connection.url,
		token: connection.token,
		tokenSource: connection.tokenSource,
		runId: started.id,
		out: process.stdout
	});
	if (code !== 0) return code;
	// the exit code promises success: take it from the stored run, not from what was printed
	const { run: finished } = await http.request<RunDetailResponse>(
		'GET',
		`/runs/${encodeURIComponent(started.id)}`,
		{ expect: ['run'] }
	);
	return finished.status === 'succeeded' ? 0 : 1;
}
