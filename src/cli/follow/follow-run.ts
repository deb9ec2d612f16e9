/**
 * @module cli/follow/follow-run
 * `aco run <workflow> --follow`: prints a run's tasks as they start and end, their progress in
 * steps of 10%, and every line of their tools' output (backlog over REST, then live, by line
 * number), until the run ends. Exit code 0 only when the run succeeded and every line was printed
 * (lines skipped and never stored are named on stderr at the end).
 *
 * REST snapshots and events race (a snapshot read before an event may arrive after it), so a
 * task record is merged by the browser's lifecycle rule (records.mergeRecord): it never goes back
 * from finished to running. A partial line (a piece of an overlong line, a progress snapshot)
 * is continued by the next line of its tool on the same terminal line, as `aco logs` prints it.
 * Logs print in task start order, a task's steps in step order, and lines the store is slow to
 * write are waited for or skipped with notices, as `aco logs --follow` does (tails, log-tail).
 *
 * A log the server says is gone (404) or refuses ends the follow at once with exit code 1, and
 * so does an address with no hub (the upgrade refused with a 404 or the like); a failing server
 * (5xx, out of reach) is asked again after a back-off, with one notice per outage: for the logs,
 * and for the run and its tasks as loaded after (re)connecting and at the run's end. A hub not
 * reached for the retry budget (reconnect-budget) ends it with exit code 1 too.
 */
import { fromOutputLine } from '../../lib/protocol/events';
import type { TokenSource } from '../args';
import type { AnyEventEnvelope } from '../../lib/protocol/messages';
import { isTerminal, type LogLine, type Task, type WorkflowRun } from '../../lib/protocol/models';
import { mergeRecord } from '../../lib/realtime/records';
import { RealtimeClient, type RealtimeClientOptions } from '../realtime/client';
import { RestClient } from '../realtime/rest';
import {
	cleanLine,
	errorText,
	formatDuration,
	painter,
	STATUS_COLOR,
	STATUS_MARK,
	type Output,
	type Paint
} from './format';
import { noticeOlderHub } from './older-hub';
import { watchReconnects } from './reconnect-budget';
import { followerRest, reportUnprinted } from './tails';
import { showLine } from './workflow-lines';

export interface FollowRunOptions {
	url: string;
	token?: string;
	/** where `token` came from, named when the server refuses it */
	tokenSource?: TokenSource;
	runId: string;
	out: Output;
	/** where errors and connection notes go; stderr by default */
	err?: Output;
	client?: Partial<RealtimeClientOptions>;
	gapRetryDelayMs?: number;
	/** how long to wait for lines the store lacks before going on without them (tests) */
	retryBudgetMs?: number;
	/** how long without a connection to the hub before giving up (DEFAULT_RETRY_BUDGET_MS) */
	reconnectBudgetMs?: number;
}

const SUBSCRIPTION = 'follow-run';
/** Progress is printed when it crosses a multiple of this many percent. */
const PROGRESS_STEP = 10;

/** What has been printed about each task, so a reload repeats nothing. */
interface Printed {
	status: string;
	progress: number;
	progressStep: number;
}

