/**
 * @module cli/follow/follow-log
 * `aco logs <execution-or-task> --follow`: prints the stored log over REST, then the lines of
 * live `tool.lines` events (one write per event), with no gap and no duplicate (by line number),
 * and returns once the tool (or, for a task, the task and all its tools) has finished and every
 * line is printed. A task's steps print in step order, however their live lines and its
 * snapshots race (tails).
 *
 * Lines the stream went past but the store has not written yet (it writes in batches, and after
 * a database outage of its own) are waited for, with a notice on stderr; lines it still lacks after
 * the retry budget are skipped with a notice, and printed under another once stored.
 *
 * A log or task the server says is gone (404) or refuses ends the follow at once with exit
 * code 1, and so does an address with no hub (the upgrade refused with a 404 or the like); a
 * failing server (5xx, out of reach) is asked again after a back-off, with one notice per outage:
 * for the log, and for the task or execution as first loaded and reloaded after a reconnect. A
 * hub not reached for the retry budget (reconnect-budget) ends it with exit code 1 too.
 *
 * A stand-alone task (`aco exec`, the ingest API) that the server marked `interrupted` at its
 * start is not over: the server resumes it when its producer reports again, and never ends it
 * otherwise. The follow waits for that for as long as the server would wait for a silent running
 * producer (ACO_INGEST_SILENCE_MS) since the interruption, then ends with the task as it stands.
 * So does the follow of one of its executions, closed as `interrupted` with it: a resumed producer
 * goes on writing to it and ends it (or ends the task and leaves it so).
 */
import { fromOutputLine } from '../../lib/protocol/events';
import { isTerminal, type Execution, type LogLine, type TaskDetail } from '../../lib/protocol/models';
import { MAX_TIMER_MS, type TokenSource } from '../args';
import { RealtimeClient, type RealtimeClientOptions } from '../realtime/client';
import { RestClient } from '../realtime/rest';
import { cleanLine, errorText, painter, type Output } from './format';
import { noticeOlderHub } from './older-hub';
import { watchReconnects } from './reconnect-budget';
import { followerRest, reportUnprinted, type TailSet } from './tails';

export interface FollowLogOptions {
	url: string;
	token?: string;
	/** where `token` came from, named when the server refuses it */
	tokenSource?: TokenSource;
	/** one of the two */
	executionId?: string;
	taskId?: string;
	/** one JSON LogLine per line ({ n, stream, ts, text }), as `?format=ndjson` serves it */
	ndjson?: boolean;
	out: Output;
	/** where errors and connection notes go; stderr by default */
	err?: Output;
	/** for tests: a socket factory, shorter backoff */
	client?: Partial<RealtimeClientOptions>;
	gapRetryDelayMs?: number;
	/** how long to wait for lines the store lacks before going on without them (tests) */
	retryBudgetMs?: number;
	/** how long without a connection to the hub before giving up (DEFAULT_RETRY_BUDGET_MS) */
	reconnectBudgetMs?: number;
	/**
	 * how long after its interruption a stand-alone task is waited for to resume: the server's
	 * ACO_INGEST_SILENCE_MS (DEFAULT_RESUME_WAIT_MS)
	 */
	resumeWaitMs?: number;
}

/** the server's default ACO_INGEST_SILENCE_MS: a producer silent this long has lost contact */
export const DEFAULT_RESUME_WAIT_MS = 5 * 60_000;

const SUBSCRIPTION = 'follow-log';

/**
 * Follows one execution's or one task's log; resolves with the exit code: 0 when printed whole, 1
 * when lines skipped on the way were never stored (each run named on `err`) or the follow failed.
 */
