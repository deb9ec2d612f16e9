/**
 * @module cli/follow/tails
 * The logs a follower prints: one {@link LogTail} per execution, opened one after another (so
 * backlogs print whole, not interleaved), each handing its lines on exactly once. Live lines of
 * an execution whose turn has not come wait in its tail.
 *
 * The turn is the execution's place: by its task's start, then its step. A live line can come
 * before anything says where its execution goes (a slow first load, the held events a `reset`
 * delivers before the reload), so a tail is opened only once a record placed it (a snapshot,
 * `tool.started`, `tool.completed`), and a task's step only once the steps before it have
 * handed on all they know: a later step never prints before an earlier one. A live record of a
 * later step can come before the snapshot that places an earlier one: where steps are numbered
 * from 0 without gaps (a workflow's, `stepsInOrder`), a step opens only once every earlier step
 * of its task is placed, or at the follow's end ({@link TailSet.idle}).
 *
 * While the server fails (a proxy's 502 during a restart), or its store lags behind the stream,
 * the tails try again after a back-off; the owner hears of it once per outage however many tails
 * are waiting. Lines a tail goes on without (the store still lacks them after the retry budget),
 * and the same lines when they come late, are told of each time. {@link followerRest} wires the
 * tails and the snapshot retry of the two followers the same way.
 */
import type { Execution, LogLine } from '../../lib/protocol/models';
import type { BackoffOptions } from '../../lib/realtime/backoff';
import { LinesNotStoredError, lineRange, LogTail, type SkippedLines } from '../realtime/log-tail';
import type { RestClient } from '../realtime/rest';
import { RestRetry } from '../realtime/rest-retry';
import { fetchRetryNotice, type Output } from './format';

export interface TailSetOptions {
	rest: Pick<RestClient, 'getLogLines'>;
	/** receives each execution's lines, in order, once */
	onLines: (executionId: string, lines: LogLine[]) => void;
	/** a tail stopped at a failure that asking again would not mend (404, 401, 403) */
	onError: (err: unknown) => void;
	/** a fetch failed and is being tried again, and no other tail was doing so already */
	onRetry?: (executionId: string, err: unknown) => void;
	/** a tail went on without lines the store does not have yet (LogTail's onSkip) */
	onSkip?: (executionId: string, skipped: SkippedLines) => void;
	/** lines skipped before, stored now: handed on after later ones (onLines gets them next) */
	onLate?: (executionId: string, late: SkippedLines) => void;
	gapRetryDelayMs?: number;
	/** the waits between tries at a failing server */
	backoff?: BackoffOptions;
	/** how long a tail asks a failing server, or waits for lines not stored yet (rest-retry's default) */
	retryBudgetMs?: number;
	/**
	 * every task's steps are numbered 0, 1, 2… and run one after another (a workflow's): step N
	 * does not open before steps 0…N-1 are placed. A stand-alone task's producer may skip numbers.
	 */
	stepsInOrder?: boolean;
}

/** Where an execution's log goes among the others. */
interface Place {
	taskId: string;
	step: number;
}

/** a task whose start is not known sorts after those whose start is (ISO times) */
const UNKNOWN_START = '~';

export class TailSet {
	readonly #options: TailSetOptions;
	readonly #tails = new Map<string, LogTail>();
	/** each execution's place, once a record said it; a tail without one waits unopened */
	readonly #places = new Map<string, Place>();
	/** each task's start as first told, so all its steps sort together */
	readonly #taskStarts = new Map<string, string>();
	/** tails waiting for their turn to open, in turn order */
	readonly #queue: string[] = [];
	/** the tails queued to open, in the queue or since */
	readonly #queued = new Set<string>();
	/** the tail being opened; the next one opens when it is */
	#opening: Promise<void> | null = null;
	/** each task's placed steps (stepsInOrder) */
	readonly #placedSteps = new Map<string, Set<number>>();
	/** the follow is ending: tails open without waiting for earlier steps to be placed */
	#draining = false;
	/** the executions whose tails are waiting to try a failing server again */
	readonly #retrying = new Set<string>();
	#destroyed = false;

	constructor(options: TailSetOptions) {
		this.#options = options;
	}

