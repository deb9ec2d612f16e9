/**
 * @module cli/commands/summaries
 * One line per command, for `aco --help` and each command's own help. Kept apart from the
 * commands so that listing them loads none of them.
 */
export const SUMMARIES = {
	server: 'Start the aco server: the web app, the REST API and the live hub on /ws.',
	run: 'Start a workflow run on the aco server.',
	exec: 'Run a command here and show it live on the aco server as a task.',
	logs: 'Print the logs of a run (run_…), a task (task_…) or one step (exec_…).',
	watch: "The terminal dashboard: live tasks with progress, the selected task's output, notifications."
} as const;

export type CommandName = keyof typeof SUMMARIES;
