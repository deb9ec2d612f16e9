/**
 * @module cli/tui/layout
 * Draws the dashboard as exactly `rows` lines of exactly `cols` columns (colour codes aside):
 *
 *   header      aco · server address                        connection state
 *   titles      STATUS       PROGRESS              TASK
 *   task list   one row per task, the selected one highlighted (scrolls to keep it in view)
 *   separator   ─ Output · task › step (status) ─────────────
 *   output      the newest lines of the selected task's current tool
 *   status line a notice (failed/succeeded), the cancel question, a failed reload, an older hub,
 *               or the keys
 *
 * Pure: the same model, size and clock give the same lines, so specs render it to a string.
 */
import { isTerminal, TASK_STATUSES, type Task } from '../../lib/protocol/models';
import { cleanLine, formatDuration, STATUS_COLOR, STATUS_MARK, type Paint } from '../follow/format';
import type { ConnectionView, DashboardModel } from './model';
import { fit, progressBar, spread, width } from './text';
import { showLine } from '../follow/workflow-lines';

export interface LayoutOptions {
	cols: number;
	rows: number;
	/** epoch ms, for elapsed times */
	now: number;
	/** the server address shown in the header */
	server: string;
	paint: Paint;
}

const BAR_COLS = 12;
/** the status column fits the widest status with its mark ("! interrupted"), and a space */
const STATUS_COLS = Math.max(...TASK_STATUSES.map((s) => width(`${STATUS_MARK[s]} ${s}`))) + 1;
/** The list takes at most this share of the rows below the header. */
const LIST_SHARE = 0.5;
export const KEY_HELP = '↑↓/jk move · enter expand · c cancel · q quit';

export function renderDashboard(model: DashboardModel, options: LayoutOptions): string[] {
	const { cols, rows, paint } = options;
	if (cols <= 0 || rows <= 0) return [];
	const header = paint(
		'inverse',
		spread(` aco · ${options.server}`, `${connectionText(model.connection)} `, cols)
	);
	const status = statusLine(model, cols, paint);
	if (rows < 4) return [header, status].slice(0, rows);

	const body = rows - 2;
	const lines: string[] = [];
	if (model.expanded) {
		lines.push(...outputPanel(model, cols, body, paint));
	} else {
		const listRows = Math.max(
			1,
			Math.min(Math.max(model.tasks.length, 1), Math.floor((body - 2) * LIST_SHARE))
		);
		lines.push(
			paint('dim', fit(`  ${'STATUS'.padEnd(STATUS_COLS + 1)}${'PROGRESS'.padEnd(BAR_COLS + 7)}TASK`, cols))
		);
		lines.push(...taskList(model, cols, listRows, options));
		lines.push(...outputPanel(model, cols, body - 1 - listRows, paint));
	}
	return [header, ...lines.slice(0, body), status];
}

export function connectionText(c: ConnectionView): string {
	switch (c.state) {
		case 'connected':
			return '● live';
		case 'connecting':
			return '◌ connecting…';
		case 'reconnecting': {
			const wait = c.secondsUntilRetry ? `, retry in ${c.secondsUntilRetry}s` : '';
			return `⟳ reconnecting (attempt ${Math.max(1, c.attempt)}${wait})`;
		}
		case 'offline': {
			if (c.offlineReason === 'gave_up') return '✖ offline: gave up reconnecting';
			const close = c.lastClose;
			return close ? `✖ offline: ${close.description.replace(/\.$/, '')} (${close.code})` : '✖ offline';
		}
	}
}

function taskList(model: DashboardModel, cols: number, listRows: number, options: LayoutOptions): string[] {
	const { paint, now } = options;
	if (!model.tasks.length) {
		const text = model.loadError
			? loadErrorText(model)
			: model.loaded
				? 'No tasks yet: start one with "aco run <workflow>" or "aco exec -- <command>".'
				: model.connection.state === 'connected'
					? 'Loading…'
					: `Waiting for the server at ${options.server}…`;
		return [fit(`   ${text}`, cols), ...blank(cols, listRows - 1)];
	}
	const selected = Math.max(0, model.selectedIndex);
	const first = Math.max(0, Math.min(selected - Math.floor(listRows / 2), model.tasks.length - listRows));
	const out: string[] = [];
	for (let i = first; i < Math.min(model.tasks.length, first + listRows); i++) {
		out.push(taskRow(model.tasks[i], i === selected, cols, now, paint));
	}
	return [...out, ...blank(cols, listRows - out.length)];
}

