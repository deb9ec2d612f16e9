/**
 * @module cli/tui/output-follower
 * The output panel's feed: follows the selected task's newest tool. On a new selection it
 * subscribes to that task's `tool.*` events, asks REST for its executions and opens a LogTail on
 * the newest (the last DEFAULT_LOG_LINES of it), so backlog and live lines meet with no gap; a
 * later step replaces the panel's execution when it starts. A partial line (a piece of an
 * overlong line, a progress snapshot) is shown as it comes and joined with its rest into one
 * line when that arrives, as `aco logs` prints it.
 *
 * A log the server says is gone (404) or refuses shows as the panel's error and is not asked for
 * again; while the server fails (5xx, out of reach) the panel says it is trying again, for the
 * task's first load (through rest-retry) as for its log, and so it does while the store lags
 * behind the stream. Lines the tail goes on without (still not stored after its retry budget)
 * leave a line in the log that says so, and come later under a line that says what they are.
 */
import { fromOutputLine } from '../../lib/protocol/events';
import type { AnyEventEnvelope } from '../../lib/protocol/messages';
import type { Execution, LogLine, Task } from '../../lib/protocol/models';
import type { BackoffOptions } from '../../lib/realtime/backoff';
import type { RealtimeClient } from '../realtime/client';
import { lineRange, LogTail } from '../realtime/log-tail';
import type { RestClient } from '../realtime/rest';
import { RestRetry } from '../realtime/rest-retry';
import { errorText } from '../follow/format';
import { DEFAULT_LOG_LINES, type DashboardModel } from './model';

const OUTPUT_SUBSCRIPTION = 'watch-output';
/**
 * The most text a line joined from partial pieces keeps: the panel shows a line's start, one
 * screen wide, and a tool printing without newlines must not grow one line without limit.
 */
const MAX_JOINED_LINE = 64 * 1024;

export interface OutputFollowerOptions {
	model: DashboardModel;
	client: Pick<RealtimeClient, 'subscribe'>;
	rest: Pick<RestClient, 'getTask' | 'getLogLines'>;
	/** something shown changed */
	invalidate: () => void;
	/** the waits between tries at a failing server */
	backoff?: BackoffOptions;
	/** how long a log is asked for at a failing server, or waited for while the store lags */
	retryBudgetMs?: number;
}

export class OutputFollower {
	readonly #options: OutputFollowerOptions;
	#taskId: string | null = null;
	/** the step of the execution the panel shows */
	#shownStep: number | null = null;
	#tail: LogTail | null = null;
	/** the selected task's loads; a new selection or destroy() ends its waits */
	#retry: RestRetry | null = null;
	#destroyed = false;

	constructor(options: OutputFollowerOptions) {
		this.#options = options;
	}