export function followRun(options: FollowRunOptions): Promise<number> {
	const err = options.err ?? process.stderr;
	const rest = new RestClient(options);
	const paint = painter(options.out);
	const client = new RealtimeClient({
		url: options.url,
		token: options.token,
		tokenSource: options.tokenSource,
		...options.client
	});
	noticeOlderHub(client, err);
	const tasks = new Map<string, Task>();
	const printed = new Map<string, Printed>();
	const execTask = new Map<string, string>();
	// a log that is gone (404) or refused will not come by asking again: the follow ends then;
	// the follow's end stops a load that waits out a failing server
	const {
		tails,
		retry,
		failure,
		refused: logRefused
	} = followerRest({
		rest,
		onLines: (executionId, lines) => printLines(executionId, lines),
		what: `run ${options.runId}`,
		err,
		gapRetryDelayMs: options.gapRetryDelayMs,
		retryBudgetMs: options.retryBudgetMs,
		backoff: options.client?.backoff,
		// a workflow's steps: a live record of step 2 may come before the snapshot placing step 1
		stepsInOrder: true
	});

	const out = new ProgressLines(options.out);
	const label = (taskId: string) => tasks.get(taskId)?.key ?? taskId;
	const printLines = (executionId: string, lines: LogLine[]) => {
		const prefix = paint('dim', `[${label(execTask.get(executionId) ?? '?')}]`);
		let chunk = '';
		let continues = out.openLine === executionId;
		for (const line of lines) {
			// workflow commands read as what they mean; ::progress shows as the task's progress line
			// (the rest of a partial line is not the start of one, so never a command)
			const shown = continues ? { text: cleanLine(line.text) } : showLine(line.text);
			if (!shown) continue;
			const color = shown.color ?? (line.stream === 'stderr' ? 'red' : null);
			const text = color ? paint(color, shown.text) : shown.text;
			chunk += `${continues ? '' : `${prefix} `}${text}${line.partial ? '' : '\n'}`;
			continues = !!line.partial;
		}
		out.write(chunk, executionId, continues);
	};
	// a snapshot or event never moves a task back along its lifecycle (but a retry, below);
	// progress events patch it
	const noteTask = (incoming: Task) => showTask(mergeRecord(tasks.get(incoming.id), incoming));
	const showTask = (task: Task) => {
		tasks.set(task.id, task);
		const change = describeTask(task, printed, paint, out.live);
		out.write(change.lines);
		if (change.progress) out.progress(task.id, change.progress);
	};

	return new Promise<number>((resolve) => {
		let ended = false;
		const stopWatching = watchReconnects(client, {
			budgetMs: options.reconnectBudgetMs,
			onGiveUp: (message) => void end(null, new Error(message))
		});
		const end = async (run: WorkflowRun | null, error?: unknown) => {
			if (ended) return;
			ended = true;
			stopWatching();
			let loadError: unknown = null;
			if (run) {
				try {
					await loadExecutions(run.id);
				} catch (e) {
					loadError = e;
				}
				await tails.idle();
			}
			const problem = error ?? failure() ?? loadError;
			// what the follow printed lacks lines it skipped that were never stored: no clean exit
			const incomplete = run !== null && !problem && reportUnprinted(tails, err);
			retry.stop();
			client.destroy();
			tails.destroy();
			if (problem) err.write(`aco: ${errorText(problem)}\n`);
			if (run) out.write(describeRun(run, paint));
			resolve(!problem && !incomplete && run?.status === 'succeeded' ? 0 : 1);
		};

		// every task's executions: their tails open (backlog) and learn how many lines exist
		const loadExecutions = async (runId: string) => {
			const { tasks: list } = await retry.run((signal) => rest.getRun(runId, signal));
			for (const task of list.sort((a, b) => (a.started_at ?? '~').localeCompare(b.started_at ?? '~'))) {
				if (task.status === 'queued') continue;
				const { task: detail } = await retry.run((signal) => rest.getTask(task.id, signal));
				for (const execution of detail.executions.sort((a, b) => a.step - b.step)) {
					execTask.set(execution.id, task.id);
					tails.noteExecution(execution, task.started_at);
				}
			}
		};

		const reload = async () => {
			try {
				const { run, tasks: list } = await retry.run((signal) => rest.getRun(options.runId, signal));
				for (const task of list) noteTask(task);
				await loadExecutions(run.id);
				tails.resyncAll();
				if (isTerminal(run.status)) await end(run);
			} catch (e) {
				await end(null, e);
			}
		};

		client.onEvent((event) => onEvent(event));
		const onEvent = (event: AnyEventEnvelope) => {
			switch (event.type) {
				case 'task.created':
				case 'task.status':
				case 'task.completed':
				case 'task.failed':
					// sent back to the queue (its node died and the workflow allows a retry): it goes back on
					// purpose, and starts again; only `task.created` says queued otherwise
					if (event.type === 'task.status' && event.data.task.status === 'queued') showTask(event.data.task);
					else noteTask(event.data.task);
					return;
				case 'task.progress': {
					const task = tasks.get(event.data.task_id);
					if (task && !isTerminal(task.status)) {
						showTask({ ...task, progress: event.data.progress, message: event.data.message });
					}
					return;
				}
				case 'tool.started':
					execTask.set(event.data.execution_id, event.data.task_id);
					tails.noteExecution(event.data.execution, tasks.get(event.data.task_id)?.started_at);
					return;
				case 'tool.lines':
					execTask.set(event.data.execution_id, event.data.task_id);
					// a step not placed yet (its record not loaded) keeps its lines until it is
					tails.pushLines(event.data.execution_id, event.data.lines.map(fromOutputLine));
					return;
				case 'tool.completed':
				case 'tool.failed':
					execTask.set(event.data.execution_id, event.data.task_id);
					tails.noteExecution(event.data.execution, tasks.get(event.data.task_id)?.started_at);
					return;
				case 'workflow.completed':
				case 'workflow.failed':
					void end(event.data.run);
					return;
			}
		};
		client.onResync(() => void reload());
		client.onStateChange((state) => {
			if (state === 'reconnecting' && client.attempt <= 1) {
				err.write('aco: lost the connection to the server; reconnecting…\n');
			}
			if (state === 'offline' && client.offlineReason !== 'destroyed') {
				void end(null, new Error(client.offlineMessage));
			}
		});
		void logRefused.then(() => end(null));
		client.subscribe(SUBSCRIPTION, { run_ids: [options.runId] });
		client.connect();
	});
}

