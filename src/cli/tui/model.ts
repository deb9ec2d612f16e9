/**
 * @module cli/tui/model
 * What the dashboard shows, with no terminal and no network: the task list (a REST snapshot
 * merged with `task.*` events by the browser's record rules), the selection, the output panel of
 * the selected task, the status-line notice, the cancel confirmation and the connection state
 * (with what an older hub means for the output).
 * The app feeds it; the layout reads it.
 */
import type { AnyEventEnvelope } from '../../lib/protocol/messages';
import { isTerminal, type LogLine, type Task } from '../../lib/protocol/models';
import { mergeSnapshot, patchRecord, upsertRecord } from '../../lib/realtime/records';
import type { ClientState, CloseInfo, OfflineReason } from '../realtime/client';
import { formatDuration } from '../follow/format';

export const DEFAULT_TASK_LIMIT = 100;
/** Output lines the panel keeps per task (the full log is one `aco logs` away). */
export const DEFAULT_LOG_LINES = 1_000;
export const NOTICE_MS = 8_000;
/** A success notice does not hide a failure notice younger than this. */
const FAILURE_PRECEDENCE_MS = 3_000;

export interface ConnectionView {
	state: ClientState;
	attempt: number;
	secondsUntilRetry: number | null;
	offlineReason: OfflineReason | null;
	lastClose: CloseInfo | null;
}

export type NoticeKind = 'failed' | 'succeeded' | 'info' | 'error';

export interface Notice {
	kind: NoticeKind;
	text: string;
	/** what failed, oldest first, when failures came close together */
	failed: string[];
	at: number;
}

export interface OutputPanel {
	taskId: string;
	executionId: string | null;
	/** e.g. "Compile (step 1 of 2)" */
	title: string;
	/** the execution's status, or the task's while it has none */
	status: string;
	lines: LogLine[];
	error: string | null;
}

export class DashboardModel {
	tasks: Task[] = [];
	loaded = false;
	loadError: string | null = null;
	/** the load that failed with {@link loadError} is being asked for again (the failure may pass) */
	loadRetrying = false;
	selectedId: string | null = null;
	/** until the person moves the selection, it jumps to each task that starts running */
	followNewest = true;
	/** the output panel fills the screen */
	expanded = false;
	/** the task whose cancel waits for y/n */
	confirmCancel: string | null = null;
	notice: Notice | null = null;
	/** while the hub speaks an older protocol, what that means for the output panel, in short (follow/older-hub) */
	olderHub: string | null = null;
	output: OutputPanel | null = null;
	connection: ConnectionView = {
		state: 'connecting',
		attempt: 0,
		secondsUntilRetry: null,
		offlineReason: null,
		lastClose: null
	};

	readonly #taskLimit: number;
	readonly #logLines: number;
	/** tasks events delivered while a snapshot was in flight */
	#touched: Map<string, Task> | null = null;

	constructor(options: { taskLimit?: number; logLines?: number } = {}) {
		this.#taskLimit = options.taskLimit ?? DEFAULT_TASK_LIMIT;
		this.#logLines = options.logLines ?? DEFAULT_LOG_LINES;
	}

	get selected(): Task | null {
		return this.tasks.find((task) => task.id === this.selectedId) ?? null;
	}

	get selectedIndex(): number {
		return this.tasks.findIndex((task) => task.id === this.selectedId);
	}

	// ---------- tasks ----------

	/** A snapshot load starts: events from now on are remembered so the snapshot cannot undo them. */
	beginLoad(): void {
		this.#touched = new Map();
	}