	/** Points the panel at `task`'s newest tool; `refresh` asks again for the task it already shows. */
	follow(task: Task, refresh = false): void {
		const { model, client, rest } = this.#options;
		if (task.id === this.#taskId && !refresh) return;
		if (task.id !== this.#taskId) {
			this.#taskId = task.id;
			this.#shownStep = null;
			this.#tail?.destroy();
			this.#tail = null;
			this.#retry?.stop();
			const selected = task.id;
			this.#retry = new RestRetry({
				onOutage: (err) => this.#fail(selected, `${errorText(err)} Trying again…`),
				onRecover: () => this.#recover(selected),
				backoff: this.#options.backoff
			});
			model.showOutput({ taskId: task.id, executionId: null, title: '', status: task.status });
			client.subscribe(OUTPUT_SUBSCRIPTION, { task_ids: [task.id], types: ['tool.*'] });
		}
		const taskId = task.id;
		this.#retry!.run((signal) => rest.getTask(taskId, signal)).then(
			({ task: detail }) => {
				if (this.#destroyed || this.#taskId !== taskId) return;
				const newest = [...detail.executions].sort((a, b) => b.step - a.step)[0];
				if (newest) this.#show(newest);
			},
			(err) => this.#fail(taskId, err)
		);
	}

	/** A `tool.*` event: a new step, lines, or the end of the step shown. */
	onToolEvent(event: AnyEventEnvelope): void {
		const data = event.data as { task_id?: string; execution_id?: string };
		if (!this.#taskId || data.task_id !== this.#taskId) return;
		const panel = this.#options.model.output;
		switch (event.type) {
			case 'tool.started':
				this.#show(event.data.execution);
				return;
			case 'tool.lines':
				if (panel?.executionId !== data.execution_id) return;
				// the event's lines reach the panel together: one redraw for them all
				this.#tail?.pushLines(event.data.lines.map(fromOutputLine));
				return;
			case 'tool.completed':
			case 'tool.failed':
				if (!panel || panel.executionId !== data.execution_id) return;
				panel.status = event.data.execution.status;
				this.#tail?.noteLineCount(event.data.line_count);
				this.#options.invalidate();
				return;
		}
	}

	/** After a reconnect: fetch the lines that came meanwhile. */
	resync(): void {
		this.#tail?.resync();
	}

	destroy(): void {
		this.#destroyed = true;
		this.#retry?.stop();
		this.#tail?.destroy();
		this.#tail = null;
	}

	#show(execution: Execution): void {
		const { model, rest, invalidate, backoff, retryBudgetMs } = this.#options;
		const current = model.output;
		if (current?.executionId === execution.id && this.#tail) {
			current.status = execution.status;
			this.#tail.noteLineCount(execution.line_count);
			invalidate();
			return;
		}
		// a newer step replaces an older one; a late answer about an older step changes nothing
		if (current?.executionId && execution.step < (this.#shownStep ?? -1)) return;
		const steps = model.selected?.step_count ?? 0;
		const title = `${execution.name}${steps > 1 ? ` (step ${execution.step + 1} of ${steps})` : ''}`;
		this.#tail?.destroy();
		model.showOutput({
			taskId: execution.task_id,
			executionId: execution.id,
			title,
			status: execution.status
		});
		this.#shownStep = execution.step;
		const executionId = execution.id;
		this.#tail = new LogTail(executionId, {
			rest,
			after: Math.max(0, execution.line_count - DEFAULT_LOG_LINES),
			onLines: (lines) => {
				model.appendOutput(executionId, this.#continueLine(executionId, lines));
				invalidate();
			},
			onError: (err) => this.#fail(execution.task_id, err),
			onRetry: (err) => this.#fail(execution.task_id, `${errorText(err)} Trying again…`),
			onRecover: () => this.#recover(execution.task_id, executionId),
			onSkip: (skipped) => {
				const text = `⋯ ${lineRange(skipped)} not stored yet: skipped here, shown below once stored`;
				model.appendOutput(executionId, [note(skipped.to, text)]);
				invalidate();
			},
			onLate: (lines) => {
				const late = lineRange({ from: lines[0].n, to: lines.at(-1)!.n });
				model.appendOutput(executionId, [
					note(lines.at(-1)!.n, `⋯ ${late}, skipped above, stored now:`),
					...lines
				]);
				invalidate();
			},
			backoff,
			retryBudgetMs
		});
		this.#tail.noteLineCount(execution.line_count);
		void this.#tail.open();
		invalidate();
	}

	/**
	 * `lines` with each partial line joined to the lines that continue it; a partial line the
	 * panel ends with is taken back out of it to be joined too (it shows meanwhile as it is).
	 */
	#continueLine(executionId: string, lines: LogLine[]): LogLine[] {
		const panel = this.#options.model.output;
		const joined: LogLine[] = [];
		if (panel?.executionId === executionId && panel.lines.at(-1)?.partial && lines.length) {
			joined.push(panel.lines.at(-1)!);
			panel.lines = panel.lines.slice(0, -1);
		}
		for (const line of lines) {
			const open = joined.at(-1);
			if (!open?.partial) joined.push(line);
			// the piece's own flag says whether the line goes on still
			else joined[joined.length - 1] = { ...line, text: (open.text + line.text).slice(0, MAX_JOINED_LINE) };
		}
		return joined;
	}

	#fail(taskId: string, err: unknown): void {
		const panel = this.#options.model.output;
		if (this.#destroyed || this.#taskId !== taskId || !panel) return;
		panel.error = errorText(err);
		this.#options.invalidate();
	}

	/**
	 * the server answers again: the panel shows the lines instead of the retry (`executionId`: a
	 * tail's fetch; without it the task's load)
	 */
	#recover(taskId: string, executionId?: string): void {
		const panel = this.#options.model.output;
		if (this.#destroyed || this.#taskId !== taskId || !panel?.error) return;
		if (executionId !== undefined && panel.executionId !== executionId) return;
		panel.error = null;
		this.#options.invalidate();
	}
}

/** A line of the panel's own among a log's lines (red, as stderr), numbered as the last line it is about. */
function note(n: number, text: string): LogLine {
	return { n, stream: 'stderr', ts: new Date().toISOString(), text };
}