	/**
	 * An execution's record (a snapshot, `tool.started`, `tool.completed`): how many lines it has,
	 * and where its log goes (`taskStartedAt`: when its task started, if known), so that its tail
	 * opens in its turn. Give a task's records in step order: an earlier step told of lines it has
	 * not handed on is then fetching them when a later step's turn comes, and goes first.
	 */
	noteExecution(
		execution: Pick<Execution, 'id' | 'task_id' | 'step' | 'line_count'>,
		taskStartedAt?: string | null
	): void {
		this.noteLineCount(execution.id, execution.line_count);
		if (this.#places.has(execution.id) || this.#destroyed) return;
		if (!this.#taskStarts.has(execution.task_id)) {
			this.#taskStarts.set(execution.task_id, taskStartedAt ?? UNKNOWN_START);
		}
		const place = { taskId: execution.task_id, step: execution.step };
		this.#places.set(execution.id, place);
		let steps = this.#placedSteps.get(place.taskId);
		if (!steps) this.#placedSteps.set(place.taskId, (steps = new Set()));
		steps.add(place.step);
		this.#enqueue(execution.id, place);
	}

	/** The lines of one `tool.lines` event of the execution (LogTail.pushLines). */
	pushLines(executionId: string, lines: readonly LogLine[]): void {
		this.#tail(executionId).pushLines(lines);
	}

	/** The execution has at least `count` lines (its record or its completion says so). */
	noteLineCount(executionId: string, count: number): void {
		this.#tail(executionId).noteLineCount(count);
	}

	resyncAll(): void {
		for (const tail of this.#tails.values()) tail.resync();
	}

	/**
	 * Resolves once every tail is open and has handed on all it knows of. A tail no record placed
	 * by now opens too, after the others: its lines are printed late rather than not at all.
	 */
	async idle(): Promise<void> {
		this.#draining = true;
		for (const id of this.#tails.keys()) this.#enqueue(id, null);
		this.#openNext();
		for (;;) {
			if (this.#opening) {
				await this.#opening;
				continue;
			}
			await Promise.all([...this.#tails.values()].map((tail) => tail.idle()));
			if (!this.#opening) return;
		}
	}

	/** Lines each tail skipped and has not handed on since (the store still lacks them), by execution. */
	unprinted(): { executionId: string; lines: SkippedLines }[] {
		return [...this.#tails].flatMap(([executionId, tail]) =>
			tail.skipped.map((lines) => ({ executionId, lines }))
		);
	}

	destroy(): void {
		this.#destroyed = true;
		this.#queue.length = 0;
		for (const tail of this.#tails.values()) tail.destroy();
		this.#tails.clear();
		this.#retrying.clear();
		this.#placedSteps.clear();
	}

	/** The tail of an execution, created on first sight; it waits unopened until placed. */
	#tail(executionId: string): LogTail {
		let tail = this.#tails.get(executionId);
		if (tail) return tail;
		tail = new LogTail(executionId, {
			rest: this.#options.rest,
			onLines: (lines) => this.#options.onLines(executionId, lines),
			onError: (err) => {
				this.#retrying.delete(executionId);
				this.#options.onError(err);
			},
			onRetry: (err) => {
				if (this.#retrying.size === 0) this.#options.onRetry?.(executionId, err);
				this.#retrying.add(executionId);
			},
			onRecover: () => this.#retrying.delete(executionId),
			onSkip: (skipped) => this.#options.onSkip?.(executionId, skipped),
			onLate: (lines) => {
				this.#options.onLate?.(executionId, { from: lines[0].n, to: lines.at(-1)!.n });
				this.#options.onLines(executionId, lines);
			},
			gapRetryDelayMs: this.#options.gapRetryDelayMs,
			backoff: this.#options.backoff,
			retryBudgetMs: this.#options.retryBudgetMs
		});
		this.#tails.set(executionId, tail);
		return tail;
	}

	/** Queues a tail to open in its turn (`null`: no place known, after all the others), once. */
	#enqueue(executionId: string, place: Place | null): void {
		if (this.#queued.has(executionId) || this.#destroyed) return;
		this.#queued.add(executionId);
		const before = place ? this.#queue.findIndex((id) => this.#compare(place, this.#places.get(id)) < 0) : -1;
		this.#queue.splice(before < 0 ? this.#queue.length : before, 0, executionId);
		this.#openNext();
	}

	/**
	 * Opens the first tail in the queue whose earlier steps are placed, unless one is opening; the
	 * next follows when it has (or when a record places what a waiting one lacks).
	 */
	#openNext(): void {
		if (this.#opening || this.#destroyed) return;
		const index = this.#queue.findIndex((id) => this.#ready(id));
		if (index < 0) return;
		const [executionId] = this.#queue.splice(index, 1);
		this.#opening = this.#open(executionId).finally(() => {
			this.#opening = null;
			this.#openNext();
		});
	}

	/** whether every step before the execution's is placed (stepsInOrder), or need not be */
	#ready(executionId: string): boolean {
		const place = this.#places.get(executionId);
		if (!this.#options.stepsInOrder || this.#draining || !place) return true;
		// steps are distinct: all of 0…N-1 are placed when N of those placed are below N
		let below = 0;
		for (const step of this.#placedSteps.get(place.taskId)!) if (step < place.step) below++;
		return below === place.step;
	}

	async #open(executionId: string): Promise<void> {
		const place = this.#places.get(executionId);
		// the steps before it hand on what they know first: after a reset, the rest of the step
		// that was running comes before the backlog of the one that followed it
		const earlier = [...this.#places]
			.filter(([, other]) => place && other.taskId === place.taskId && other.step < place.step)
			.map(([id]) => this.#tails.get(id)?.idle());
		await Promise.all(earlier);
		await this.#tails.get(executionId)?.open();
	}

	/** < 0: `a` opens before `b`; an execution never placed (undefined) opens last */
	#compare(a: Place, b: Place | undefined): number {
		if (!b) return -1;
		const startA = this.#taskStarts.get(a.taskId)!;
		const startB = this.#taskStarts.get(b.taskId)!;
		if (startA !== startB) return startA < startB ? -1 : 1;
		if (a.taskId !== b.taskId) return a.taskId < b.taskId ? -1 : 1;
		return a.step - b.step;
	}
}

/** The one line that says a log is being asked for again (once per outage, not per try). */
export function retryNotice(executionId: string, error: unknown): string {
	if (error instanceof LinesNotStoredError) return `aco: ${error.message} Asking again with back-off…\n`;
	return fetchRetryNotice(`the log of ${executionId}`, error);
}

/** The line that says a log goes on without lines the store does not have yet. */
export function skipNotice(executionId: string, skipped: SkippedLines): string {
	const are = skipped.from === skipped.to ? 'is' : 'are';
	return (
		`aco: ${lineRange(skipped)} of ${executionId} ${are} not stored yet: skipped here, printed once ` +
		`stored (\`aco logs ${executionId}\` shows them in place)\n`
	);
}

/**
 * At a follow's end (after `idle()`), one line on `err` for each run of lines skipped and never
 * stored since: the log printed lacks them. Returns whether there was any (the follow then exits 1,
 * not 0: its output is not the whole log).
 */
export function reportUnprinted(tails: TailSet, err: Output): boolean {
	const unprinted = tails.unprinted();
	for (const { executionId, lines } of unprinted) {
		const were = lines.from === lines.to ? 'was' : 'were';
		err.write(
			`aco: ${lineRange(lines)} of ${executionId} ${were} never stored: the log printed above lacks ${lines.from === lines.to ? 'it' : 'them'}\n`
		);
	}
	return unprinted.length > 0;
}

/** The line before lines skipped earlier, printed late. */
export function lateNotice(executionId: string, late: SkippedLines): string {
	return `aco: ${lineRange(late)} of ${executionId}, skipped above, stored now:\n`;
}

export interface FollowerRestOptions extends Omit<
	TailSetOptions,
	'onError' | 'onRetry' | 'onSkip' | 'onLate'
> {
	/** what the follower's snapshots are of, as its notice names it: `run r1`, `task t1` */
	what: string;
	/** where the notices of a failing server go */
	err: Output;
}

export interface FollowerRest {
	tails: TailSet;
	/** the snapshots the follower cannot go on without; stop() it when the follow ends */
	retry: RestRetry;
	/** the first failure a tail stopped at, or null */
	failure(): unknown;
	/** settles when a tail stopped at such a failure: waiting for more of its log would be for ever */
	refused: Promise<void>;
}

/**
 * The REST side of `aco logs -f` and `aco run --follow`: their tails, where a log that is gone
 * (404) or refused ends the follow, and the retry of their snapshots; a failing server is told
 * of on `err` once per outage, by the tails and by the snapshots each.
 *
 * @example
 * const { tails, retry, failure, refused } = followerRest({ rest, onLines, what: `run ${runId}`, err });
 */
export function followerRest(options: FollowerRestOptions): FollowerRest {
	const { what, err, ...tailOptions } = options;
	let failure: unknown = null;
	let refuse = () => {};
	const refused = new Promise<void>((resolve) => (refuse = resolve));
	const tails = new TailSet({
		...tailOptions,
		onError: (e) => {
			failure ??= e;
			refuse();
		},
		onRetry: (executionId, e) => err.write(retryNotice(executionId, e)),
		onSkip: (executionId, skipped) => err.write(skipNotice(executionId, skipped)),
		onLate: (executionId, late) => err.write(lateNotice(executionId, late))
	});
	const retry = new RestRetry({
		onOutage: (e) => err.write(fetchRetryNotice(what, e)),
		backoff: options.backoff
	});
	return { tails, retry, failure: () => failure, refused };
}