export async function followLog(options: FollowLogOptions): Promise<number> {
	const err = options.err ?? process.stderr;
	if (!options.executionId === !options.taskId) {
		err.write('aco: give either an execution id or a task id to follow.\n');
		return 2;
	}
	const rest = new RestClient(options);
	const paint = painter(options.out);
	const print = (lines: LogLine[]) => {
		let chunk = '';
		for (const line of lines) {
			if (options.ndjson) {
				chunk += JSON.stringify(line) + '\n';
				continue;
			}
			const text = cleanLine(line.text);
			// a partial line (a piece of an overlong line, a progress snapshot) is continued by the
			// next one, as in the download
			chunk += (line.stream === 'stderr' ? paint('red', text) : text) + (line.partial ? '' : '\n');
		}
		options.out.write(chunk);
	};

	// the follow's end stops a load that waits out a failing server
	const {
		tails,
		retry,
		failure,
		refused: logRefused
	} = followerRest({
		rest,
		onLines: (_id, lines) => print(lines),
		what: options.executionId ? `execution ${options.executionId}` : `task ${options.taskId}`,
		err,
		gapRetryDelayMs: options.gapRetryDelayMs,
		retryBudgetMs: options.retryBudgetMs,
		backoff: options.client?.backoff
	});
	const resumeWaitMs = options.resumeWaitMs ?? DEFAULT_RESUME_WAIT_MS;
	const load = () => retry.run((signal) => loadTarget(rest, options, resumeWaitMs, signal));
	try {
		// what to follow: one execution, or every execution of a task in step order; their logs open
		// now, in that order (the reload once the subscription is live fetches what came meanwhile)
		const target = await load();
		for (const execution of target.executions) tails.noteExecution(execution);
		if (target.done) {
			await tails.idle();
			return finish(failure(), err, tails);
		}
		return await followLive(options, load, target, tails, err, failure, logRefused);
	} catch (e) {
		return finish(e, err);
	} finally {
		retry.stop();
		tails.destroy();
	}
}

interface Target {
	taskId: string;
	executions: Execution[];
	/** nothing more will be written */
	done: boolean;
	/** an interrupted stand-alone task: when to stop waiting for it to resume (ms since the epoch) */
	resumableUntil: number | null;
}

async function loadTarget(
	rest: RestClient,
	options: FollowLogOptions,
	resumeWaitMs: number,
	signal: AbortSignal
): Promise<Target> {
	if (options.executionId) {
		const { execution } = await rest.getExecution(options.executionId, signal);
		if (execution.status !== 'interrupted') {
			return {
				taskId: execution.task_id,
				executions: [execution],
				done: execution.status !== 'running',
				resumableUntil: null
			};
		}
		// interrupted by a restart under its stand-alone task's producer: that task may resume, and the
		// producer then goes on writing to this execution and ends it
		const { task } = await rest.getTask(execution.task_id, signal);
		const resumableUntil = resumableUntilOf(task, resumeWaitMs);
		const resumed = task.run_id === null && !isTerminal(task.status);
		return {
			taskId: task.id,
			executions: [execution],
			done: !resumed && resumableUntil === null,
			resumableUntil
		};
	}
	const { task } = await rest.getTask(options.taskId!, signal);
	const resumableUntil = resumableUntilOf(task, resumeWaitMs);
	return {
		taskId: task.id,
		executions: byStep(task),
		done: isTerminal(task.status) && resumableUntil === null,
		resumableUntil
	};
}

/**
 * Until when an interrupted stand-alone task may still be resumed by its producer (the server
 * restarted under it), or null: a task of a workflow run, or one interrupted longer ago.
 */
function resumableUntilOf(
	task: Pick<TaskDetail, 'status' | 'run_id' | 'finished_at'>,
	resumeWaitMs: number,
	now = Date.now()
): number | null {
	if (task.status !== 'interrupted' || task.run_id !== null) return null;
	// a server clock ahead of ours counts from now
	const at = Math.min(Date.parse(task.finished_at ?? '') || now, now);
	return at + resumeWaitMs > now ? at + resumeWaitMs : null;
}

function byStep(task: TaskDetail): Execution[] {
	return [...task.executions].sort((a, b) => a.step - b.step);
}