	endLoad(snapshot: Task[]): void {
		this.tasks = mergeSnapshot(snapshot, this.#touched ?? new Map(), this.#taskLimit);
		this.#touched = null;
		this.loaded = true;
		this.loadError = null;
		this.loadRetrying = false;
		this.#keepSelection();
	}

	failLoad(message: string): void {
		this.#touched = null;
		this.loadError = message;
		this.loadRetrying = false;
	}

	/** The load failed in a way that may pass and is asked for again; events are still remembered. */
	retryLoad(message: string): void {
		this.loadError = message;
		this.loadRetrying = true;
	}

	/** Applies a task event; returns whether anything shown changed. */
	apply(event: AnyEventEnvelope, now: number): boolean {
		switch (event.type) {
			case 'task.created':
			case 'task.status':
				this.#upsert(event.data.task);
				return true;
			case 'task.completed': {
				const { task } = event.data;
				this.#upsert(task);
				const took = formatDuration(event.data.duration_ms);
				this.notify('succeeded', `✔ ${task.name || task.key} succeeded${took ? ` in ${took}` : ''}`, now);
				return true;
			}
			case 'task.failed': {
				const { task } = event.data;
				this.#upsert(task);
				const why = event.data.error ? `: ${event.data.error}` : '';
				this.notify('failed', `✖ ${task.name || task.key} failed${why}`, now, task.name || task.key);
				return true;
			}
			case 'task.progress': {
				const { progress, message, task_id } = event.data;
				const before = this.tasks;
				this.tasks = patchRecord(this.tasks, task_id, (task) => {
					if (isTerminal(task.status)) return null;
					const next = { ...task, progress, message };
					this.#touched?.set(next.id, next);
					return next;
				});
				return this.tasks !== before;
			}
			case 'workflow.failed':
				this.notify(
					'failed',
					`✖ run ${event.data.workflow} ${event.data.status}`,
					now,
					`run ${event.data.workflow}`
				);
				return true;
			default:
				return false;
		}
	}

	#upsert(task: Task): void {
		this.#touched?.set(task.id, task);
		this.tasks = upsertRecord(this.tasks, task, this.#taskLimit);
		if (this.followNewest && task.status === 'running' && this.tasks.some((t) => t.id === task.id)) {
			this.selectedId = task.id;
		}
		this.#keepSelection();
	}

	#keepSelection(): void {
		if (this.selectedId && this.tasks.some((task) => task.id === this.selectedId)) return;
		this.selectedId = this.tasks[0]?.id ?? null;
	}

	// ---------- selection and modes ----------

	/** Moves the selection by `delta` rows; returns whether it moved. */
	move(delta: number): boolean {
		if (!this.tasks.length) return false;
		const from = Math.max(0, this.selectedIndex);
		const to = Math.max(0, Math.min(this.tasks.length - 1, from + delta));
		const id = this.tasks[to].id;
		this.followNewest = false;
		if (id === this.selectedId) return false;
		this.selectedId = id;
		this.confirmCancel = null;
		return true;
	}

	// ---------- output panel ----------

	showOutput(panel: Omit<OutputPanel, 'lines' | 'error'>): void {
		const same = this.output?.taskId === panel.taskId && this.output.executionId === panel.executionId;
		this.output = { ...panel, lines: same ? this.output!.lines : [], error: null };
	}

	appendOutput(executionId: string, lines: LogLine[]): void {
		const panel = this.output;
		if (!panel || panel.executionId !== executionId || !lines.length) return;
		const next = panel.lines.concat(lines);
		panel.lines = next.length > this.#logLines ? next.slice(next.length - this.#logLines) : next;
	}

	// ---------- notices ----------

	/** Shows `text` in the status line; `name` is what failed, for a notice that groups failures. */
	notify(kind: NoticeKind, text: string, now: number, name?: string): void {
		const current = this.notice;
		const recentFailure = current?.kind === 'failed' && now - current.at < FAILURE_PRECEDENCE_MS;
		if (kind === 'succeeded' && recentFailure) return;
		if (kind === 'failed' && recentFailure) {
			// a burst (a task, its dependants, its run) is one notice, not just the last of them
			const failed = [...current.failed, name ?? text];
			this.notice = { kind, text: `✖ ${failed.length} failed: ${failed.join(', ')}`, failed, at: now };
			return;
		}
		this.notice = { kind, text, failed: kind === 'failed' ? [name ?? text] : [], at: now };
	}

	/** Drops a notice older than NOTICE_MS; returns whether one went. */
	expireNotice(now: number): boolean {
		if (!this.notice || now - this.notice.at < NOTICE_MS) return false;
		this.notice = null;
		return true;
	}
}