/**
 * What a task's change earns: lines (started, ended) and a progress line. On a terminal every
 * progress change is drawn (in place, see {@link ProgressLines}); elsewhere once per 10 %.
 */
export function describeTask(
	task: Task,
	printed: Map<string, Printed>,
	paint: Paint,
	live = false
): { lines: string; progress: string | null } {
	const before = printed.get(task.id);
	const step = Math.floor(task.progress / PROGRESS_STEP);
	const name = paint('bold', task.name || task.key);
	let lines = '';
	let progress: string | null = null;
	if (!before || before.status !== task.status) {
		if (task.status === 'running') lines += `${paint('cyan', STATUS_MARK.running)} ${name} started\n`;
		else if (isTerminal(task.status)) {
			const took = formatDuration(task.duration_ms);
			const why = task.status === 'failed' && task.error ? `: ${task.error}` : '';
			const mark = paint(STATUS_COLOR[task.status], `${STATUS_MARK[task.status]} ${task.status}`);
			lines += `${mark} ${name}${took ? ` in ${took}` : ''}${why}\n`;
		}
	} else if (
		task.status === 'running' &&
		(live ? task.progress !== before.progress : step > before.progressStep)
	) {
		const message = task.message ? ` ${cleanLine(task.message)}` : '';
		progress = `${paint('dim', `… ${task.name || task.key} ${Math.round(task.progress)}%${message}`)}\n`;
	}
	printed.set(task.id, {
		status: task.status,
		progress: task.progress,
		progressStep: Math.max(step, before?.progressStep ?? 0)
	});
	return { lines, progress };
}

/**
 * Writes lines, and progress lines that a terminal redraws in place: while a task's progress
 * line is the last thing printed, its next update overwrites it instead of adding a line. A
 * tool's unfinished (partial) line stays open for its rest; anything else written first ends it.
 */
class ProgressLines {
	readonly live: boolean;
	#out: Output;
	/** the task whose progress line is the last one printed (on a terminal) */
	#open: string | null = null;
	/** the execution whose partial line, with no newline yet, is the last thing printed */
	#openLine: string | null = null;

	constructor(out: Output, env: NodeJS.ProcessEnv = process.env) {
		this.#out = out;
		this.live = !!out.isTTY && env.TERM !== 'dumb';
	}

	get openLine(): string | null {
		return this.#openLine;
	}

	/** `from`: the execution whose lines these are; `leavesOpen`: they end in a partial line */
	write(text: string, from: string | null = null, leavesOpen = false): void {
		if (!text) return;
		if (this.#openLine !== null && this.#openLine !== from) text = `\n${text}`;
		this.#openLine = leavesOpen ? from : null;
		this.#open = null;
		this.#out.write(text);
	}

	progress(taskId: string, line: string): void {
		this.#endOpenLine();
		if (!this.live) {
			this.#out.write(line);
			return;
		}
		// the cursor sits below the open line: go up, clear it, draw the new one
		this.#out.write(this.#open === taskId ? `\x1b[1A\r\x1b[2K${line}` : line);
		this.#open = taskId;
	}

	#endOpenLine(): void {
		if (this.#openLine === null) return;
		this.#openLine = null;
		this.#open = null;
		this.#out.write('\n');
	}
}

export function describeRun(run: WorkflowRun, paint: Paint): string {
	const took = formatDuration(run.duration_ms);
	const mark = paint(
		STATUS_COLOR[run.status],
		`${STATUS_MARK[run.status]} Run ${run.workflow} ${run.status}`
	);
	const why = run.status !== 'succeeded' && run.error ? `: ${run.error}` : '';
	return `${mark}${took ? ` in ${took}` : ''}${why}\n`;
}
