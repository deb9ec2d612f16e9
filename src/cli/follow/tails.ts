/**
 * @module cli/follow/tails
 * The logs a follower prints: one {@link LogTail} per execution, opened one after another in
 * the order they became known (so backlogs print whole, not interleaved), each handing its lines
 * on exactly once. Live lines of an execution whose turn has not come wait in its tail.
 *
 * While the server fails (a proxy's 502 during a restart), the tails try again after a back-off;
 * the owner hears of it once per outage however many tails are waiting. {@link followerRest}
 * wires the tails and the snapshot retry of the two followers the same way.
 */
import type { LogLine } from '../../lib/protocol/models';
import type { BackoffOptions } from '../../lib/realtime/backoff';
import { LogTail } from '../realtime/log-tail';
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
	gapRetryDelayMs?: number;
	/** the waits between tries at a failing server */
	backoff?: BackoffOptions;
}

export class TailSet {
	readonly #options: TailSetOptions;
	readonly #tails = new Map<string, LogTail>();
	/** the executions whose tails are waiting to try a failing server again */
	readonly #retrying = new Set<string>();
	#chain: Promise<void> = Promise.resolve();

	constructor(options: TailSetOptions) {
		this.#options = options;
	}

	has(executionId: string): boolean {
		return this.#tails.has(executionId);
	}

	/** The tail of an execution, created (and queued to open) on first sight. */
	ensure(executionId: string): LogTail {
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
			gapRetryDelayMs: this.#options.gapRetryDelayMs,
			backoff: this.#options.backoff
		});
		this.#tails.set(executionId, tail);
		const opening = tail;
		this.#chain = this.#chain.then(() => opening.open());
		return tail;
	}

	push(executionId: string, line: LogLine): void {
		this.ensure(executionId).push(line);
	}

	/** The execution has at least `count` lines (its record or its completion says so). */
	noteLineCount(executionId: string, count: number): void {
		this.ensure(executionId).noteLineCount(count);
	}

	resyncAll(): void {
		for (const tail of this.#tails.values()) tail.resync();
	}

	/** Resolves once every tail is open and has handed on all it knows of. */
	async idle(): Promise<void> {
		let chain: Promise<void>;
		do {
			chain = this.#chain;
			await chain;
			await Promise.all([...this.#tails.values()].map((tail) => tail.idle()));
		} while (chain !== this.#chain);
	}

	destroy(): void {
		for (const tail of this.#tails.values()) tail.destroy();
		this.#tails.clear();
		this.#retrying.clear();
	}
}

/** The one line that says a log is being asked for again (once per outage, not per try). */
export function retryNotice(executionId: string, error: unknown): string {
	return fetchRetryNotice(`the log of ${executionId}`, error);
}

export interface FollowerRestOptions extends Omit<TailSetOptions, 'onError' | 'onRetry'> {
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
		onRetry: (executionId, e) => err.write(retryNotice(executionId, e))
	});
	const retry = new RestRetry({
		onOutage: (e) => err.write(fetchRetryNotice(what, e)),
		backoff: options.backoff
	});
	return { tails, retry, failure: () => failure, refused };
}