export function taskRow(task: Task, selected: boolean, cols: number, now: number, paint: Paint): string {
	const marker = selected ? '›' : ' ';
	const state = `${STATUS_MARK[task.status]} ${task.status}`.padEnd(STATUS_COLS);
	const progress = task.status === 'succeeded' ? 100 : task.progress;
	const bar = `${progressBar(progress, BAR_COLS)} ${String(Math.round(progress)).padStart(3)}%`;
	const elapsed =
		task.duration_ms ??
		(task.started_at && !isTerminal(task.status) ? now - Date.parse(task.started_at) : null);
	const took = formatDuration(elapsed);
	const message = task.message && !isTerminal(task.status) ? ` · ${cleanLine(task.message)}` : '';
	const error = task.status === 'failed' && task.error ? ` · ${cleanLine(task.error)}` : '';
	const fixed = 2 + STATUS_COLS + 1 + BAR_COLS + 7;
	const rest = spread(
		`${task.name || task.key}${message}${error}`,
		took ? ` ${took}` : '',
		Math.max(0, cols - fixed)
	);
	if (selected) return paint('inverse', fit(`${marker} ${state} ${bar}  ${rest}`, cols));
	const color = STATUS_COLOR[task.status];
	return `${marker} ${paint(color, state)} ${paint(color, bar)}  ${rest}`;
}

function outputPanel(model: DashboardModel, cols: number, rows: number, paint: Paint): string[] {
	if (rows <= 0) return [];
	const panel = model.output;
	const task = model.selected;
	let title = ' Output ';
	if (task)
		title = ` Output · ${task.name || task.key}${panel?.title ? ` › ${panel.title}` : ''}${panel ? ` (${panel.status})` : ''} `;
	const count = panel?.lines.length ? ` ${panel.lines.at(-1)!.n} lines ` : '';
	const rule = Math.max(0, cols - width(title) - width(count) - 2);
	const separator = paint('dim', fit(`─${title}${'─'.repeat(rule)}${count}─`, cols));
	const room = rows - 1;
	let body: string[];
	if (!task) body = [paint('dim', fit('   Select a task to see its output.', cols))];
	else if (panel?.error) body = [paint('red', fit(`   Could not load the output: ${panel.error}`, cols))];
	else if (!panel || (!panel.lines.length && !panel.executionId))
		body = [paint('dim', fit('   No output yet.', cols))];
	else {
		// workflow commands read as what they mean (a group's title, an error); ::progress is the task's bar
		const shown: string[] = [];
		for (let i = panel.lines.length - 1; i >= 0 && shown.length < room; i--) {
			const line = panel.lines[i];
			const view = showLine(line.text);
			if (!view) continue;
			const text = fit(` ${view.text}`, cols);
			const color = view.color ?? (line.stream === 'stderr' ? 'red' : null);
			shown.push(color ? paint(color, text) : text);
		}
		body = shown.reverse();
	}
	return [separator, ...body.slice(0, room), ...blank(cols, room - body.length)];
}

function statusLine(model: DashboardModel, cols: number, paint: Paint): string {
	// the last cell stays empty: writing it makes some terminals scroll the screen
	const w = Math.max(0, cols - 1);
	if (model.confirmCancel) {
		const task = model.tasks.find((t) => t.id === model.confirmCancel);
		return (
			paint(
				'yellow',
				fit(` Cancel "${task?.name || task?.key || model.confirmCancel}"? y = yes, any other key = no`, w)
			) + ' '
		);
	}
	const notice = model.notice;
	if (notice) {
		const color =
			notice.kind === 'failed' || notice.kind === 'error'
				? 'red'
				: notice.kind === 'succeeded'
					? 'green'
					: 'cyan';
		return paint(color, fit(` ${notice.text}`, w)) + ' ';
	}
	// the list shows the tasks it had: the failed reload is said here, for as long as it lasts
	if (model.loadError && model.tasks.length) return paint('red', fit(` ${loadErrorText(model)}`, w)) + ' ';
	const counts = summary(model.tasks);
	// as long as it lasts too, in place of the keys: the output panel's lines come only as each step ends
	if (model.olderHub) {
		const room = Math.max(0, w - width(counts));
		return paint('yellow', fit(` ${model.olderHub}`, room)) + paint('dim', fit(counts, w - room)) + ' ';
	}
	return paint('dim', spread(` ${KEY_HELP}`, counts, w)) + ' ';
}

/** "trying again" comes first: the error (a URL, a proxy's status) may not fit the width */
function loadErrorText(model: DashboardModel): string {
	return model.loadRetrying
		? `Could not load the tasks, trying again: ${model.loadError}`
		: `Could not load the tasks: ${model.loadError}`;
}

function summary(tasks: Task[]): string {
	const running = tasks.filter((t) => t.status === 'running').length;
	const failed = tasks.filter((t) => t.status === 'failed').length;
	return `${running} running · ${failed} failed `;
}

function blank(cols: number, count: number): string[] {
	return Array.from({ length: Math.max(0, count) }, () => ' '.repeat(cols));
}