function followLive(
	options: FollowLogOptions,
	/** the target as it is now, asked for again while the server fails */
	loadTarget: () => Promise<Target>,
	first: Target,
	tails: TailSet,
	err: Output,
	failure: () => unknown,
	/** settles when a log is gone or refused: waiting for more of it would be for ever */
	logRefused: Promise<void>
): Promise<number> {
	const client = new RealtimeClient({
		url: options.url,
		token: options.token,
		tokenSource: options.tokenSource,
		...options.client
	});
	noticeOlderHub(client, err);
	const wanted = (executionId: string) => !options.executionId || executionId === options.executionId;
	return new Promise<number>((resolve) => {
		let ended = false;
		/** looks again once an interrupted task may no longer be resumed */
		let recheck: NodeJS.Timeout | null = null;
		/** whether the wait for the current interruption has been told of */
		let told = false;
		const waitForResume = (target: Target) => {
			if (recheck) clearTimeout(recheck);
			recheck = null;
			if (target.resumableUntil === null || ended) {
				told = false;
				return;
			}
			const delay = Math.min(Math.max(0, target.resumableUntil - Date.now()), MAX_TIMER_MS);
			if (!told) {
				told = true;
				err.write(
					`aco: task ${target.taskId} was interrupted (the server restarted under it); waiting up to ` +
						`${Math.ceil(delay / 1000)} s for its producer to resume it…\n`
				);
			}
			recheck = setTimeout(() => void reload(), delay);
		};
		const stopWatching = watchReconnects(client, {
			budgetMs: options.reconnectBudgetMs,
			onGiveUp: (message) => void end(finish(new Error(message), err))
		});
		const end = async (code: number | null) => {
			if (ended) return;
			ended = true;
			if (recheck) clearTimeout(recheck);
			stopWatching();
			if (code === null) {
				await tails.idle();
				code = finish(failure(), err, tails);
			}
			client.destroy();
			resolve(code);
		};

		// reload what the target looks like now; finished means: print what is left, then stop
		const reload = async () => {
			try {
				const target = await loadTarget();
				for (const execution of target.executions) tails.noteExecution(execution);
				tails.resyncAll();
				if (target.done) await end(null);
				else waitForResume(target);
			} catch (e) {
				// after the end the abort of a reload still waiting is no failure to report
				if (!ended) await end(finish(e, err));
			}
		};

		client.onEvent((event) => {
			if (event.type === 'tool.lines' && wanted(event.data.execution_id)) {
				// a step not placed yet (its record not loaded) keeps its lines until it is
				tails.pushLines(event.data.execution_id, event.data.lines.map(fromOutputLine));
			} else if (event.type === 'tool.started' && wanted(event.data.execution_id)) {
				tails.noteExecution(event.data.execution);
			} else if (
				(event.type === 'tool.completed' || event.type === 'tool.failed') &&
				wanted(event.data.execution_id)
			) {
				tails.noteExecution(event.data.execution);
				// an execution closed as interrupted may still be resumed with its task: looked at again
				if (options.executionId) void (event.data.execution.status === 'interrupted' ? reload() : end(null));
			} else if (event.type.startsWith('task.')) {
				// the end of a task whose followed execution was left interrupted ends the follow too
				const status = (event.data as { task?: { status: string } }).task?.status;
				if (status && isTerminal(status)) void reload();
			}
		});
		client.onResync(() => void reload());
		client.onStateChange((state) => {
			if (state === 'reconnecting' && client.attempt <= 1)
				err.write('aco: lost the connection to the server; reconnecting…\n');
			if (state === 'offline' && client.offlineReason !== 'destroyed' && !ended) {
				void end(finish(new Error(client.offlineMessage), err));
			}
		});
		void logRefused.then(() => end(null));
		waitForResume(first);
		client.subscribe(SUBSCRIPTION, { task_ids: [first.taskId], types: ['tool.*', 'task.*'] });
		client.connect();
	});
}

/** The exit code; `tails` (once idle, at a whole follow's end) for the lines it never printed. */
function finish(error: unknown, err: Output, tails?: TailSet): number {
	if (!error) return tails && reportUnprinted(tails, err) ? 1 : 0;
	const message = errorText(error);
	err.write(`aco: ${message}\n`);
	return 1;
}
